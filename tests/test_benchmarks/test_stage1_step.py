"""benchmarks/stage1_step.py: FLOP count, agreement of the straightforward
and the packaged step, and an end-to-end run writing its JSON."""
import json
import os.path as osp
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
import stage1_step  # noqa: E402

TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=2,
                 feedforward_channels=64)
CPU = torch.device('cpu')


@pytest.fixture(scope='module')
def tiny():
    """The packaged and the straightforward tiny Stage-1 models."""
    cfg = stage1_step.load_stage1_config()
    built = stage1_step.build_implementations(
        cfg, TINY_ARCH, (1, 3), batch=2, device=CPU, amp=False,
        teacher_dtype='auto')
    return cfg, built


def test_analytic_flops_match_the_counted_matrix_products(tiny):
    """On the straightforward step (eager attention: every product is a
    counted matmul) the analytic count is exact."""
    cfg, (_, _, naive, _) = tiny
    data = stage1_step.make_batch(2, width=56, height=42)
    with FlopCounterMode(display=False) as counter:
        naive(data['inputs']['rgb'], data['inputs']['ir']).backward()
    patches = 3 * 4
    expected = stage1_step.stage1_flops(
        TINY_ARCH, tokens=patches + 5, patches=patches, blocks=4,
        lora_rank=cfg.model.student_lora.rank, batch=2)
    assert counter.get_total_flops() == expected
    # without the teacher: the teacher forward is gone, nothing else
    teacher = stage1_step.vit_flops(TINY_ARCH, patches + 5, patches, 4)
    teacher_forward = sum(teacher[k] for k in ('patch_embed', 'linear',
                                                'attention', 'lora'))
    assert stage1_step.stage1_flops(
        TINY_ARCH, patches + 5, patches, 4, cfg.model.student_lora.rank,
        2, with_teacher=False) == expected - 2 * teacher_forward


def test_straightforward_and_packaged_steps_agree(tiny):
    cfg, (model, optim_wrapper, naive, optimizer) = tiny
    data = stage1_step.make_batch(2, width=60, height=40, seed=1)
    steps = stage1_step.step_functions(model, optim_wrapper, naive,
                                       optimizer, data, CPU, amp=False)
    # both start from the same weights (LoRA B = 0, so dropout is moot)
    packaged = steps['fast']()
    plain = steps['naive']()
    assert plain == pytest.approx(packaged, rel=1e-4)
    assert packaged > 0
    # the straightforward model shares the frozen weights only
    assert naive.teacher.blocks[0].attn.qkv.weight is \
        model.teacher.blocks[0].attn.qkv.weight
    lora_a = naive.student.blocks[0].attn.qkv.lora_A
    assert lora_a is not model.student.blocks[0].attn.qkv.lora_A
    assert isinstance(naive.teacher.blocks[0].attn,
                      stage1_step.EagerAttention)


def test_peak_tflops_picks_the_entry_of_the_device_name(monkeypatch):
    assert stage1_step.peak_tflops(CPU, None) is None
    assert stage1_step.peak_tflops(CPU, 1.5) == 1.5
    cuda = torch.device('cuda')
    peaks = {}
    for name in ('NVIDIA H100 PCIe', 'NVIDIA H100 80GB HBM3', 'NVIDIA H200',
                 'NVIDIA GeForce GTX 1080'):
        monkeypatch.setattr(torch.cuda, 'get_device_name',
                            lambda device=None, name=name: name)
        peaks[name] = stage1_step.peak_tflops(cuda, None)
        # an explicit peak wins over the known default
        assert stage1_step.peak_tflops(cuda, 123.0) == 123.0
    table = dict(stage1_step.PEAK_BF16_TFLOPS)
    # 'H100 PCIe' is matched before its substring 'H100'
    assert peaks['NVIDIA H100 PCIe'] == table['H100 PCIe']
    assert peaks['NVIDIA H100 80GB HBM3'] == table['H100']
    assert peaks['NVIDIA H100 PCIe'] < peaks['NVIDIA H100 80GB HBM3']
    assert peaks['NVIDIA H200'] == table['H200']
    assert peaks['NVIDIA GeForce GTX 1080'] is None


def test_end_to_end_run_writes_json(tmp_path, capsys):
    out = tmp_path / 'results' / 'stage1.json'  # folder not there yet
    stage1_step.main([
        '--archs', 'tiny', '--size', '56', '42', '--batch', '1',
        '--warmup', '1', '--repeats', '1', '--device', 'cpu', '--json',
        str(out)
    ], archs=dict(tiny=(TINY_ARCH, (1, 3))))
    written = json.loads(out.read_text())
    assert written['machine']['device'] == 'cpu'
    results = {r['variant']: r for r in written['results']}
    assert set(results) == {'naive', 'fast', 'cached'}
    for result in results.values():
        assert result['grid'] == [3, 4]
        assert result['tokens'] == 12 + 5  # 4 registers + class token
        assert result['images_per_s'] == pytest.approx(
            1e3 / result['step_ms'])
        assert result['mfu'] is None  # no peak known for a CPU
    # every first step starts from the same weights, cached too (it shares
    # the packaged model with fast, whose first step came before)
    naive_loss = results['naive']['first_step_loss']
    assert results['naive']['loss_rel_diff_vs_naive'] is None
    for variant in ('fast', 'cached'):
        loss = results[variant]['first_step_loss']
        assert results[variant]['loss_rel_diff_vs_naive'] == pytest.approx(
            abs(loss - naive_loss) / naive_loss)
        assert results[variant]['loss_rel_diff_vs_naive'] < 1e-5
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith('| ViT-T/14 |')]
    assert [row.split(' | ')[1] for row in rows] == ['naive', 'fast',
                                                     'cached']
    assert rows[0].endswith('| - |') and not rows[1].endswith('| - |')
    assert results['cached']['flops_per_step'] < \
        results['fast']['flops_per_step'] == \
        results['naive']['flops_per_step']
