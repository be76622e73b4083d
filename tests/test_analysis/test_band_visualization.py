"""Feature summaries of the band picture against numpy."""
import numpy as np
import pytest
import torch

from mmfreqkd.analysis import (BANDS, band_summaries,
                               first_principal_direction,
                               plot_band_visualization)

from analysis_reference import numpy_band, numpy_bands, numpy_masks


def test_first_principal_direction():
    rng = np.random.default_rng(0)
    direction = np.array([3.0, -4.0, 0.0]) / 5
    rows = np.outer(rng.standard_normal(200) * 5, direction)
    rows += 0.01 * rng.standard_normal(rows.shape) + 7.0
    found = first_principal_direction(torch.from_numpy(rows)).numpy()
    # the entry of largest magnitude (-0.8) is made positive
    np.testing.assert_allclose(found, -direction, atol=1e-3)


def test_pca_summary_is_the_band_of_the_projection():
    rng = np.random.default_rng(1)
    t = rng.standard_normal((6, 9, 10))
    s = t + rng.standard_normal((6, 9, 10))
    result = band_summaries(torch.from_numpy(t), torch.from_numpy(s), 'pca')
    bands = numpy_bands(np.stack([t, s]))
    rows = bands['full'].transpose(0, 2, 3, 1).reshape(-1, 6)
    direction = np.linalg.svd(rows - rows.mean(0))[2][0]
    direction *= np.sign(direction[np.abs(direction).argmax()])
    low, high = numpy_masks(9, 10, 0.25, 0.75)
    for i, side in enumerate(('reference', 'compared')):
        projected = np.einsum('chw,c->hw', bands['full'][i], direction)
        maps = result['maps'][side]
        np.testing.assert_allclose(maps['full'], projected, atol=1e-10)
        # projecting on a fixed direction commutes with the band filters
        np.testing.assert_allclose(
            maps['low'], numpy_band(projected, low), atol=1e-10)
        np.testing.assert_allclose(
            maps['high'], numpy_band(projected, high), atol=1e-10)
    for band in BANDS:
        t_band, s_band = bands[band]
        assert result['nmse'][band] == pytest.approx(
            ((t_band - s_band)**2).sum() / (t_band**2).sum())


def test_norm_summary_and_plot(tmp_path):
    rng = np.random.default_rng(2)
    t = rng.standard_normal((4, 8, 8))
    s = rng.standard_normal((4, 8, 8))
    result = band_summaries(
        torch.from_numpy(t), torch.from_numpy(s), 'norm', standardize=False)
    low, _ = numpy_masks(8, 8, 0.25, 0.75)
    np.testing.assert_allclose(result['maps']['reference']['low'],
                               np.linalg.norm(numpy_band(t, low), axis=0))
    np.testing.assert_allclose(result['maps']['compared']['full'],
                               np.linalg.norm(s, axis=0))
    path = tmp_path / 'bands.png'
    plot_band_visualization(
        torch.randint(0, 255, (3, 112, 112), dtype=torch.uint8),
        torch.randint(0, 255, (1, 112, 112), dtype=torch.uint8),
        result, str(path), dict(reference='a(RGB)', compared='a(IR)'))
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_errors():
    with pytest.raises(ValueError, match='component'):
        band_summaries(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8), 'mean')
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        band_summaries(torch.zeros(2, 8, 8), torch.zeros(3, 8, 8))
