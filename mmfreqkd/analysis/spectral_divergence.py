"""Spectral divergence: how far two feature maps differ, per frequency band.

The analysis of the FreqKD paper (its Table 2) compares the feature maps of a
reference side ``T`` (the teacher, or a model fed the RGB image) with those
of a compared side ``S`` (the student, or the same model fed the infrared
image). Per block:

1. both maps are standardised (:func:`~mmfreqkd.models.freq.
   standardize_features`: per-channel spatial mean removed, then every
   position L2-normalised across channels);
2. each is split into radial bands (:func:`~mmfreqkd.analysis.radial_bands.
   radial_band_maps`): ``full`` (the standardised map), ``low`` (normalised
   radius <= ``low_radius``) and ``high`` (radius >= ``high_radius``);
3. per sample and band, with ``t`` and ``s`` the flattened (C * H * W) band
   maps:

   - ``mse``: ``mean((t - s)^2)``;
   - ``nmse``: ``||t - s||^2 / ||t||^2``;
   - ``cosine_distance``: ``1 - <t, s> / (||t|| ||s||)``;

4. every metric is averaged over the samples (mean and standard deviation
   are reported), then over the blocks.

High/low ratios are given per block (``high / low`` of the block means) and
for the whole model in two ways: ``high_low_ratio``, the ratio of the
block-averaged metrics (the paper's "averaged over blocks" figure), and
``mean_block_ratio``, the mean of the per-block ratios.
"""
from collections import OrderedDict
from typing import Dict

import torch

from .band_statistic import BandStatistic
from .radial_bands import BANDS

DIVERGENCE_METRICS = ('mse', 'nmse', 'cosine_distance')


def band_divergences(reference: torch.Tensor, compared: torch.Tensor,
                     eps: float = 1e-12) -> Dict[str, torch.Tensor]:
    """Per-sample divergences between two batches of maps of one band.

    Args:
        reference (Tensor): ``T`` maps (B, ...), e.g. (B, C, H, W).
        compared (Tensor): ``S`` maps, shape of ``reference``.
        eps (float): Floor of the norms in the denominators, so that an
            all-zero map gives a finite value. Default: 1e-12.

    Returns:
        dict[str, Tensor]: ``mse``, ``nmse`` and ``cosine_distance``, each
        (B,) in the dtype of the inputs.
    """
    if reference.shape != compared.shape:
        raise ValueError('band_divergences needs maps of the same shape, got '
                         f'{tuple(reference.shape)} and '
                         f'{tuple(compared.shape)}')
    t = reference.flatten(1)
    s = compared.flatten(1)
    squared_error = (t - s).square()
    t_norm = t.norm(dim=1)
    s_norm = s.norm(dim=1)
    return dict(
        mse=squared_error.mean(dim=1),
        nmse=squared_error.sum(dim=1) / t_norm.square().clamp_min(eps),
        cosine_distance=1 - (t * s).sum(dim=1) /
        (t_norm * s_norm).clamp_min(eps))


