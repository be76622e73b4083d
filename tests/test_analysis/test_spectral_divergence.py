"""Spectral divergence metrics against numpy and hand-worked examples."""
import csv
import io
import json
import logging

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger

from mmfreqkd.analysis import (BANDS, DIVERGENCE_METRICS, SpectralDivergence,
                               band_divergences, divergence_rows,
                               format_divergence_table, save_divergence_csv,
                               save_json)

from analysis_reference import numpy_bands, numpy_masks, numpy_metrics


def numpy_divergence(t, s, low_radius=0.25, high_radius=0.75):
    """Per band and metric: the per-sample values, (B,)."""
    t_bands = numpy_bands(t, low_radius, high_radius)
    s_bands = numpy_bands(s, low_radius, high_radius)
    return {band: numpy_metrics(t_bands[band], s_bands[band])
            for band in BANDS}


def test_band_divergences_match_numpy():
    rng = np.random.default_rng(1)
    t = rng.standard_normal((3, 4, 5, 6))
    s = t + 0.5 * rng.standard_normal(t.shape)
    result = band_divergences(torch.from_numpy(t), torch.from_numpy(s))
    expected = numpy_metrics(t, s)
    assert set(result) == set(DIVERGENCE_METRICS)
    for metric in DIVERGENCE_METRICS:
        np.testing.assert_allclose(result[metric].numpy(), expected[metric],
                                   rtol=1e-12)


def test_hand_worked_bands():
    """Same low content, different high content: only high bands differ.

    Without standardisation, T = c + a * checker and S = c + b * checker
    with a low cosine c: the low maps are both c, the high maps a * checker
    and b * checker (checker^2 = 1 everywhere).
    """
    i, j = np.meshgrid(np.arange(16), np.arange(16), indexing='ij')
    low_wave = np.cos(2 * np.pi * j / 16)
    checker = (-1.0)**(i + j)
    a, b = 0.5, -0.25
    t = torch.from_numpy(np.stack([low_wave + a * checker])[None])
    s = torch.from_numpy(np.stack([low_wave + b * checker])[None])
    divergence = SpectralDivergence(standardize=False)
    divergence.update('block0', t, s)
    mean = divergence.compute()['blocks']['block0']['mean']
    assert mean['mse']['low'] == pytest.approx(0, abs=1e-20)
    assert mean['cosine_distance']['low'] == pytest.approx(0, abs=1e-12)
    assert mean['mse']['high'] == pytest.approx((a - b)**2)
    assert mean['nmse']['high'] == pytest.approx((a - b)**2 / a**2)
    assert mean['cosine_distance']['high'] == pytest.approx(2)
    assert mean['mse']['full'] == pytest.approx((a - b)**2)


def test_accumulated_over_batches_matches_numpy():
    rng = np.random.default_rng(2)
    blocks = {}
    for name, shape in (('block3', (5, 6, 9, 10)), ('block7', (5, 4, 8,
                                                              8))):
        t = rng.standard_normal(shape)
        s = 0.7 * t + rng.standard_normal(shape)
        # smooth the student so that its high band differs more
        s[..., 1:, :] += s[..., :-1, :]
        blocks[name] = (t, s)
    divergence = SpectralDivergence(0.25, 0.75)
    for begin, end in ((0, 2), (2, 5)):  # two batches of unequal size
        for name, (t, s) in blocks.items():
            divergence.update(name, torch.from_numpy(t[begin:end]).float(),
                              torch.from_numpy(s[begin:end]).float())
    results = divergence.compute()
    assert list(results['blocks']) == ['block3', 'block7']

    block_means = {}
    for name, (t, s) in blocks.items():
        expected = numpy_divergence(t, s)
        block = results['blocks'][name]
        assert block['num_samples'] == 5
        assert block['grid'] == list(t.shape[2:])
        low_mask, high_mask = numpy_masks(*t.shape[2:], 0.25, 0.75)
        assert block['band_sizes'] == dict(
            full=t.shape[2] * t.shape[3], low=int(low_mask.sum()),
            high=int(high_mask.sum()))
        for metric in DIVERGENCE_METRICS:
            for band in BANDS:
                values = expected[band][metric]
                assert block['mean'][metric][band] == pytest.approx(
                    values.mean(), rel=1e-4, abs=1e-7)
                assert block['std'][metric][band] == pytest.approx(
                    values.std(), rel=1e-3, abs=1e-6)
            assert block['high_low_ratio'][metric] == pytest.approx(
                expected['high'][metric].mean() /
                expected['low'][metric].mean(), rel=1e-4)
        block_means[name] = {
            metric: {band: expected[band][metric].mean()
                     for band in BANDS}
            for metric in DIVERGENCE_METRICS
        }

    average = results['average']
    for metric in DIVERGENCE_METRICS:
        high = np.mean([m[metric]['high'] for m in block_means.values()])
        low = np.mean([m[metric]['low'] for m in block_means.values()])
        assert average['mean'][metric]['high'] == pytest.approx(
            high, rel=1e-4)
        assert average['high_low_ratio'][metric] == pytest.approx(
            high / low, rel=1e-4)
        assert average['mean_block_ratio'][metric] == pytest.approx(
            np.mean([m[metric]['high'] / m[metric]['low']
                     for m in block_means.values()]), rel=1e-4)


