"""benchmarks/backbone.py end to end on a tiny input."""
import json
import os.path as osp
import sys

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
import backbone  # noqa: E402


def test_backbone_benchmark_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / 'results' / 'backbone.json'  # folder not there yet
    report = backbone.main([
        '--archs', 'small', '--height', '28', '--width', '40', '--repeats',
        '2', '--json', str(out)
    ])
    table = capsys.readouterr().out
    assert '| ViT-S/14 reg4 | 2 x 3 |' in table
    saved = json.loads(out.read_text())
    assert set(saved) == {'machine', 'args', 'results'}
    assert saved['machine']['device'] == 'cpu'
    assert 'load_average_after' in saved['machine']
    assert saved['args']['repeats'] == 2
    assert saved['results'] == report['results']
    (result, ) = saved['results']
    assert result['arch'] == 'small' and result['grid'] == [2, 3]
    assert result['max_abs_diff'] == 0
    for key in ('ours', 'timm'):
        assert len(result['runs_ms'][key]) == 2
        assert len(result['runs_cpu_ms'][key]) == 2
        assert result['ms'][key] > 0
    assert result['time_ratio'] == result['ms']['ours'] / \
        result['ms']['timm']
