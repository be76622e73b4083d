"""Band splitters defined by a mask on the shifted 2-D Fourier spectrum.

The low band of ``x`` is ``Re(ifft2(ifftshift(M * fftshift(fft2(x)))))`` for a
real mask ``M`` (H, W); the high band is ``x - low``. The result does not
depend on the FFT normalisation as long as the inverse matches the forward
transform, so the orthonormal convention of the FreqKD release gives the same
bands as the default one used here.

Computation: taking the real part equals filtering with the symmetrised mask
``(M(k) + M(-k)) / 2`` (the spectrum of a real map is Hermitian), which is
itself Hermitian, so one real FFT (``rfft2``), a product with the
symmetrised mask restricted to the half spectrum and one inverse real FFT
(``irfft2``) give the low band exactly, without ``fftshift`` copies. The
half-spectrum gain is built once per (H, W, device, dtype) and cached.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

from .base import BaseBandSplitter, check_cutoff
from .masks import (centred_band, gaussian_low_pass, radial_low_mask,
                    rect_low_mask)

#: A band whose gain stays within this of 0 at every frequency is empty.
EMPTY_BAND_GAIN = 1e-9


def half_spectrum_gain(shifted_mask: torch.Tensor) -> torch.Tensor:
    """Turn a mask on the shifted spectrum into an ``rfft2`` gain.

    Args:
        shifted_mask (Tensor): Real or bool mask (H, W) laid out like
            ``fftshift(fft2(x))``.

    Returns:
        Tensor: float64 gain (H, W // 2 + 1) in ``rfft2`` layout such that
        ``irfft2(rfft2(x) * gain, s=(H, W))`` equals the real part of the
        masked full-spectrum filtering.
    """
    height, width = shifted_mask.shape
    mask = torch.fft.ifftshift(shifted_mask.to(torch.float64))
    neg_rows = (-torch.arange(height)) % height
    neg_cols = (-torch.arange(width)) % width
    symmetric = 0.5 * (mask + mask[neg_rows][:, neg_cols])
    return symmetric[:, :width // 2 + 1].contiguous()


class FFTMaskSplitter(BaseBandSplitter):
    """Base of the Fourier splitters: subclasses define the shifted mask.

    The low band goes through ``rfft2`` / ``irfft2`` with the cached gain of
    :func:`half_spectrum_gain`. That gain is real and even, so the low pass is
    a symmetric operator (``self_adjoint``).
    """

    self_adjoint = True

    def shifted_mask(self, height: int, width: int) -> torch.Tensor:
        """Low-band mask (H, W) on the shifted spectrum, bool or float."""
        raise NotImplementedError

    def spectrum_gain(self, height: int, width: int, device: torch.device,
                      dtype: torch.dtype) -> torch.Tensor:
        """The cached ``rfft2`` gain (H, W // 2 + 1) for maps of this size."""
        return self.cached(
            ('rfft_gain', height, width, device, dtype),
            lambda: half_spectrum_gain(self.shifted_mask(height, width)).to(
                device=device, dtype=dtype))

    def empty_bands(self, height: int, width: int) -> Tuple[bool, bool]:
        """Read from the gain: the low band is empty where it is 0 at every
        frequency, the high band where it is 1 (both impls of
        :class:`FFTRectSplitter` give the bands of the mask)."""
        gain = half_spectrum_gain(self.shifted_mask(height, width))
        return (bool((gain.abs() <= EMPTY_BAND_GAIN).all()),
                bool(((1 - gain).abs() <= EMPTY_BAND_GAIN).all()))

    def low_pass(self,
                 x: torch.Tensor,
                 out: Optional[torch.Tensor] = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        gain = self.spectrum_gain(height, width, x.device, x.dtype)
        spectrum = torch.fft.rfft2(x)
        return torch.fft.irfft2(spectrum * gain, s=(height, width), out=out)


def half_kept_block(skew_left: torch.Tensor,
                    skew_right: torch.Tensor) -> int:
    """Number of leading basis vectors that the rank-2 skew part touches.

    Args:
        skew_left (Tensor): ``Y`` (k, r) of :meth:`FFTRectSplitter.axis_factors`.
        skew_right (Tensor): ``Z`` (k, r).

    Returns:
        int: ``a`` such that rows ``a:`` of ``Y`` and ``Z`` are zero. The skew
        part lives on the waves of the half-kept edge frequency, gain 1/2,
        which ``eigh`` sorts before the fully kept ones (gain 1).
    """
    touched = ((skew_left.abs() > 1e-9) | (skew_right.abs() > 1e-9)).any(1)
    rows = touched.nonzero().flatten().tolist()
    if rows != list(range(len(rows))):
        raise RuntimeError(f'FFTRectSplitter: the skew part of the band '
                           f'operator touches basis vectors {rows}, '
                           f'expected a leading block')
    return len(rows)


@MODELS.register_module()
class FFTRectSplitter(FFTMaskSplitter):
    """The FreqKD release splitter: a centred rectangle of the spectrum.

    Low band: rows ``[H//2 - h, H//2 + h)`` by columns ``[W//2 - w, W//2 + w)``
    of ``fftshift(fft2(x))`` with ``h = max(1, int(H * cutoff / 2))`` and
    ``w = max(1, int(W * cutoff / 2))``; high band: the rest. The rectangle
    holds the frequency ``-h`` but not ``+h`` (unless ``2h == H``), so the
    real part keeps half of the ``+-h`` (and ``+-w``) waves in each band: as
    in the release, the low pass is not an exact projection
    (``low(low(x)) != low(x)``), while ``low + high == x`` holds.

    The rectangle is separable, so besides the FFT route (``impl='fft'``) the
    same low band is ``Re(P_H x P_W^T) = A_H x A_W - B_H x B_W^T`` with the
    complex (n, n) matrices ``P = A + iB = ifft(diag(band) fft(I))`` of each
    axis (``impl='matmul'``, the default). ``A`` is symmetric with the
    eigen-decomposition ``U diag(d) U^T`` over the ``k ~ cutoff * n`` kept
    frequencies (``d`` is 1, or 1/2 for the half-kept ``+-h`` waves), and
    ``B``, antisymmetric, comes only from that unpaired frequency: it has
    rank <= 2 inside the span of ``U``, ``B = U Y Z^T U^T``. Hence

    ``low = E_H (C - Y'_H (Z_H^T C Z_W) Y'_W^T) E_W^T`` with
    ``C = U_H^T x U_W``, ``E = U diag(d)``, ``Y' = diag(d)^-1 Y``:

    two products reduce every map to its (k_h, k_w) coefficients, the
    correction mixes the (at most 2 x 2) coefficients of the half-kept waves
    of both axes (the only rows where ``Y`` and ``Z`` are non-zero) with one
    (4, 4) matrix, and two products expand them again:
    ``2 k_w (1 + k_h / W)`` multiply-adds per element (68 on the 37 x 46
    ViT-L grid at 518 x 644 pixels), against ``2 (H + W)`` for the dense
    ``A`` and ``B`` matrices (166 there), and faster than ``rfft2`` /
    ``irfft2`` on such odd grids (``benchmarks/freq_loss.py``). The
    operator is symmetric, as the FFT route.

    Args:
        cutoff (float): Fraction of each axis' spectrum kept in the low band,
            in (0, 1]. Default: 0.5 (the release setting).
        impl (str): ``'matmul'`` (default) or ``'fft'``; both give the same
            bands to rounding.
    """

    implementations = ('matmul', 'fft')
    #: The W-axis rank of the ``'matmul'`` route is padded to a multiple of
    #: this (see :meth:`band_operators`).
    rank_multiple = 8

    def __init__(self, cutoff: float = 0.5, impl: str = 'matmul'):
        super().__init__()
        self.cutoff = check_cutoff(cutoff, type(self).__name__)
        if impl not in self.implementations:
            raise ValueError(f'FFTRectSplitter: impl must be one of '
                             f'{self.implementations}, got {impl!r}')
        self.impl = impl

    def extra_repr(self) -> str:
        return f'cutoff={self.cutoff}, impl={self.impl!r}'

    def shifted_mask(self, height: int, width: int) -> torch.Tensor:
        return rect_low_mask(height, width, self.cutoff)

    def axis_factors(self, length: int):
        """Low-rank real factors of one axis' band operator.

        Args:
            length (int): n, the axis length.

        Returns:
            tuple[Tensor, Tensor, Tensor, Tensor]: float64 ``U`` (n, k) with
            orthonormal columns, ``d`` (k,), ``Y`` and ``Z`` (k, r), r <= 2,
            such that ``ifft(diag(band) fft(I)) == U (diag(d) + i Y Z^T)
            U^T``.
        """
        band = torch.fft.ifftshift(
            centred_band(length, self.cutoff).to(torch.float64))
        eye = torch.eye(length, dtype=torch.float64)
        operator = torch.fft.ifft(
            band[:, None] * torch.fft.fft(eye, dim=0), dim=0)
        gains, vectors = torch.linalg.eigh(operator.real)
        kept = gains.abs() > 1e-9
        basis, gains = vectors[:, kept], gains[kept]
        left, sigma, right_t = torch.linalg.svd(
            basis.T @ operator.imag @ basis)
        rank = int((sigma > 1e-9).sum())
        # contiguous: torch.kron fails on some mixes of transposed strides
        return tuple(
            m.contiguous() for m in (basis, gains, left[:, :rank] *
                                     sigma[:rank], right_t[:rank].T))

    def band_operators(self, height: int, width: int, device: torch.device,
                       dtype: torch.dtype):
        """The matrices of the ``'matmul'`` route (cached).

        Args:
            height (int): H.
            width (int): W.
            device (torch.device): Device of the maps.
            dtype (torch.dtype): Dtype of the maps.

        The W-axis factors get zero columns (rows) up to ``k_w'``, the next
        multiple of :attr:`rank_multiple` (8), when that adds at most an
        eighth to ``k_w``: the coefficients then have a zero tail, and the
        CPU GEMM kernels run these thin products faster than with an odd
        ``k_w`` (23 on the ViT-L grid; ``band_ops_unpadded`` in
        ``benchmarks/freq_loss.py``).

        Returns:
            tuple: ``(U_H^T, U_W, E_H, E_W^T)``, shapes (k_h, H), (W, k_w'),
            (H, k_h), (k_w', W), and the correction: None when ``B_H`` or
            ``B_W`` is zero, else the (a b, a b) matrix ``T`` that maps the
            row-major flattened block ``C[:a, :b]`` of the half-kept waves
            (the first ``a`` and ``b`` basis vectors, gain 1/2) to its
            corrected value, ``I - kron(Z_H, Z_W) kron(Y'_H, Y'_W)^T``
            restricted to that block.
        """

        def build():
            basis_h, gains_h, skew_left_h, skew_right_h = \
                self.axis_factors(height)
            basis_w, gains_w, skew_left_w, skew_right_w = \
                self.axis_factors(width)
            rank_w = basis_w.shape[1]
            padding = -rank_w % self.rank_multiple
            if 8 * padding > rank_w:
                padding = 0  # more than an eighth more work: not worth it
            expand_w = F.pad(basis_w * gains_w, (0, padding)).T
            skew_left_w = F.pad(skew_left_w / gains_w[:, None],
                                (0, 0, 0, padding))
            skew_right_w = F.pad(skew_right_w, (0, 0, 0, padding))
            matrices = tuple(
                m.to(device=device, dtype=dtype).contiguous()
                for m in (basis_h.T, F.pad(basis_w, (0, padding)),
                          basis_h * gains_h, expand_w))
            if not (skew_left_h.shape[1] and skew_left_w.shape[1]):
                return matrices, None
            block_h = half_kept_block(skew_left_h, skew_right_h)
            block_w = half_kept_block(skew_left_w, skew_right_w)
            skew = torch.kron(skew_right_h[:block_h],
                              skew_right_w[:block_w]) @ torch.kron(
                                  (skew_left_h / gains_h[:, None])[:block_h],
                                  skew_left_w[:block_w]).T
            correction = torch.eye(block_h * block_w,
                                   dtype=skew.dtype) - skew
            return matrices, (block_h, block_w,
                              correction.to(device=device, dtype=dtype))

        return self.cached(('matmul', height, width, device, dtype), build)

    def low_pass(self,
                 x: torch.Tensor,
                 out: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.impl == 'fft':
            return super().low_pass(x, out=out)
        height, width = x.shape[-2:]
        (reduce_h, reduce_w, expand_h, expand_w), correction = \
            self.band_operators(height, width, x.device, x.dtype)
        rank_w = reduce_w.shape[1]
        # (N * H, W) @ (W, k_w), then U_H^T per map: (N, k_h, k_w)
        rows = (x.reshape(-1, width) @ reduce_w).view(-1, height, rank_w)
        coefficients = torch.matmul(reduce_h, rows)
        if correction is not None:
            block_h, block_w, mixing = correction
            block = coefficients[:, :block_h, :block_w]
            block.copy_((block.reshape(-1, block_h * block_w) @ mixing).view(
                -1, block_h, block_w))
        rows = torch.matmul(expand_h, coefficients).view(-1, rank_w)
        if out is None:
            return (rows @ expand_w).view(x.shape)
        torch.mm(rows, expand_w, out=out.view(-1, width))
        return out


@MODELS.register_module()
class FFTRadialSplitter(FFTMaskSplitter):
    """Low band = centred disk of the shifted spectrum.

    A frequency is low when its normalised radius (index distance from the
    centre ``(H//2, W//2)`` divided by ``min(H//2, W//2)``, see
    :func:`~mmfreqkd.models.freq.masks.normalized_radius`) is <= ``cutoff``.

    Args:
        cutoff (float): Disk radius, finite and > 0; 1 reaches the Nyquist
            frequency of the shorter axis. Default: 0.5.
    """

    def __init__(self, cutoff: float = 0.5):
        super().__init__()
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) \
                or not 0 < cutoff < math.inf:
            raise ValueError(f'FFTRadialSplitter: cutoff must be a finite '
                             f'number > 0, got {cutoff!r}')
        self.cutoff = float(cutoff)

    def extra_repr(self) -> str:
        return f'cutoff={self.cutoff}'

    def shifted_mask(self, height: int, width: int) -> torch.Tensor:
        return radial_low_mask(height, width, self.cutoff)


@MODELS.register_module()
class GaussianSplitter(FFTMaskSplitter):
    """Smooth low band: Gaussian gain ``exp(-r**2 / (2 * sigma**2))``.

    ``r`` is the normalised radius of :class:`FFTRadialSplitter`. The gain
    falls to 1/2 at ``r = 1.18 sigma``; the default ``sigma = 0.4`` puts that
    point near 0.5, the border of the default rectangle and disk. The high
    band ``x - low`` has the complementary gain ``1 - exp(...)``.

    Args:
        sigma (float): Standard deviation in normalised radius, finite and
            > 0. Default: 0.4.
    """

    def __init__(self, sigma: float = 0.4):
        super().__init__()
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) \
                or not 0 < sigma < math.inf:
            raise ValueError(f'GaussianSplitter: sigma must be a finite '
                             f'number > 0, got {sigma!r}')
        self.sigma = float(sigma)

    def extra_repr(self) -> str:
        return f'sigma={self.sigma}'

    def shifted_mask(self, height: int, width: int) -> torch.Tensor:
        return gaussian_low_pass(height, width, self.sigma)