def test_identical_maps_give_zero_divergence(tmp_path):
    x = torch.randn(3, 8, 10, 12)
    divergence = SpectralDivergence()
    divergence.update('block1', x, x.clone())
    results = divergence.compute()
    for metric in DIVERGENCE_METRICS:
        for band in BANDS:
            assert results['blocks']['block1']['mean'][metric][
                band] == pytest.approx(0, abs=1e-6)
    # 0 / 0 ratios are NaN in Python and null in the (strict) JSON file
    assert np.isnan(results['average']['high_low_ratio']['mse'])
    save_json(dict(results=results), str(tmp_path / 'out.json'))
    loaded = json.loads((tmp_path / 'out.json').read_text())
    assert loaded['results']['average']['high_low_ratio']['mse'] is None


def test_csv_rows_and_table(tmp_path):
    divergence = SpectralDivergence()
    x = torch.randn(2, 4, 8, 8)
    for name in ('block5', 'block9'):
        divergence.update(name, x, x + torch.randn_like(x))
    results = divergence.compute()
    rows = divergence_rows(results)
    assert len(rows) == 3 * len(DIVERGENCE_METRICS)
    assert [r['block'] for r in rows[-3:]] == ['average'] * 3
    path = tmp_path / 'd.csv'
    save_divergence_csv(results, str(path))
    with open(path) as f:
        read = list(csv.DictReader(f))
    assert read[0].keys() == rows[0].keys()
    assert float(read[0]['high']) == pytest.approx(
        results['blocks']['block5']['mean']['mse']['high'])
    table = format_divergence_table(results)
    assert 'block9' in table and 'high/low' in table and 'average' in table


def test_errors():
    divergence = SpectralDivergence()
    with pytest.raises(ValueError, match='block2.*same shape'):
        divergence.update('block2', torch.zeros(1, 4, 8, 8),
                          torch.zeros(1, 5, 8, 8))
    with pytest.raises(RuntimeError, match='before any update'):
        divergence.compute()
    divergence.update('block2', torch.randn(1, 4, 8, 8),
                      torch.randn(1, 4, 8, 8))
    with pytest.raises(ValueError, match='grid changed'):
        divergence.update('block2', torch.randn(1, 4, 8, 9),
                          torch.randn(1, 4, 8, 9))


def test_low_band_of_the_zero_frequency_only_is_warned_once_per_grid():
    """On a 16 x 16 grid one frequency step is 1/8 of the normalised radius:
    a low radius of 0.1 keeps the zero frequency alone (the channel means),
    which the analysis says once per grid; 0.125 keeps five frequencies."""
    logger = MMLogger.get_instance('test_zero_frequency_low_band')
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    x = torch.randn(2, 3, 16, 16)
    try:
        divergence = SpectralDivergence(low_radius=0.1, high_radius=0.75)
        for name in ('block1', 'block2'):
            divergence.update(name, x, x.flip(-1))
        divergence.update('block3', x[..., :12], x[..., :12].flip(-1))
        wider = SpectralDivergence(low_radius=0.125, high_radius=0.75)
        wider.update('block1', x, x.flip(-1))
    finally:
        logger.removeHandler(handler)
    messages = console.getvalue().splitlines()
    assert len(messages) == 2
    assert 'low band of a 16x16 feature map holds only the zero frequency' \
        in messages[0] and 'low_radius=0.1' in messages[0]
    assert '16x12' in messages[1]
    assert divergence.compute()['blocks']['block1']['band_sizes']['low'] == 1
    assert wider.compute()['blocks']['block1']['band_sizes']['low'] == 5
