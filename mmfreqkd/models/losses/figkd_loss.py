"""FiGKD: distil only the wavelet high-frequency part of the logits."""
import torch
from mmengine.registry import MODELS

from mmfreqkd.utils.errors import with_prefix
from .kd_loss import KDLoss, check_logit_pair, softened_kl
from .logit_wavelet import LogitWavelet


@MODELS.register_module()
class FiGKDLoss(KDLoss):
    """Logit distillation restricted to the wavelet detail band.

    A :class:`KDLoss` (same temperature, weight and reduction arguments) on
    the high-frequency part of the logits.

    The C logits of a sample are a 1-D signal; a ``levels``-level DWT
    (:class:`~mmfreqkd.models.losses.LogitWavelet`) splits it into an
    approximation (low-frequency: what neighbouring classes share) and
    details (high-frequency: how neighbouring classes differ). The
    approximation is discarded and only the details are distilled:

    * ``'kl'`` (default): ``T**2 * KL(softmax(h_t / T) || softmax(h_s / T))``
      where ``h`` is the high-pass reconstruction of the logits (the logits
      minus their reconstruction from the approximation alone), summed over
      classes and averaged over the batch.
    * ``'mse'``: mean squared error between the detail coefficients of all
      levels (``temperature`` is not used).

    ``'kl'`` is the default because it keeps the form, scale (``T**2``) and
    temperature of :class:`KDLoss`, so the two losses can be compared with
    the same weight and temperature in one run; the paper's exact form is not
    public. Both distances ignore a constant shift of the logits, as KD does.

    C odd (at any level): the last value is repeated before that level (see
    :class:`~mmfreqkd.models.losses.LogitWavelet`). The cross-entropy with the
    labels is not part of this loss.

    Args:
        wavelet (str): PyWavelets name of a discrete wavelet; ``'haar'`` is
            computed directly. Default: ``'haar'``.
        levels (int): DWT levels, >= 1. Default: 1.
        temperature (float): Softening temperature of ``'kl'``, finite and
            > 0. Default: 4.0.
        distance (str): ``'kl'`` or ``'mse'``. Default: ``'kl'``.
        loss_weight (float): Factor on the loss, finite and >= 0.
            Default: 1.0.
        reduction (str): ``'mean'`` (scalar) or ``'none'`` ((B,)).
            Default: ``'mean'``.
    """

    distances = ('kl', 'mse')

    def __init__(self,
                 wavelet: str = 'haar',
                 levels: int = 1,
                 temperature: float = 4.0,
                 distance: str = 'kl',
                 loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__(temperature, loss_weight, reduction)
        try:
            self.wavelet = LogitWavelet(wavelet, levels)
        except ValueError as error:
            raise with_prefix(error, type(self).__name__) from None
        if distance not in self.distances:
            raise ValueError(f'{type(self).__name__}: distance must be one '
                             f'of {self.distances}, got {distance!r}')
        self.distance = distance

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """High-frequency distillation loss between two logit tensors.

        Args:
            student (Tensor): Student logits (B, C).
            teacher (Tensor): Teacher logits (B, C).

        Returns:
            Tensor: Scalar for ``'mean'``, (B,) for ``'none'``.
        """
        check_logit_pair(student, teacher, type(self).__name__)
        try:
            self.wavelet.check_length(student.shape[-1])
        except ValueError as error:
            raise with_prefix(error, type(self).__name__) from None
        if self.distance == 'kl':
            loss = softened_kl(
                self.wavelet.high_pass(student),
                self.wavelet.high_pass(teacher), self.temperature)
        else:
            difference = self.wavelet.details(student) - \
                self.wavelet.details(teacher)
            loss = difference.square().mean(dim=-1)
        return self.reduce(loss)
