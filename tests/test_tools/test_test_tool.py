"""tools/test.py: Stage-1 tests see the frozen weights of training, other
models load their checkpoint strictly (one that does not fit is an error
naming the file and the keys, not metrics of random weights), and
--show-dir turns on the visualization hook of every downstream library."""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmengine.runner import CheckpointLoader

from conftest import REPO_ROOT, load_tool
from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.utils import load_run_config

test_tool = load_tool('tools/test.py')
QUICKSTART = osp.join(REPO_ROOT, 'configs', 'freqkd', 'quickstart_kaist_vits.py')
DETECTOR = osp.join(REPO_ROOT, 'configs', 'transfer',
                    'kaist_faster_rcnn_r50_fpn_baseline.py')


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


@pytest.fixture(scope='module')
def tiny_detector(tmp_path_factory):
    """A Stage-2 config (not a distiller), shrunk: Faster R-CNN R18 with a
    32-channel FPN on synthetic KAIST; and a checkpoint of its model.

    Returns:
        tuple[str, str, dict]: The config file, the checkpoint and its
        state dict.
    """
    work = tmp_path_factory.mktemp('detector')
    root = str(work / 'kaist') + '/'
    make_synthetic_dataset('kaist', root, num=4, seed=0, size=(84, 70))
    ann = root + 'annotations/test-all-20.json'
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(84, 70), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor', 'is_night', 'frame')),
    ]
    config = work / 'tiny_detector.py'
    config.write_text(
        f'_base_ = [{DETECTOR!r}]\n'
        "experiment_name = 'tiny_detector'  # each test sets its own\n"
        'model = dict(\n'
        '    backbone=dict(depth=18, init_cfg=None),\n'
        '    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),\n'
        '    rpn_head=dict(in_channels=32, feat_channels=32),\n'
        '    roi_head=dict(bbox_roi_extractor=dict(out_channels=32),\n'
        '                  bbox_head=dict(in_channels=32, '
        'fc_out_channels=64)))\n'
        'test_dataloader = dict(num_workers=0, persistent_workers=False,\n'
        f'    dataset=dict(data_root={root!r}, serialize_data=False,\n'
        f'                 pipeline={pipeline!r}))\n'
        f"test_evaluator = [dict(type='CocoMetric', ann_file={ann!r}, "
        "metric='bbox'),\n"
        f"    dict(type='KAISTMissRateMetric', ann_file={ann!r})]\n")
    cfg = Config.fromfile(str(config))
    torch.manual_seed(3)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    state = model.state_dict()
    checkpoint = str(work / 'detector.pth')
    torch.save(dict(state_dict=state, meta=dict()), checkpoint)
    return str(config), checkpoint, state


def tool_args(config, checkpoint, tmp_path, name):
    return [
        config, checkpoint, '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', f'experiment_name={name}'
    ]


def test_non_distiller_evaluates_its_checkpoint_loaded_once(
        tiny_detector, tmp_path, monkeypatch):
    config, checkpoint, state = tiny_detector
    reads = []
    load = CheckpointLoader.load_checkpoint

    def counting_load(filename, *args, **kwargs):
        reads.append(filename)
        return load(filename, *args, **kwargs)

    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint', counting_load)
    runner = test_tool.build_runner_from_args(
        test_tool.parse_args(
            tool_args(config, checkpoint, tmp_path, 'test_matching')))
    metrics = test_tool.run_test(runner)
    assert 'coco/bbox_mAP_50' in metrics and 'kaist/MR_all' in metrics
    assert reads == [checkpoint]  # strict, and not read a second time
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    # the checks are gone once the test has run
    assert not runner.model._load_state_dict_pre_hooks
    assert not runner.model._load_state_dict_post_hooks


def run_main_expecting_error(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        test_tool.main(args)
    assert exit_info.value.code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith('error: CheckpointMismatchError: ')
    return last


def test_checkpoint_of_another_model_is_an_error(tiny_detector, tmp_path,
                                                 capsys):
    config, _, _ = tiny_detector
    wrong = str(tmp_path / 'wrong.pth')
    torch.save({'state_dict': {'foo.bar': torch.zeros(2)}}, wrong)
    last = run_main_expecting_error(
        tool_args(config, wrong, tmp_path, 'test_wrong'), capsys)
    assert wrong in last
    assert 'does not fit the FasterRCNN' in last
    assert 'missing keys: ' in last and 'backbone.conv1.weight' in last
    assert 'unexpected keys: 1 (foo.bar)' in last
    # no metrics were computed
    assert not any('bbox_mAP' in path.read_text()
                   for path in (tmp_path / 'work').rglob('*.json'))


def test_partial_or_mis_shaped_checkpoint_is_an_error(tiny_detector,
                                                      tmp_path, capsys):
    config, _, state = tiny_detector
    # the detector without its box head
    partial = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': {k: v for k, v in state.items()
                               if not k.startswith('roi_head.bbox_head.')}},
               partial)
    heads = sum(k.startswith('roi_head.bbox_head.') for k in state)
    last = run_main_expecting_error(
        tool_args(config, partial, tmp_path, 'test_partial'), capsys)
    assert partial in last
    assert f'missing keys: {heads} (roi_head.bbox_head.' in last
    assert 'unexpected' not in last
    # a detector of more classes: shapes differ
    other = dict(state)
    key = 'roi_head.bbox_head.fc_cls.weight'
    other[key] = torch.zeros(81, state[key].shape[1])
    mis_shaped = str(tmp_path / 'classes.pth')
    torch.save({'state_dict': other}, mis_shaped)
    last = run_main_expecting_error(
        tool_args(config, mis_shaped, tmp_path, 'test_shapes'), capsys)
    assert mis_shaped in last
    assert (f'keys whose shape differs: 1 ({key}: checkpoint (81, 64) vs '
            f'model {tuple(state[key].shape)})') in last


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
                                  'flir_crops_rgb_teacher.py',
                                  'flir_crops_freqkd_figkd.py'])
def test_show_dir_enables_the_mmpretrain_hook(tmp_path, name):
    cfg = load_run_config(
        osp.join(REPO_ROOT, 'configs', 'figkd', name), None,
        str(tmp_path / 'work'), 'none')
    assert cfg.default_hooks.visualization['enable'] is False  # training
    test_tool.enable_visualization(cfg, show_dir_args(tmp_path))
    hook = cfg.default_hooks.visualization
    assert hook['enable'] is True and 'draw' not in hook
    assert hook['out_dir'] == str(tmp_path / 'vis')
