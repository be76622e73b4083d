"""Frequency masks on the *shifted* 2-D spectrum.

Every mask here is laid out like ``fftshift(fft2(x))``: index ``i`` of an axis
of length ``n`` holds the frequency ``i - n // 2`` (cycles per map), so the
zero frequency sits at ``(H // 2, W // 2)``. Masks are float64 or bool tensors
on the CPU; the splitters convert and cache them for their inputs.
"""
import math
from typing import Tuple

import torch


def _check_length(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'mask {name} must be a positive int, got {value!r}')


def centred_band(length: int, cutoff: float) -> torch.Tensor:
    """One axis of the FreqKD rectangle on the shifted spectrum.

    Indices ``[n//2 - k, n//2 + k)`` with ``k = max(1, int(n * cutoff / 2))``,
    i.e. the frequencies ``-k .. k-1``.

    Args:
        length (int): n, the axis length.
        cutoff (float): Fraction of the axis kept, in (0, 1].

    Returns:
        Tensor: Bool mask of shape (n,), True inside the band.
    """
    _check_length('length', length)
    half = max(1, int(length * cutoff / 2))
    centre = length // 2
    band = torch.zeros(length, dtype=torch.bool)
    band[max(0, centre - half):centre + half] = True
    return band


def rect_low_mask(height: int, width: int, cutoff: float) -> torch.Tensor:
    """The centred rectangle that FreqKD calls the low band.

    Rows ``[H//2 - h, H//2 + h)`` and columns ``[W//2 - w, W//2 + w)`` with
    ``h = max(1, int(H * cutoff / 2))`` and ``w = max(1, int(W * cutoff / 2))``
    (see :func:`centred_band`).

    Args:
        height (int): H, rows of the map.
        width (int): W, columns of the map.
        cutoff (float): Fraction of the spectrum kept along each axis.

    Returns:
        Tensor: Bool mask of shape (H, W), True on the low band.
    """
    rows = centred_band(height, cutoff)
    cols = centred_band(width, cutoff)
    return rows[:, None] & cols[None, :]


def normalized_radius(height: int, width: int) -> torch.Tensor:
    """Distance of every frequency from the centre of the shifted spectrum.

    The distance is measured in index steps and divided by
    ``min(H // 2, W // 2)`` (the centre's distance to the nearer border, at
    least 1), so radius 1 reaches the Nyquist frequency of the shorter axis.

    Args:
        height (int): H, rows of the map.
        width (int): W, columns of the map.

    Returns:
        Tensor: float64 radii of shape (H, W).
    """
    _check_length('height', height)
    _check_length('width', width)
    cy, cx = height // 2, width // 2
    rows = torch.arange(height, dtype=torch.float64) - cy
    cols = torch.arange(width, dtype=torch.float64) - cx
    radius = torch.sqrt(rows[:, None]**2 + cols[None, :]**2)
    return radius / max(1, min(cy, cx))


def radial_low_mask(height: int, width: int, cutoff: float) -> torch.Tensor:
    """Centred disk of the shifted spectrum: normalised radius <= cutoff.

    Args:
        height (int): H, rows of the map.
        width (int): W, columns of the map.
        cutoff (float): Radius of the disk, see :func:`normalized_radius`.

    Returns:
        Tensor: Bool mask of shape (H, W), True on the low band.
    """
    return normalized_radius(height, width) <= cutoff


def radial_band_masks(height: int,
                      width: int,
                      low_radius: float = 0.25,
                      high_radius: float = 0.75
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Low and high radial bands of the spectral-divergence analysis.

    Low: normalised radius <= ``low_radius``; high: normalised radius >=
    ``high_radius``; the ring between them belongs to neither band.

    Args:
        height (int): H, rows of the map.
        width (int): W, columns of the map.
        low_radius (float): Outer radius of the low band.
        high_radius (float): Inner radius of the high band.

    Returns:
        tuple[Tensor, Tensor]: ``(low_mask, high_mask)``, bool of shape
        (H, W) on the shifted spectrum.
    """
    if not 0 <= low_radius < high_radius < math.inf:
        raise ValueError('radial_band_masks needs 0 <= low_radius < '
                         f'high_radius < inf, got low_radius={low_radius!r}, '
                         f'high_radius={high_radius!r}')
    radius = normalized_radius(height, width)
    return radius <= low_radius, radius >= high_radius


def gaussian_low_pass(height: int, width: int, sigma: float) -> torch.Tensor:
    """Gaussian transfer function ``exp(-r**2 / (2 * sigma**2))``.

    ``r`` is the normalised radius of :func:`normalized_radius`, so ``sigma``
    is a fraction of the shorter axis' Nyquist frequency: the response is
    ``exp(-1/2) ~ 0.61`` at ``r = sigma`` and ``~ 0.14`` at ``r = 2 sigma``.

    Args:
        height (int): H, rows of the map.
        width (int): W, columns of the map.
        sigma (float): Standard deviation, > 0.

    Returns:
        Tensor: float64 gains in [0, 1] of shape (H, W).
    """
    radius = normalized_radius(height, width)
    return torch.exp(-radius**2 / (2 * sigma**2))
