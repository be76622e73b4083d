"""Radial bands of the spectral-divergence analysis against numpy."""
import numpy as np
import pytest
import torch

from mmfreqkd.analysis import radial_band_maps
from mmfreqkd.models.freq import radial_band_masks

from analysis_reference import numpy_band, numpy_masks


@pytest.mark.parametrize('height, width', [(8, 8), (9, 12), (37, 46),
                                           (16, 11)])
@pytest.mark.parametrize('low_radius, high_radius', [(0.25, 0.75),
                                                     (0.4, 0.6)])
def test_masks_match_definition(height, width, low_radius, high_radius):
    low, high = radial_band_masks(height, width, low_radius, high_radius)
    np_low, np_high = numpy_masks(height, width, low_radius, high_radius)
    np.testing.assert_array_equal(low.numpy(), np_low)
    np.testing.assert_array_equal(high.numpy(), np_high)
    # the middle ring belongs to neither band
    assert not (low & high).any()
    assert (~(low | high)).any()


@pytest.mark.parametrize('height, width', [(8, 10), (37, 46), (9, 9)])
def test_band_maps_match_numpy(height, width):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, height, width))
    bands = radial_band_maps(torch.from_numpy(x), 0.25, 0.75)
    np_low, np_high = numpy_masks(height, width, 0.25, 0.75)
    np.testing.assert_array_equal(bands['full'].numpy(), x)
    np.testing.assert_allclose(
        bands['low'].numpy(), numpy_band(x, np_low), atol=1e-12)
    np.testing.assert_allclose(
        bands['high'].numpy(), numpy_band(x, np_high), atol=1e-12)
    assert bands['low'].dtype == torch.float64


def test_hand_worked_frequencies():
    """16 x 16 grid: one radius step is 1/8 of the normalised radius."""
    i, j = np.meshgrid(np.arange(16), np.arange(16), indexing='ij')
    low_wave = np.cos(2 * np.pi * j / 16)  # |k| = 1: radius 0.125 -> low
    ring_wave = np.cos(2 * np.pi * 4 * i / 16)  # radius 0.5 -> excluded
    checker = (-1.0)**(i + j)  # k = (8, 8): radius 1.41 -> high
    x = torch.from_numpy(np.stack([low_wave, ring_wave, checker])[None])
    bands = radial_band_maps(x, 0.25, 0.75)
    expected_low = np.stack([low_wave, 0 * i, 0 * i])[None]
    expected_high = np.stack([0 * i, 0 * i, checker])[None]
    np.testing.assert_allclose(bands['low'].numpy(), expected_low, atol=1e-12)
    np.testing.assert_allclose(
        bands['high'].numpy(), expected_high, atol=1e-12)


def test_half_precision_is_computed_in_float32():
    x = torch.randn(1, 2, 8, 8).half()
    bands = radial_band_maps(x)
    assert bands['high'].dtype == torch.float32


def test_errors():
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        radial_band_maps(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match='high band of a 1x1'):
        radial_band_maps(torch.zeros(1, 1, 1, 1))
    with pytest.raises(ValueError, match='low_radius'):
        radial_band_maps(torch.zeros(1, 1, 8, 8), 0.8, 0.5)
