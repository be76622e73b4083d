"""Resampling of learned absolute position embeddings to a new patch grid."""
from typing import Tuple

import torch
import torch.nn.functional as F


def resample_pos_embed(pos_embed: torch.Tensor, old_grid: Tuple[int, int],
                       new_grid: Tuple[int, int]) -> torch.Tensor:
    """Resize patch position embeddings from one grid to another.

    The embeddings are treated as a ``C``-channel image of size ``old_grid``
    and resized with bicubic interpolation with anti-aliasing, in float32.
    This is the rule timm applies to DINOv2 models (``dynamic_img_size=True``
    at run time and at checkpoint loading), so features computed at any input
    size equal timm's. The official DINOv2 code instead interpolates with a
    ``+0.1`` scale offset and without anti-aliasing, which gives slightly
    different embeddings off the 37x37 training grid.

    Args:
        pos_embed (Tensor): (1, old_h * old_w, C) embeddings of the patch
            tokens only (no class or register entry), row-major.
        old_grid (tuple[int, int]): (old_h, old_w) grid of ``pos_embed``.
        new_grid (tuple[int, int]): (new_h, new_w) target grid.

    Returns:
        Tensor: (1, new_h * new_w, C) embeddings in the input dtype; the
        input itself when the grids are equal.
    """
    old_h, old_w = old_grid
    new_h, new_w = new_grid
    if pos_embed.dim() != 3 or pos_embed.shape[1] != old_h * old_w:
        raise ValueError(
            f'pos_embed of shape {tuple(pos_embed.shape)} does not hold a '
            f'{old_h}x{old_w} grid: expected (1, {old_h * old_w}, C)')
    if (old_h, old_w) == (new_h, new_w):
        return pos_embed
    dims = pos_embed.shape[-1]
    grid = pos_embed.float().reshape(1, old_h, old_w, dims).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid, size=(new_h, new_w), mode='bicubic', antialias=True)
    return grid.permute(0, 2, 3, 1).reshape(1, new_h * new_w, dims).to(
        pos_embed.dtype)
