"""Linear CKA: the Gram-matrix (HSIC) form, invariances, accumulation."""
import numpy as np
import pytest
import torch
from scipy.stats import ortho_group

from mmfreqkd.analysis import (BANDS, CrossCovariance, LinearCKA,
                               format_cka_table, linear_cka,
                               maps_to_examples)

from analysis_reference import numpy_bands, numpy_cka_hsic


def test_matches_gram_matrix_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 7)) + 3.0  # offsets: centring matters
    y = x[:, :5] @ rng.standard_normal((5, 4)) + rng.standard_normal(
        (60, 4))
    value = linear_cka(torch.from_numpy(x), torch.from_numpy(y))
    assert float(value) == pytest.approx(numpy_cka_hsic(x, y), rel=1e-10)
    assert 0 < float(value) < 1


def test_invariances():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((80, 6))
    y = rng.standard_normal((80, 6)) + x
    q = ortho_group.rvs(6, random_state=2)
    reference = float(linear_cka(torch.from_numpy(x), torch.from_numpy(y)))
    # orthogonal transform and isotropic scaling of either side
    for x_new, y_new in ((x @ q, y), (x, 3.5 * y), (2.0 * x @ q, -y @ q.T)):
        assert float(linear_cka(torch.from_numpy(x_new),
                                torch.from_numpy(y_new))) == pytest.approx(
                                    reference, rel=1e-10)
    # identical, and rotated + scaled copies, align perfectly
    assert float(linear_cka(torch.from_numpy(x),
                            torch.from_numpy(x))) == pytest.approx(1)
    assert float(linear_cka(torch.from_numpy(x), torch.from_numpy(
        -0.3 * x @ q))) == pytest.approx(1)
    # not invariant to anisotropic scaling
    skew = np.diag([10.0, 1, 1, 1, 1, 0.1])
    assert float(linear_cka(torch.from_numpy(x @ skew), torch.from_numpy(
        y))) != pytest.approx(reference, rel=1e-3)


def test_accumulation_equals_one_shot():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 5)) + 1
    y = rng.standard_normal((50, 3)) - 2 + x[:, :3]
    stats = CrossCovariance(5, 3)
    for begin, end in ((0, 7), (7, 30), (30, 50)):
        stats.add(
            torch.from_numpy(x[begin:end]), torch.from_numpy(y[begin:end]))
    assert stats.count == 50
    assert float(stats.cka()) == pytest.approx(numpy_cka_hsic(x, y),
                                               rel=1e-10)


def test_constant_side_gives_zero():
    x = torch.randn(10, 3)
    assert float(linear_cka(x, torch.ones(10, 2))) == 0


def test_maps_to_examples_pairs_positions():
    maps = torch.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    rows = maps_to_examples(maps)
    assert rows.shape == (2 * 4 * 5, 3)
    # row (b, h, w) holds the channels of that position
    assert torch.equal(rows[1 * 20 + 2 * 5 + 3], maps[1, :, 2, 3])


def test_linear_cka_maps_match_numpy():
    rng = np.random.default_rng(4)
    t = rng.standard_normal((4, 6, 8, 9))
    s = np.einsum('bchw,cd->bdhw', t, rng.standard_normal(
        (6, 5))) + rng.standard_normal((4, 5, 8, 9))
    cka = LinearCKA(0.25, 0.75)
    for begin, end in ((0, 1), (1, 4)):
        cka.update('block4', torch.from_numpy(t[begin:end]),
                   torch.from_numpy(s[begin:end]))
    results = cka.compute()
    block = results['blocks']['block4']
    assert block['num_examples'] == 4 * 8 * 9
    assert block['grid'] == [8, 9]
    t_bands, s_bands = numpy_bands(t), numpy_bands(s)
    for band in BANDS:
        expected = numpy_cka_hsic(
            t_bands[band].transpose(0, 2, 3, 1).reshape(-1, 6),
            s_bands[band].transpose(0, 2, 3, 1).reshape(-1, 5))
        assert block['cka'][band] == pytest.approx(expected, rel=1e-5)


def test_average_is_the_mean_over_blocks():
    # two blocks with different channels and grids; the average is the
    # plain (unweighted) mean of the per-block values, computed here in numpy
    rng = np.random.default_rng(6)
    maps = {}
    for name, (b, ct, cs, h, w) in (('block4', (3, 6, 5, 8, 9)),
                                    ('block9', (2, 4, 7, 6, 10))):
        t = rng.standard_normal((b, ct, h, w))
        s = np.einsum('bchw,cd->bdhw', t, rng.standard_normal(
            (ct, cs))) + 2.0 * rng.standard_normal((b, cs, h, w))
        maps[name] = t, s
    cka = LinearCKA(0.25, 0.75)
    for name, (t, s) in maps.items():
        cka.update(name, torch.from_numpy(t), torch.from_numpy(s))
    results = cka.compute()
    assert list(results['blocks']) == ['block4', 'block9']
    for band in BANDS:
        per_block = []
        for t, s in maps.values():
            t_band, s_band = numpy_bands(t)[band], numpy_bands(s)[band]
            per_block.append(numpy_cka_hsic(
                t_band.transpose(0, 2, 3, 1).reshape(-1, t.shape[1]),
                s_band.transpose(0, 2, 3, 1).reshape(-1, s.shape[1])))
        # the blocks differ, so a mean is not just either block's value
        assert abs(per_block[0] - per_block[1]) > 1e-3
        assert results['average']['cka'][band] == pytest.approx(
            np.mean(per_block), rel=1e-5)


def test_identical_and_rotated_maps_give_one():
    t = torch.randn(3, 8, 9, 10, dtype=torch.float64)
    q = torch.from_numpy(ortho_group.rvs(8, random_state=5))
    rotated = torch.einsum('bchw,cd->bdhw', t, q)
    cka = LinearCKA()
    cka.update('same', t, t.clone())
    cka.update('rotated', t, 2.0 * rotated)
    results = cka.compute()
    for name in ('same', 'rotated'):
        for band in BANDS:
            assert results['blocks'][name]['cka'][band] == pytest.approx(
                1, abs=1e-5)
    table = format_cka_table(results)
    assert 'rotated' in table and 'average' in table


def test_errors():
    cka = LinearCKA()
    with pytest.raises(ValueError, match='block1.*same B, H and W'):
        cka.update('block1', torch.zeros(2, 4, 8, 8), torch.zeros(2, 4, 8, 7))
    with pytest.raises(RuntimeError, match='before any update'):
        cka.compute()
    cka.update('block1', torch.randn(1, 4, 8, 8), torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match='block1: feature grid changed'):
        cka.update('block1', torch.randn(1, 4, 8, 9),
                   torch.randn(1, 3, 8, 9))
    assert cka.names == ('block1', )
    with pytest.raises(ValueError, match='paired example matrices'):
        linear_cka(torch.zeros(5, 2), torch.zeros(4, 2))
