"""Shared argument checks and input preparation of the feature losses."""
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from ..freq import standardize_features
from .argument_checks import check_reduction, check_weight


class BaseFeatureLoss(nn.Module):
    """Base of the losses between student and teacher feature maps.

    Contract of every feature loss: ``forward(student, teacher)`` takes two
    (B, C, H, W) tensors of the same shape and returns a dict of
    ``loss_*`` terms, scalars for ``reduction='mean'`` and (B,) per-sample
    values for ``reduction='none'``, already multiplied by ``loss_weight``.

    Args:
        standardize (bool): Apply
            :func:`~mmfreqkd.models.freq.standardize_features` to both maps
            first. Default: True.
        loss_weight (float): Factor on every returned term, finite and
            >= 0. Default: 1.0.
        reduction (str): ``'mean'`` or ``'none'``. Default: ``'mean'``.
    """

    def __init__(self,
                 standardize: bool = True,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__()
        name = type(self).__name__
        if not isinstance(standardize, bool):
            raise TypeError(f'{name}: standardize must be a bool, got '
                            f'{standardize!r}')
        self.standardize = standardize
        self.loss_weight = check_weight(loss_weight, name, 'loss_weight')
        self.reduction = check_reduction(reduction, name)

    def check_pair(self, student: torch.Tensor,
                   teacher: torch.Tensor) -> torch.dtype:
        """Check the pair and return the dtype to compute the loss in.

        That is their promoted dtype, at least float32 (a bfloat16 teacher
        next to a float32 student is computed in float32).

        Args:
            student (Tensor): (B, C, H, W).
            teacher (Tensor): (B, C, H, W).

        Returns:
            torch.dtype: The computation dtype.
        """
        name = type(self).__name__
        for role, x in (('student', student), ('teacher', teacher)):
            if not isinstance(x, torch.Tensor) or x.dim() != 4 \
                    or not x.is_floating_point():
                raise ValueError(
                    f'{name}: the {role} map must be a floating (B, C, H, W) '
                    f'tensor, got '
                    f'{getattr(x, "shape", type(x).__name__)!r}')
        if student.shape != teacher.shape:
            raise ValueError(
                f'{name}: student map {tuple(student.shape)} and teacher map '
                f'{tuple(teacher.shape)} differ in shape; project or resize '
                'the student map first')
        return torch.promote_types(
            torch.promote_types(student.dtype, teacher.dtype), torch.float32)

    def prepare(self,
                student: torch.Tensor,
                teacher: torch.Tensor,
                dtype: Optional[torch.dtype] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Check the pair, bring it to one dtype, standardise.

        Args:
            student (Tensor): (B, C, H, W).
            teacher (Tensor): (B, C, H, W).
            dtype (torch.dtype, optional): What :meth:`check_pair` returned
                when the caller has checked the pair already; None checks it
                here.

        Returns:
            tuple[Tensor, Tensor]: The prepared student and teacher maps, in
            the dtype of :meth:`check_pair`.
        """
        if dtype is None:
            dtype = self.check_pair(student, teacher)
        student, teacher = student.to(dtype), teacher.to(dtype)
        if self.standardize:
            student = standardize_features(student)
            teacher = standardize_features(teacher)
        return student, teacher

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Return the ``loss_*`` terms between two feature maps."""
        raise NotImplementedError
