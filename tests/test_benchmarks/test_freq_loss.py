"""benchmarks/freq_loss.py end to end on tiny maps."""
import json
import os.path as osp
import sys

from conftest import REPO_ROOT

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