class SpectralDivergence(BandStatistic):
    """Accumulates band divergences over batches, per block.

    Only sums are kept (per block a 3 x 3 table of sums and of sums of
    squares over the samples), so any number of samples fits in memory.

    Args: ``low_radius``, ``high_radius`` and ``standardize`` of
    :class:`~mmfreqkd.analysis.band_statistic.BandStatistic`.

    Example:
        >>> divergence = SpectralDivergence()
        >>> for t_maps, s_maps in batches:  # (B, C, H, W) each
        ...     divergence.update('block7', t_maps, s_maps)
        >>> divergence.compute()['average']['high_low_ratio']['nmse']
    """

    METRIC_DEFINITIONS = dict(
        mse='mean((t - s)^2) over the C*H*W values of a sample, t and s the '
        'reference and compared band maps; then averaged over samples',
        nmse='||t - s||^2 / ||t||^2 per sample (norms over C*H*W); then '
        'averaged over samples',
        cosine_distance='1 - <t, s> / (||t|| ||s||) per sample; then '
        'averaged over samples',
        high_low_ratio='high-band mean / low-band mean of a metric (per '
        'block; in "average": of the block-averaged means)',
        mean_block_ratio='mean over blocks of the per-block high_low_ratio')

    def __init__(self,
                 low_radius: float = 0.25,
                 high_radius: float = 0.75,
                 standardize: bool = True):
        super().__init__(low_radius, high_radius, standardize)
        # block name -> [count, sums (metrics, bands), squared sums]
        self.sums: Dict[str, list] = {}

    def update(self, name: str, reference: torch.Tensor,
               compared: torch.Tensor) -> None:
        """Add a batch of one block.

        Args:
            name (str): Block name (a key of the results).
            reference (Tensor): ``T`` maps (B, C, H, W).
            compared (Tensor): ``S`` maps (B, C, H, W), same shape.
        """
        if reference.shape != compared.shape or reference.dim() != 4:
            raise ValueError(
                f'{name}: SpectralDivergence needs two (B, C, H, W) maps of '
                f'the same shape, got {tuple(reference.shape)} and '
                f'{tuple(compared.shape)}; in teacher-student mode the '
                'student maps must be projected to the teacher\'s shape')
        t_bands, s_bands = self.band_maps(name, reference, compared)
        per_band = [band_divergences(t_bands[band], s_bands[band])
                    for band in BANDS]
        # (metrics, bands, B) in float64 for the sums
        values = torch.stack([
            torch.stack([divs[metric] for divs in per_band])
            for metric in DIVERGENCE_METRICS
        ]).double()
        state = self.sums.setdefault(name, [0, 0., 0.])
        state[0] += values.shape[-1]
        state[1] = state[1] + values.sum(dim=-1)
        state[2] = state[2] + values.square().sum(dim=-1)

    def compute(self) -> dict:
        """Means, standard deviations and ratios of everything added.

        Returns:
            dict: ``blocks``: per block name ``num_samples``, ``grid``
            (H, W), ``band_sizes`` (band -> number of frequencies), ``mean``
            and ``std`` (metric -> band -> float) and
            ``high_low_ratio`` (metric -> float); ``average``: ``mean``
            (metric -> band -> mean over blocks), ``high_low_ratio`` (ratio
            of the block averages) and ``mean_block_ratio`` (mean of the
            per-block ratios).
        """
        self.check_updated()
        blocks = OrderedDict()
        for name in self.grids:
            count, sums, squares = self.sums[name]
            mean = sums / count
            std = (squares / count - mean.square()).clamp_min(0).sqrt()
            blocks[name] = dict(
                num_samples=count,
                **self.block_grid(name),
                mean=_table(mean),
                std=_table(std),
                high_low_ratio={
                    metric: _ratio(mean[m, BANDS.index('high')],
                                   mean[m, BANDS.index('low')])
                    for m, metric in enumerate(DIVERGENCE_METRICS)
                })
        average_mean = {
            metric: {
                band: sum(b['mean'][metric][band] for b in blocks.values()) /
                len(blocks)
                for band in BANDS
            }
            for metric in DIVERGENCE_METRICS
        }
        average = dict(
            mean=average_mean,
            high_low_ratio={
                metric: _ratio(average_mean[metric]['high'],
                               average_mean[metric]['low'])
                for metric in DIVERGENCE_METRICS
            },
            mean_block_ratio={
                metric: sum(b['high_low_ratio'][metric]
                            for b in blocks.values()) / len(blocks)
                for metric in DIVERGENCE_METRICS
            })
        return dict(blocks=blocks, average=average)


def _table(values: torch.Tensor) -> Dict[str, Dict[str, float]]:
    """(metrics, bands) tensor -> nested dict of floats."""
    return {
        metric: {band: float(values[m, b])
                 for b, band in enumerate(BANDS)}
        for m, metric in enumerate(DIVERGENCE_METRICS)
    }


def _ratio(numerator, denominator) -> float:
    """``numerator / denominator`` as a float: inf for x / 0, NaN for 0 / 0."""
    numerator, denominator = float(numerator), float(denominator)
    if denominator == 0:
        return float('nan') if numerator == 0 else float('inf')
    return numerator / denominator
