"""Radial low / high spatial-frequency bands of feature maps (analysis only).

The spectral-divergence analysis of the paper uses radial bands with a gap
between them, unlike the complementary splitters of the training losses: the
low band keeps the frequencies of normalised radius <= ``low_radius``, the
high band those of radius >= ``high_radius``, and the ring in between belongs
to neither. The masks come from
:func:`mmfreqkd.models.freq.masks.radial_band_masks` (radius measured from the
centre ``(H // 2, W // 2)`` of the shifted spectrum, divided by
``min(H // 2, W // 2)``).
"""
from typing import Dict

import torch

from mmfreqkd.models.freq import radial_band_masks

BANDS = ('full', 'low', 'high')


def as_float(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32, or float64 when it already is float64."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def masked_inverse(x: torch.Tensor,
                   shifted_mask: torch.Tensor) -> torch.Tensor:
    """Keep the frequencies of ``shifted_mask`` and go back to space.

    ``Re(ifft2(ifftshift(mask * fftshift(fft2(x)))))``, both transforms
    orthonormal.

    Args:
        x (Tensor): Real maps (..., H, W), float32 or float64.
        shifted_mask (Tensor): Bool or real mask (H, W) laid out like
            ``fftshift(fft2(x))``.

    Returns:
        Tensor: The band-limited maps, shape and dtype of ``x``.
    """
    dims = (-2, -1)
    spectrum = torch.fft.fftshift(torch.fft.fft2(x, norm='ortho'), dim=dims)
    spectrum = spectrum * shifted_mask.to(device=x.device, dtype=x.dtype)
    band = torch.fft.ifft2(
        torch.fft.ifftshift(spectrum, dim=dims), norm='ortho')
    return band.real


def radial_band_maps(x: torch.Tensor,
                     low_radius: float = 0.25,
                     high_radius: float = 0.75) -> Dict[str, torch.Tensor]:
    """Split maps into the full map and its radial low and high bands.

    Args:
        x (Tensor): Maps (B, C, H, W). Half-precision maps are computed in
            float32.
        low_radius (float): Outer normalised radius of the low band.
            Default: 0.25.
        high_radius (float): Inner normalised radius of the high band.
            Default: 0.75.

    Returns:
        dict[str, Tensor]: ``full`` (``x`` itself), ``low`` and ``high``,
        each (B, C, H, W). ``low + high`` differs from ``x`` by the excluded
        middle ring.

    Raises:
        ValueError: If ``x`` is not 4-D, or a band holds no frequency of an
            H x W map (e.g. a 1 x 1 grid).
    """
    if x.dim() != 4:
        raise ValueError('radial_band_maps expects (B, C, H, W) maps, got '
                         f'shape {tuple(x.shape)}')
    x = as_float(x)
    height, width = x.shape[-2:]
    low_mask, high_mask = radial_band_masks(height, width, low_radius,
                                            high_radius)
    for name, mask in (('low', low_mask), ('high', high_mask)):
        if not bool(mask.any()):
            raise ValueError(
                f'the {name} band of a {height}x{width} feature map holds no '
                f'frequency (low_radius={low_radius}, high_radius='
                f'{high_radius}); use larger inputs or other radii')
    return dict(
        full=x,
        low=masked_inverse(x, low_mask),
        high=masked_inverse(x, high_mask))
