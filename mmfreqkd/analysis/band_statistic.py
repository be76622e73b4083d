"""What the per-block, per-band statistics of the analysis tools share."""
import logging
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from mmengine.logging import print_log

from mmfreqkd.models.freq import radial_band_masks, standardize_features

from .radial_bands import as_float, radial_band_maps


class BandStatistic:
    """Base of the statistics accumulated per block over radial bands.

    :meth:`band_maps` prepares a batch of one block the same way for every
    statistic: float maps, standardised unless ``standardize=False``, split
    into the ``full``, ``low`` and ``high`` bands of
    :func:`~mmfreqkd.analysis.radial_bands.radial_band_maps`; it also records
    each block's feature grid, which must not change between batches, and
    how many frequencies each band of that grid holds (:meth:`block_grid`).
    A low band that holds only the zero frequency, whose maps are then every
    channel's spatial mean, is warned about once per grid. Subclasses
    implement ``update`` and ``compute`` on top of it and give the formula of
    each metric they report in ``METRIC_DEFINITIONS`` (metric -> text),
    which the analysis tools write to their JSON output.

    Args:
        low_radius (float): Outer normalised radius of the low band.
            Default: 0.25.
        high_radius (float): Inner normalised radius of the high band.
            Default: 0.75.
        standardize (bool): Standardise the maps before splitting them (the
            paper's setting). Default: True.
    """

    METRIC_DEFINITIONS: Dict[str, str] = {}

    def __init__(self,
                 low_radius: float = 0.25,
                 high_radius: float = 0.75,
                 standardize: bool = True):
        self.low_radius = low_radius
        self.high_radius = high_radius
        self.standardize = standardize
        # block name -> feature grid (H, W), in order of first update
        self.grids: 'OrderedDict[str, Tuple[int, int]]' = OrderedDict()

    def band_maps(
        self, name: str, reference: torch.Tensor, compared: torch.Tensor
    ) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """Standardise and split a batch of block ``name``.

        Args:
            name (str): Block name.
            reference (Tensor): Reference maps (B, C_t, H, W).
            compared (Tensor): Compared maps (B, C_s, H, W).

        Returns:
            tuple[dict, dict]: The band maps (band -> Tensor) of both sides.

        Raises:
            ValueError: If the grid differs from an earlier batch of the
                block.
        """
        reference, compared = as_float(reference), as_float(compared)
        if self.standardize:
            reference = standardize_features(reference)
            compared = standardize_features(compared)
        bands = tuple(
            radial_band_maps(maps, self.low_radius, self.high_radius)
            for maps in (reference, compared))
        grid = tuple(reference.shape[-2:])
        if name not in self.grids:
            self._warn_if_low_band_is_mean(grid)
        first_grid = self.grids.setdefault(name, grid)
        if first_grid != grid:
            raise ValueError(f'{name}: feature grid changed from {first_grid} '
                             f'to {grid} between batches')
        return bands

    def band_sizes(self, grid: Tuple[int, int]) -> Dict[str, int]:
        """Number of frequencies in each band of an H x W grid.

        Args:
            grid (tuple[int, int]): (H, W).

        Returns:
            dict[str, int]: ``full`` (H * W), ``low`` and ``high``.
        """
        low_mask, high_mask = radial_band_masks(*grid, self.low_radius,
                                                self.high_radius)
        return dict(
            full=grid[0] * grid[1],
            low=int(low_mask.sum()),
            high=int(high_mask.sum()))

    def block_grid(self, name: str) -> dict:
        """``grid`` (H, W) and ``band_sizes`` of block ``name``, for the
        results of ``compute``."""
        grid = self.grids[name]
        return dict(grid=list(grid), band_sizes=self.band_sizes(grid))

    def _warn_if_low_band_is_mean(self, grid: Tuple[int, int]) -> None:
        """Warn once per grid when the low band is the zero frequency only."""
        if grid in self.grids.values() or self.band_sizes(grid)['low'] > 1:
            return
        print_log(
            f'the low band of a {grid[0]}x{grid[1]} feature map holds only '
            f'the zero frequency (low_radius={self.low_radius} is below one '
            'frequency step of the grid): its maps are every channel\'s '
            'spatial mean; use a larger low radius or larger inputs',
            logger='current',
            level=logging.WARNING)

    @property
    def names(self) -> Tuple[str, ...]:
        """Names of the blocks seen so far, in order of first update."""
        return tuple(self.grids)

    def check_updated(self) -> None:
        """Raise unless at least one batch was added (before ``compute``)."""
        if not self.grids:
            raise RuntimeError(f'{type(self).__name__}.compute() before any '
                               'update(): no block was analysed')
