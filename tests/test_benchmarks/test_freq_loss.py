"""benchmarks/freq_loss.py end to end on tiny maps."""
import json
import os.path as osp
import sys

import pytest
from conftest import REPO_ROOT

from mmfreqkd.models.freq import FFTRectSplitter

sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
import freq_loss  # noqa: E402


def test_freq_loss_benchmark_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / 'results' / 'freq_loss.json'
    report = freq_loss.main([
        '--batch', '2', '--channels', '8', '--height', '7', '--width', '9',
        '--layers', '2', '--repeats', '2', '--json', str(out)
    ])
    table = capsys.readouterr().out
    methods = ('mse', 'mse_std', 'freqkd', 'freqkd_rfft', 'freqkd_unfused',
               'naive', 'band_ops', 'band_ops_unpadded')
    for name in methods:
        assert f'| {name} |' in table
    saved = json.loads(out.read_text())
    assert saved['args']['layers'] == 2
    results = saved['results']
    assert set(results) == set(methods) == set(report['results'])
    for name in methods:
        assert len(results[name]['runs_ms']) == 2
        assert results[name]['ms'] > 0
    # the fused loss keeps 2 new maps per pair, autograd far more
    map_mib = 2 * 8 * 7 * 9 * 4 / 2**20
    assert results['freqkd']['saved_mib'] == 2 * 2 * map_mib
    assert results['freqkd_unfused']['saved_mib'] > \
        2 * results['freqkd']['saved_mib']
    assert results['band_ops']['saved_mib'] == 0
    assert results['band_ops_unpadded']['saved_mib'] == 0
    assert all(diff < 1e-4 for diff in
               saved['relative_difference_to_naive'].values())
    bound = saved['arithmetic_bound']
    # cutoff 0.5 on 7 x 9 keeps row frequencies {-1, 0} (the constant and
    # the cosine and sine of the half-kept edge wave: k_h = 3) and columns
    # {-2, ..., 1} (k_w = 3 + 2 = 5, not padded: 3 more is over an eighth):
    # 7*9*5 + 3*7*5 + 7*3*5 + 7*5*9 = 840 multiply-adds per map,
    # 3 applications, 2 layers of 2 x 8 maps
    assert bound['band_ops_gflop'] == pytest.approx(
        2 * 840 * 3 * 2 * 2 * 8 / 1e9)
    assert bound['gemm_peak_gflops'] > 0
    assert bound['band_ops_at_peak_ms'] == pytest.approx(
        bound['band_ops_gflop'] / bound['gemm_peak_gflops'] * 1e3)
    assert bound['band_ops_at_peak_x_mse'] == pytest.approx(
        bound['band_ops_at_peak_ms'] / results['mse']['ms'])
    assert 'best square matrix product here' in table


def test_band_operator_flops_on_the_vit_l_grid():
    # cutoff 0.5 keeps 19 of 37 row frequencies (17 whole, the half-kept
    # edge wave's cosine and sine) and 23 of 46 columns, padded to 24:
    # 37*46*24 + 19*37*24 + 37*19*24 + 37*24*46 = 115440 multiply-adds per
    # map, 3 applications, 5 layers of 8 x 1024 maps
    gflop = freq_loss.band_operator_gflop(FFTRectSplitter(),
                                          (8, 1024, 37, 46), 5)
    assert gflop == pytest.approx(2 * 115440 * 3 * 5 * 8 * 1024 / 1e9)
