"""benchmarks/reports.py: the machine record and the JSON report."""
import json
import os.path as osp
import sys

import torch
from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
import reports  # noqa: E402


def test_machine_info_names_the_benchmarked_gpu(monkeypatch):
    names = {0: 'NVIDIA A100-SXM4-80GB', 1: 'NVIDIA H100 80GB HBM3'}

    def device_name(device=None):
        return names[torch.device(device).index]

    monkeypatch.setattr(torch.cuda, 'get_device_name', device_name)
    info = reports.machine_info(torch.device('cuda', 1))
    assert info['device'] == 'cuda:1'
    assert info['gpu'] == 'NVIDIA H100 80GB HBM3'
    assert info['threads'] is None
    cpu = reports.machine_info('cpu')
    assert cpu['gpu'] is None and cpu['threads'] == torch.get_num_threads()
    assert len(cpu['load_average_before']) == 3


def test_write_report_creates_the_folder(tmp_path, capsys):
    path = tmp_path / 'new' / 'folder' / 'report.json'
    reports.write_report(dict(results=[1.5]), str(path))
    assert json.loads(path.read_text()) == dict(results=[1.5])
    assert str(path) in capsys.readouterr().out
