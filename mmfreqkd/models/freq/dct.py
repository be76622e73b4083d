"""Discrete cosine transform band splitter."""
import math
from typing import Optional, Tuple

import torch
from mmengine.registry import MODELS

from .base import BaseBandSplitter, check_cutoff


def dct_matrix(length: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``D`` with ``coefficients = D @ signal``.

    ``D[k, n] = s_k cos(pi (2n + 1) k / (2 length))`` with
    ``s_0 = sqrt(1 / length)`` and ``s_k = sqrt(2 / length)`` otherwise.

    Args:
        length (int): Signal length n.

    Returns:
        Tensor: float64 matrix (n, n), orthogonal.
    """
    k = torch.arange(length, dtype=torch.float64)[:, None]
    n = torch.arange(length, dtype=torch.float64)[None, :]
    matrix = torch.cos(math.pi * (2 * n + 1) * k / (2 * length))
    matrix *= math.sqrt(2 / length)
    matrix[0] /= math.sqrt(2)
    return matrix


@MODELS.register_module()
class DCTSplitter(BaseBandSplitter):
    """Low band = the top-left block of the orthonormal 2-D DCT-II.

    The DCT coefficients ``D_H x D_W^T`` are kept in rows ``[0, kh)`` and
    columns ``[0, kw)`` with ``kh = max(1, int(H * cutoff))`` and
    ``kw = max(1, int(W * cutoff))`` and transformed back; DCT index ``k``
    is ``k / 2`` cycles per map, so ``cutoff`` keeps the same share of each
    axis' frequency range as in :class:`FFTRectSplitter`. Computed as
    ``E_H^T (E_H x E_W^T) E_W`` with the first ``kh`` (``kw``) rows ``E`` of
    the DCT matrices, cached per (H, W, device, dtype): an orthogonal
    projection, hence symmetric (``self_adjoint``).

    Args:
        cutoff (float): Fraction of DCT coefficients kept along each axis, in
            (0, 1]. Default: 0.5.
    """

    self_adjoint = True

    def __init__(self, cutoff: float = 0.5):
        super().__init__()
        self.cutoff = check_cutoff(cutoff, type(self).__name__)

    def extra_repr(self) -> str:
        return f'cutoff={self.cutoff}'

    def empty_bands(self, height: int, width: int) -> Tuple[bool, bool]:
        """The low band keeps at least one coefficient per axis; the high
        band is empty when both axes keep all of theirs."""
        return False, all(
            max(1, int(length * self.cutoff)) >= length
            for length in (height, width))

    def basis(self, length: int, device: torch.device,
              dtype: torch.dtype) -> torch.Tensor:
        """First ``max(1, int(length * cutoff))`` DCT rows (k, n), cached."""
        kept = max(1, int(length * self.cutoff))
        return self.cached(
            ('dct', length, device, dtype),
            lambda: dct_matrix(length)[:kept].to(device=device, dtype=dtype))

    def low_pass(self,
                 x: torch.Tensor,
                 out: Optional[torch.Tensor] = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        rows = self.basis(height, x.device, x.dtype)
        cols = self.basis(width, x.device, x.dtype)
        coefficients = torch.matmul(rows, x) @ cols.T
        return torch.matmul(
            torch.matmul(rows.T, coefficients), cols, out=out)
