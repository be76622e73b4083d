"""Haar wavelet band splitter."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

from .base import BaseBandSplitter, write_into


def max_levels(height: int, width: int) -> int:
    """Haar levels that change (H, W) maps: ``ceil(log2(max(H, W)))``.

    Each level halves both sides (rounding up) until they are 1; a further
    level would repeat the last one.
    """
    return (max(height, width) - 1).bit_length()


@MODELS.register_module()
class HaarDWTSplitter(BaseBandSplitter):
    """Low band = reconstruction from the coarsest Haar approximation.

    A ``levels``-level orthonormal 2-D Haar DWT is taken and only the
    approximation coefficients of the last level are kept; reconstructing
    from them replaces every ``2**levels x 2**levels`` block by its mean. The
    high band ``x - low`` is the reconstruction from all detail coefficients.

    Odd sizes: before a level whose input has an odd number of rows (or
    columns), the last row (column) is repeated, as in PyWavelets'
    ``'symmetric'`` and ``'periodization'`` modes for Haar; the
    reconstruction is cropped back to the input size at every level. H and W
    are handled independently, so H != W is fine.

    Args:
        levels (int): Number of decomposition levels, >= 1 and at most
            ``ceil(log2(max(H, W)))`` for (H, W) maps (more are refused
            when the maps arrive). Default: 1.
    """

    def __init__(self, levels: int = 1):
        super().__init__()
        if isinstance(levels, bool) or not isinstance(levels, int) \
                or levels < 1:
            raise ValueError(f'HaarDWTSplitter: levels must be an int >= 1, '
                             f'got {levels!r}')
        self.levels = levels

    def extra_repr(self) -> str:
        return f'levels={self.levels}'

    def low_pass(self,
                 x: torch.Tensor,
                 out: Optional[torch.Tensor] = None) -> torch.Tensor:
        fit = max_levels(*x.shape[-2:])
        if self.levels > fit:
            raise ValueError(
                f'HaarDWTSplitter: {self.levels} levels need maps larger '
                f'than (H, W) = {tuple(x.shape[-2:])}: at most {fit} levels '
                'fit')
        sizes = []
        approx = x
        for _ in range(self.levels):
            height, width = approx.shape[-2:]
            sizes.append((height, width))
            approx = F.pad(approx, (0, width % 2, 0, height % 2),
                           mode='replicate')
            # The orthonormal Haar approximation of a 2x2 block is twice its
            # mean and the synthesis halves it again: carrying block means
            # through the levels gives the same reconstruction.
            approx = F.avg_pool2d(approx, kernel_size=2)
        for height, width in reversed(sizes):
            approx = approx.repeat_interleave(2, dim=-2).repeat_interleave(
                2, dim=-1)[..., :height, :width]
        return write_into(out, approx)
