"""FreqKD's band-split feature distillation loss."""
from typing import Dict, Union

import torch
from mmengine.registry import MODELS

from ..freq import BaseBandSplitter, build_splitter
from ..freq.standardize import STANDARDIZE_EPS
from ..precision import autocast_disabled
from .base_feature_loss import BaseFeatureLoss, check_weight
from .feature_distances import get_feature_distance
from .fused_band_loss import FUSED_DISTANCES, FusedBandLossFunction


#: Fraction of a zero-mean random map's energy below which a band counts as
#: keeping nothing of it (see :meth:`FreqDecoupledLoss.check_bands`).
NEGLIGIBLE_ENERGY = 1e-6


@MODELS.register_module()
class FreqDecoupledLoss(BaseFeatureLoss):
    """Distil the low and the high spatial-frequency band separately.

    For a student map S and a teacher map T (both (B, C, H, W)):

    1. standardise both (:func:`~mmfreqkd.models.freq.standardize_features`:
       spatial mean of every channel removed, every position L2-normalised
       across channels), unless ``standardize=False``;
    2. split both into ``(low, high)`` with ``splitter``;
    3. ``loss_low = loss_weight * low_weight * d_low(S_low, T_low)`` and
       ``loss_high = loss_weight * high_weight * d_high(S_high, T_high)``.

    The defaults are the FreqKD release: centred-rectangle FFT split with
    cutoff 0.5, strict MSE on the low band and, with weight 0.1, the MSE of
    ``log1p(|.|)`` of the high-band maps (``'log_mse'``), which compresses the
    larger high-frequency discrepancies between modalities.

    A band whose weight is 0 is neither computed nor returned (low-only and
    high-only ablations). A band with a weight that the splitter leaves
    empty for the maps at hand (e.g. ``FFTRectSplitter(cutoff=1.0)`` on an
    even grid has no high band) is an error at the first forward of that map
    size (:meth:`check_bands`), and so is a weighted low band that keeps
    only the mean of standardised maps (e.g. ``DCTSplitter(cutoff=0.05)``
    on a 10 x 12 grid).

    With the ``'mse'`` and ``'log_mse'`` distances and a teacher map that
    needs no gradient (the distillation case), the loss runs as one
    :class:`~.fused_band_loss.FusedBandLossFunction`: the same values and
    gradients (to rounding) in a fraction of the time and memory of the
    op-by-op computation, which serves the other cases and ``fused=False``.
    Both run with autocast disabled: inside a mixed-precision region the loss
    is still computed in float32.

    Args:
        splitter (dict | BaseBandSplitter): Band splitter or its config.
            Default: ``dict(type='FFTRectSplitter', cutoff=0.5)``.
        low_weight (float): Weight of the low band, finite and >= 0.
            Default: 1.0.
        high_weight (float): Weight of the high band, finite and >= 0.
            Default: 0.1.
        low_distance (str): ``'mse'``, ``'log_mse'``, ``'l1'`` or
            ``'cosine'`` (``1 - cos`` across channels per position).
            Default: ``'mse'``.
        high_distance (str): As ``low_distance``. Default: ``'log_mse'``.
        standardize (bool): Standardise both maps first. Default: True.
        loss_weight (float): Factor on both terms (the layer weight),
            finite and >= 0. Default: 1.0.
        reduction (str): ``'mean'`` (scalars) or ``'none'`` ((B,) values,
            the mean over C, H, W of every sample). Default: ``'mean'``.
        fused (bool): Use the fused function where it applies (a bool).
            Default: True.
    """

    def __init__(self,
                 splitter: Union[dict, BaseBandSplitter] = dict(
                     type='FFTRectSplitter', cutoff=0.5),
                 low_weight: float = 1.0,
                 high_weight: float = 0.1,
                 low_distance: str = 'mse',
                 high_distance: str = 'log_mse',
                 standardize: bool = True,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 fused: bool = True):
        super().__init__(
            standardize=standardize,
            loss_weight=loss_weight,
            reduction=reduction)
        name = type(self).__name__
        self.low_weight = check_weight(low_weight, name, 'low_weight')
        self.high_weight = check_weight(high_weight, name, 'high_weight')
        if self.low_weight == 0 and self.high_weight == 0:
            raise ValueError(f'{name}: low_weight and high_weight are both '
                             '0, so there is nothing to distil')
        self.low_distance = get_feature_distance(low_distance, name,
                                                 'low_distance')
        self.high_distance = get_feature_distance(high_distance, name,
                                                  'high_distance')
        self.distance_names = (low_distance, high_distance)
        self.splitter = build_splitter(splitter)
        if not isinstance(fused, bool):
            raise TypeError(f'{name}: fused must be a bool, got {fused!r}')
        self.fused = fused and all(name in FUSED_DISTANCES
                                   for name in self.distance_names)
        # (H, W) map sizes whose bands passed check_bands
        self._checked_sizes = set()

    def check_bands(self, height: int, width: int) -> None:
        """Raise when a band with a non-zero weight is empty on (H, W) maps
        (:meth:`BaseBandSplitter.empty_bands`), e.g. a cutoff that keeps
        the whole spectrum of small maps in the low band, or when the high
        band keeps under ``NEGLIGIBLE_ENERGY`` of a random map's energy
        (a Gaussian much wider than the spectrum): its term would be about
        0 at every step; or when, with ``standardize=True``, the low band
        keeps only the mean, which standardisation removes. Checked once
        per map size.

        Args:
            height (int): H, rows of the maps.
            width (int): W, columns of the maps.
        """
        if (height, width) in self._checked_sizes:
            return
        empty = list(self.splitter.empty_bands(height, width))
        # a soft splitter (Gaussian) never empties a band exactly
        empty[1] = empty[1] or self._high_band_is_negligible(height, width)
        for band, weight, is_empty in zip(
                ('low', 'high'), (self.low_weight, self.high_weight), empty):
            if weight and is_empty:
                raise ValueError(
                    f'{type(self).__name__}: {self.splitter!r} leaves the '
                    f'{band} band of (H, W) = ({height}, {width}) maps empty, '
                    f'yet {band}_weight={weight}: loss_{band} would always be '
                    f'0. Choose a splitter setting that splits maps of this '
                    f'size, or set {band}_weight=0')
        if self.standardize and self.low_weight and \
                self._low_band_is_the_mean(height, width):
            raise ValueError(
                f'{type(self).__name__}: {self.splitter!r} keeps only the '
                f'constant (mean) term of (H, W) = ({height}, {width}) maps '
                'in the low band, and standardisation removes the mean of '
                'every channel: loss_low would be about 0. Choose a splitter '
                'setting that keeps more of maps this size (a higher cutoff '
                'or sigma), or set low_weight=0')
        self._checked_sizes.add((height, width))

    def _low_band_is_the_mean(self, height: int, width: int) -> bool:
        """Whether the low pass of (H, W) maps keeps only their mean: it
        passes (almost) none of the energy of a zero-mean random map."""
        probe = _zero_mean_probe(height, width)
        kept = self.splitter.low_pass(probe).square().sum()
        return bool(kept <= NEGLIGIBLE_ENERGY * probe.square().sum())

    def _high_band_is_negligible(self, height: int, width: int) -> bool:
        """Whether the high band of (H, W) maps keeps (almost) none of the
        energy of a zero-mean random map, e.g. a Gaussian low pass much
        wider than the spectrum."""
        probe = _zero_mean_probe(height, width)
        kept = (probe - self.splitter.low_pass(probe)).square().sum()
        return bool(kept <= NEGLIGIBLE_ENERGY * probe.square().sum())

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Band-split distances between two feature maps.

        Args:
            student (Tensor): Student map (B, C, H, W).
            teacher (Tensor): Teacher map, same shape.

        Returns:
            dict[str, Tensor]: ``loss_low`` and / or ``loss_high`` (those
            with a non-zero weight), scalars or (B,) per sample. An empty
            batch (B = 0) gives zeros (scalars, or empty (0,) tensors),
            attached to the student's graph as mmdet's losses do.
        """
        dtype = self.check_pair(student, teacher)
        self.check_bands(*student.shape[-2:])
        if student.shape[0] == 0:
            zero = student.sum(dim=(1, 2, 3)).to(dtype) * 0
            if self.reduction == 'mean':
                zero = zero.sum()
            return {f'loss_{band}': zero
                    for band, weight in (('low', self.low_weight),
                                         ('high', self.high_weight))
                    if weight}
        if self.fused and not (teacher.requires_grad
                               and torch.is_grad_enabled()):
            return self.fused_forward(student, teacher, dtype)
        with autocast_disabled(student.device):
            return self.op_by_op_forward(student, teacher, dtype)

    def op_by_op_forward(self, student: torch.Tensor, teacher: torch.Tensor,
                         dtype: torch.dtype) -> Dict[str, torch.Tensor]:
        """:meth:`forward` as separate autograd operations, computed in
        ``dtype`` (that of :meth:`check_pair`)."""
        student, teacher = self.prepare(student, teacher, dtype)
        low_pass = self.splitter.low_pass
        student_low, teacher_low = low_pass(student), low_pass(teacher)
        losses = {}
        if self.low_weight:
            losses['loss_low'] = self.loss_weight * self.low_weight * \
                self.low_distance(student_low, teacher_low, self.reduction)
        if self.high_weight:
            losses['loss_high'] = self.loss_weight * self.high_weight * \
                self.high_distance(student - student_low,
                                   teacher - teacher_low, self.reduction)
        return losses

    def fused_forward(self, student: torch.Tensor, teacher: torch.Tensor,
                      dtype: torch.dtype) -> Dict[str, torch.Tensor]:
        """:meth:`forward` through :class:`FusedBandLossFunction`, computed
        in ``dtype`` (that of :meth:`check_pair`)."""
        weights = (self.loss_weight * self.low_weight,
                   self.loss_weight * self.high_weight)
        need_grad = student.requires_grad and torch.is_grad_enabled()
        loss_low, loss_high = FusedBandLossFunction.apply(
            student, teacher, dtype, self.splitter, weights,
            self.distance_names, self.standardize, STANDARDIZE_EPS,
            self.reduction, need_grad)
        losses = {}
        if self.low_weight:
            losses['loss_low'] = loss_low
        if self.high_weight:
            losses['loss_high'] = loss_high
        return losses


def _zero_mean_probe(height: int, width: int) -> torch.Tensor:
    """A fixed random (1, 1, H, W) float64 map with zero mean."""
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn(1, 1, height, width, dtype=torch.float64,
                        generator=generator)
    return probe - probe.mean(dim=(-2, -1), keepdim=True)
