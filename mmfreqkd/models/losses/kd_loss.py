"""Hinton's logit knowledge distillation loss."""
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import nn

from .argument_checks import (check_reduction, check_temperature,
                              check_weight)


def check_logit_pair(student: torch.Tensor, teacher: torch.Tensor,
                     owner: str) -> None:
    """Raise unless both are floating (B, C) logits of the same shape."""
    for role, x in (('student', student), ('teacher', teacher)):
        if not isinstance(x, torch.Tensor) or x.dim() != 2 \
                or not x.is_floating_point():
            raise ValueError(f'{owner}: {role} logits must be a floating '
                             '(B, C) tensor, got '
                             f'{getattr(x, "shape", type(x).__name__)!r}')
    if student.shape != teacher.shape:
        raise ValueError(f'{owner}: student logits {tuple(student.shape)} and '
                         f'teacher logits {tuple(teacher.shape)} differ in '
                         'shape')


def softened_kl(student: torch.Tensor, teacher: torch.Tensor,
                temperature: float) -> torch.Tensor:
    """``T**2 * KL(softmax(teacher / T) || softmax(student / T))`` per sample.

    Args:
        student (Tensor): Student logits (B, C).
        teacher (Tensor): Teacher logits (B, C).
        temperature (float): T > 0.

    Returns:
        Tensor: (B,) divergences, summed over classes.
    """
    log_p_student = F.log_softmax(student / temperature, dim=-1)
    log_p_teacher = F.log_softmax(teacher / temperature, dim=-1)
    divergence = F.kl_div(
        log_p_student, log_p_teacher, reduction='none', log_target=True)
    return divergence.sum(dim=-1) * temperature**2


@MODELS.register_module()
class KDLoss(nn.Module):
    """Classic logit distillation (Hinton et al., 2015).

    ``loss = loss_weight * T**2 * KL(softmax(t / T) || softmax(s / T))``,
    summed over classes and averaged over the batch (``'batchmean'``). The
    cross-entropy with the labels is not part of this loss.

    Args:
        temperature (float): Softening temperature T, finite and > 0.
            Default: 4.0.
        loss_weight (float): Factor on the loss, finite and >= 0.
            Default: 1.0.
        reduction (str): ``'mean'`` (scalar) or ``'none'`` ((B,)).
            Default: ``'mean'``.
    """

    def __init__(self,
                 temperature: float = 4.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__()
        name = type(self).__name__
        self.temperature = check_temperature(temperature, name)
        self.loss_weight = check_weight(loss_weight, name, 'loss_weight')
        self.reduction = check_reduction(reduction, name)

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Distillation loss between two logit tensors.

        Args:
            student (Tensor): Student logits (B, C).
            teacher (Tensor): Teacher logits (B, C).

        Returns:
            Tensor: Scalar for ``'mean'``, (B,) for ``'none'``.
        """
        check_logit_pair(student, teacher, type(self).__name__)
        return self.reduce(softened_kl(student, teacher, self.temperature))

    def reduce(self, loss: torch.Tensor) -> torch.Tensor:
        """Per-sample losses (B,) -> the weighted loss of ``reduction``."""
        if self.reduction == 'mean':
            loss = loss.mean()
        return self.loss_weight * loss
