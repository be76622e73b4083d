"""tools/test.py: Stage-1 tests see the frozen weights of training, and
--show-dir turns on the visualization hook of every downstream library."""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from conftest import REPO_ROOT, load_tool
from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.utils import load_run_config

test_tool = load_tool('tools/test.py')
QUICKSTART = osp.join(REPO_ROOT, 'configs', 'freqkd', 'quickstart_kaist_vits.py')


def test_stage1_test_loads_the_frozen_weights_from_init_cfg(tmp_path):
    root = str(tmp_path / 'kaist') + '/'
    make_synthetic_dataset('kaist', root, num=4, seed=0, size=(84, 70))
    # "pretrained" ViT-S weights in a file, as the DINOv2 weights would be
    cfg = Config.fromfile(QUICKSTART)
    torch.manual_seed(7)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        vit = MODELS.build(dict(cfg.model.student, init_cfg=None))
    weights = str(tmp_path / 'vits.pth')
    torch.save(vit.state_dict(), weights)
    config = tmp_path / 'stage1.py'
    config.write_text(
        f'_base_ = [{QUICKSTART!r}]\n'
        "pretrained = dict(_delete_=True, type='Pretrained',\n"
        f'                  checkpoint={weights!r})\n'
        'model = dict(teacher=dict(init_cfg=pretrained),\n'
        '             student=dict(init_cfg=pretrained),\n'
        '             allow_random_teacher=False)\n'
        f'test_dataloader = dict(dataset=dict(data_root={root!r}))\n')
    cfg = Config.fromfile(str(config))
    # a Stage-1 checkpoint: the LoRA adapters only
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        distiller = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'stage1.pth')
    torch.save(dict(state_dict=distiller.state_dict()), checkpoint)

    runner = test_tool.build_runner_from_args(
        test_tool.parse_args(
            [str(config), checkpoint, '--work-dir',
             str(tmp_path / 'work')]))
    metrics = test_tool.run_test(runner)
    assert 'distill/loss' in metrics
    expected = vit.state_dict()
    for role in ('teacher', 'student'):
        model = getattr(runner.model, role)
        for key in ('blocks.0.attn.qkv.weight', 'blocks.0.mlp.fc1.weight'):
            assert torch.equal(model.state_dict()[key], expected[key]), \
                f'{role}.{key}'


def show_dir_args(tmp_path):
    return argparse.Namespace(
        show=False, show_dir=str(tmp_path / 'vis'), wait_time=2)


@pytest.mark.parametrize('name, folder_key', [
    ('kaist_faster_rcnn_r50_fpn_baseline.py', 'test_out_dir'),
    ('mfnet_linear_probe_vitl_baseline.py', None),
])
def test_show_dir_turns_on_the_downstream_hook(tmp_path, name, folder_key):
    cfg = load_run_config(
        osp.join(REPO_ROOT, 'configs', 'transfer', name), None,
        str(tmp_path / 'work'), 'none')
    test_tool.enable_visualization(cfg, show_dir_args(tmp_path))
    hook = cfg.default_hooks.visualization
    assert hook['draw'] is True
    if folder_key:
        assert hook[folder_key] == str(tmp_path / 'vis')
    else:  # mmseg draws through the visualizer
        assert cfg.visualizer['save_dir'] == str(tmp_path / 'vis')


@pytest.mark.parametrize('name', ['cifar100_figkd.py',
                                  'flir_crops_rgb_teacher.py'])
def test_show_dir_enables_the_mmpretrain_hook(tmp_path, name):
    cfg = load_run_config(
        osp.join(REPO_ROOT, 'configs', 'figkd', name), None,
        str(tmp_path / 'work'), 'none')
    assert cfg.default_hooks.visualization['enable'] is False  # training
    test_tool.enable_visualization(cfg, show_dir_args(tmp_path))
    hook = cfg.default_hooks.visualization
    assert hook['enable'] is True and 'draw' not in hook
    assert hook['out_dir'] == str(tmp_path / 'vis')
