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
import torch
from mmengine.registry import MODELS

from .base import BaseBandSplitter, check_cutoff
from .masks import (centred_band, gaussian_low_pass, radial_low_mask,
                    rect_low_mask)


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
    :func:`half_spectrum_gain`.
    """

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

    def low_pass(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        gain = self.spectrum_gain(height, width, x.device, x.dtype)
        spectrum = torch.fft.rfft2(x)
        return torch.fft.irfft2(spectrum * gain, s=(height, width))


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
    same low band is ``Re(P_H x P_W^T)`` with the complex (n, n) matrices
    ``P = ifft(diag(band) fft(I))`` of each axis (``impl='matmul'``, the
    default). Writing ``P = A + iB``, the real part is
    ``A_H x A_W^T - B_H x B_W^T = [A_H, -B_H] @ [x A_W^T; x B_W^T]``: two
    dense matrix products per map, the first one against the stacked
    ``(A_W^T, B_W^T)``, whose output reshapes to the (2H, W) right operand
    without a copy. On the odd ViT grids (37 x 46 at 518 x 644 pixels) this is
    faster than FFTs, and its backward pass is two more products.

    Args:
        cutoff (float): Fraction of each axis' spectrum kept in the low band,
            in (0, 1]. Default: 0.5 (the release setting).
        impl (str): ``'matmul'`` (default) or ``'fft'``; both give the same
            bands to rounding.
    """

    implementations = ('matmul', 'fft')

    def __init__(self, cutoff: float = 0.5, impl: str = 'matmul'):
        super().__init__()
        self.cutoff = check_cutoff(cutoff, type(self).__name__)
        if impl not in self.implementations:
            raise ValueError(f'FFTRectSplitter: impl must be one of '
                             f'{self.implementations}, got {impl!r}')
        self.impl = impl

    def shifted_mask(self, height: int, width: int) -> torch.Tensor:
        return rect_low_mask(height, width, self.cutoff)

    def band_operators(self, height: int, width: int, device: torch.device,
                       dtype: torch.dtype):
        """The two matrices of the ``'matmul'`` route (cached).

        Args:
            height (int): H.
            width (int): W.
            device (torch.device): Device of the maps.
            dtype (torch.dtype): Dtype of the maps.

        Returns:
            tuple[Tensor, Tensor]: ``left`` (H, 2H) ``= [A_H, -B_H]`` and
            ``right`` (2, W, W) ``= (A_W^T, B_W^T)``.
        """

        def axis_projection(length):
            band = torch.fft.ifftshift(
                centred_band(length, self.cutoff).to(torch.float64))
            eye = torch.eye(length, dtype=torch.float64)
            return torch.fft.ifft(
                band[:, None] * torch.fft.fft(eye, dim=0), dim=0)

        def build():
            rows, cols = axis_projection(height), axis_projection(width)
            left = torch.cat([rows.real, -rows.imag], dim=1)
            right = torch.stack([cols.real.T, cols.imag.T])
            return tuple(
                m.to(device=device, dtype=dtype).contiguous()
                for m in (left, right))

        return self.cached(('matmul', height, width, device, dtype), build)

    def low_pass(self, x: torch.Tensor) -> torch.Tensor:
        if self.impl == 'fft':
            return super().low_pass(x)
        height, width = x.shape[-2:]
        left, right = self.band_operators(height, width, x.device, x.dtype)
        # (..., 1, H, W) @ (2, W, W) -> (..., 2, H, W) -> (..., 2H, W)
        stacked = torch.matmul(x.unsqueeze(-3), right).flatten(-3, -2)
        return torch.matmul(left, stacked)


@MODELS.register_module()
class FFTRadialSplitter(FFTMaskSplitter):
    """Low band = centred disk of the shifted spectrum.

    A frequency is low when its normalised radius (index distance from the
    centre ``(H//2, W//2)`` divided by ``min(H//2, W//2)``, see
    :func:`~mmfreqkd.models.freq.masks.normalized_radius`) is <= ``cutoff``.

    Args:
        cutoff (float): Disk radius, > 0; 1 reaches the Nyquist frequency of
            the shorter axis. Default: 0.5.
    """

    def __init__(self, cutoff: float = 0.5):
        super().__init__()
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) \
                or cutoff <= 0:
            raise ValueError(f'FFTRadialSplitter: cutoff must be a positive '
                             f'number, got {cutoff!r}')
        self.cutoff = float(cutoff)

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
        sigma (float): Standard deviation in normalised radius, > 0.
            Default: 0.4.
    """

    def __init__(self, sigma: float = 0.4):
        super().__init__()
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) \
                or sigma <= 0:
            raise ValueError(f'GaussianSplitter: sigma must be a positive '
                             f'number, got {sigma!r}')
        self.sigma = float(sigma)

    def shifted_mask(self, height: int, width: int) -> torch.Tensor:
        return gaussian_low_pass(height, width, self.sigma)
