"""Stage-1 configs: every config builds its model and dataset; the quick
start lowers the distillation loss; the main config runs on synthetic data
through --cfg-options; the student exports for Stage 2."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, DefaultScope
from mmengine.runner import LogProcessor, Runner

import mmfreqkd  # noqa: F401
from conftest import REPO_ROOT, load_tool
from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.utils import seed_like_runner

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'freqkd')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
LAYOUT_OF = dict(kaist='kaist', flir='flir', mfnet='mfnet', quickstart='kaist')

train_tool = load_tool('tools/train.py')
export_tool = load_tool('tools/model_converters/export_student.py')


@pytest.fixture(scope='module')
def synthetic_roots(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    roots = {}
    for layout in ('kaist', 'flir', 'mfnet'):
        roots[layout] = str(root / layout) + '/'
        make_synthetic_dataset(layout, roots[layout], num=8, seed=0,
                               size=(168, 140))
    return roots


# Every Stage-1 config, spelled out: adding, renaming or removing one
# without updating this list (and so reviewing its coverage) fails.
EXPECTED_CONFIGS = [
    'flir_vit.py',
    'kaist_r50.py',
    'kaist_vit.py',
    'kaist_vit_cosine.py',
    'kaist_vit_cutoff0.1.py',
    'kaist_vit_cutoff0.25.py',
    'kaist_vit_cutoff0.75.py',
    'kaist_vit_dct.py',
    'kaist_vit_full_ft.py',
    'kaist_vit_gaussian.py',
    'kaist_vit_haar.py',
    'kaist_vit_high_only.py',
    'kaist_vit_lora_r128.py',
    'kaist_vit_lora_r16.py',
    'kaist_vit_low_only.py',
    'kaist_vit_mse.py',
    'kaist_vit_radial.py',
    'mfnet_vit.py',
    'quickstart_kaist_vits.py',
    'quickstart_kaist_vits_teacher_cache.py',
]


def test_every_stage1_config_is_covered():
    names = [osp.basename(c) for c in CONFIGS]
    assert names == EXPECTED_CONFIGS


REMOVED = '<removed>'  # a key of kaist_vit.py that the ablation deletes
BAND_SPLIT_KEYS_REMOVED = {
    f'model.loss.{key}': REMOVED
    for key in ('splitter', 'low_weight', 'high_weight', 'low_distance',
                'high_distance')
}
# What each ablation changes in the resolved kaist_vit.py (README,
# "Ablations"): nested dict keys joined by dots, other values (lists,
# tuples, None) compared whole. kaist_r50.py is left out: it replaces the
# student, the teacher blocks and the pairs, a new model rather than one
# changed setting; test_config_builds_model_and_dataset covers it.
ABLATION_CHANGES = {
    'kaist_vit_cosine.py': {
        'model.loss.type': 'FeatureCosineLoss', **BAND_SPLIT_KEYS_REMOVED},
    'kaist_vit_cutoff0.1.py': {'model.loss.splitter.cutoff': 0.1},
    'kaist_vit_cutoff0.25.py': {'model.loss.splitter.cutoff': 0.25},
    'kaist_vit_cutoff0.75.py': {'model.loss.splitter.cutoff': 0.75},
    'kaist_vit_dct.py': {'model.loss.splitter.type': 'DCTSplitter'},
    'kaist_vit_full_ft.py': {
        'model.student_lora': None,
        'model_wrapper_cfg': dict(type='MMDistributedDataParallel',
                                  find_unused_parameters=True)},
    'kaist_vit_gaussian.py': {
        'model.loss.splitter.type': 'GaussianSplitter',
        'model.loss.splitter.cutoff': REMOVED},
    'kaist_vit_haar.py': {
        'model.loss.splitter.type': 'HaarDWTSplitter',
        'model.loss.splitter.cutoff': REMOVED,
        'model.loss.splitter.levels': 1},
    'kaist_vit_high_only.py': {'model.loss.low_weight': 0.0},
    'kaist_vit_lora_r128.py': {
        'model.student_lora.rank': 128, 'model.student_lora.alpha': 128},
    'kaist_vit_lora_r16.py': {
        'model.student_lora.rank': 16, 'model.student_lora.alpha': 16},
    'kaist_vit_low_only.py': {'model.loss.high_weight': 0.0},
    'kaist_vit_mse.py': {
        'model.loss.type': 'FeatureMSELoss', **BAND_SPLIT_KEYS_REMOVED},
    'kaist_vit_radial.py': {'model.loss.splitter.type': 'FFTRadialSplitter'},
}


def changed_keys(base, other, prefix=''):
    """Flattened differences: dotted key -> ``other``'s value (``REMOVED``
    where ``other`` lacks the key); recurses where both values are dicts."""
    changes = {}
    for key in base.keys() | other.keys():
        old, new = base.get(key, REMOVED), other.get(key, REMOVED)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.update(changed_keys(old, new, f'{prefix}{key}.'))
        elif old != new:
            changes[f'{prefix}{key}'] = new
    return changes


@pytest.fixture(scope='module')
def main_config():
    return Config.fromfile(osp.join(CONFIG_DIR, 'kaist_vit.py')).to_dict()


@pytest.mark.parametrize(
    'name', sorted(osp.basename(p)
                   for p in glob.glob(osp.join(CONFIG_DIR, 'kaist_vit_*.py'))))
def test_ablation_changes_only_its_setting(name, main_config):
    assert name in ABLATION_CHANGES, 'state what the new ablation changes'
    ablation = Config.fromfile(osp.join(CONFIG_DIR, name)).to_dict()
    assert changed_keys(main_config, ablation) == ABLATION_CHANGES[name]


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_model_and_dataset(path, synthetic_roots, tmp_path):
    cfg = Config.fromfile(path)
    teacher_init = cfg.model.teacher.get('init_cfg')
    if teacher_init is not None:
        # the weights are not read (meta device), but the path must exist
        fake = tmp_path / 'dinov2.pth'
        fake.touch()
        cfg.model.teacher.init_cfg.checkpoint = str(fake)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        assert type(model).__name__ == 'FreqKDDistiller'
        assert len(model.distill_pairs) == len(cfg.model.distill_pairs)
        assert not any(p.requires_grad for p in model.teacher.parameters())

        layout = LAYOUT_OF[osp.basename(path).split('_')[0]]
        dataset_cfg = cfg.train_dataloader.dataset
        dataset_cfg.data_root = synthetic_roots[layout]
        dataset = DATASETS.build(dataset_cfg)
        sample = dataset[0]
    assert set(sample['inputs']) == {'ir', 'rgb'}
    assert sample['inputs']['ir'].shape[-2:] == \
        sample['inputs']['rgb'].shape[-2:]


@pytest.mark.parametrize('name', ['kaist_vit.py', 'kaist_vit_full_ft.py'])
def test_ddp_is_told_of_unused_parameters_when_there_are(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    # ViT-S with the main config's last distilled block the last block
    blocks = (3, 7, 9, 10, 11)
    for role in ('teacher', 'student'):
        cfg.model[role].update(arch='small', out_indices=blocks, init_cfg=None)
    cfg.model.allow_random_teacher = True
    cfg.model.allow_random_student = True
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    images = torch.randn(1, 3, 56, 70)
    losses = model(dict(rgb=images, ir=images.flip(-1)), mode='loss')
    sum(losses.values()).backward()
    unused = [name for name, p in model.named_parameters()
              if p.requires_grad and p.grad is None]
    wrapper = cfg.get('model_wrapper_cfg', {})
    assert bool(unused) == wrapper.get('find_unused_parameters', False), \
        unused


def test_quick_start_tools_rebuild_the_runner_weights(tmp_path):
    # a Runner seeds, then builds; export and analysis build after
    # seed_like_runner: the same random teacher and student weights
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'quickstart_kaist_vits.py'))
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg.copy())
    torch.manual_seed(1234)  # whatever state the tool starts from
    seed_like_runner(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        rebuilt = MODELS.build(cfg.model)
    expected = dict(runner.model.named_parameters())
    for name, param in rebuilt.named_parameters():
        assert torch.equal(param, expected[name]), name


def read_scalars(work_dir):
    path, = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_validation_losses_are_logged_unsmoothed(path):
    # LogProcessor averages the keys its mean_pattern matches over the
    # window, validation metrics included (keys without the val/ prefix)
    processor = LogProcessor(**{
        k: v
        for k, v in Config.fromfile(path).log_processor.items() if k != 'type'
    })
    for key in ('distill/loss', 'distill/loss_block7_low'):
        assert processor.mean_pattern.search(key) is None
    for key in ('loss', 'loss_block7_high', 'time', 'grad_norm'):
        assert processor.mean_pattern.search(key) is not None


def test_quick_start_lowers_the_loss_and_exports(synthetic_roots, tmp_path):
    work_dir = str(tmp_path / 'work')
    root = synthetic_roots['kaist']
    train_tool.main([
        osp.join(CONFIG_DIR, 'quickstart_kaist_vits.py'), '--work-dir',
        work_dir, '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        # the first four blocks only: a quarter of the compute
        'model.teacher.out_indices=(1,2,3)', 'model.student.out_indices=(1,2,3)',
        'train_dataloader.batch_size=3', 'train_cfg.max_epochs=4',
        'optim_wrapper.optimizer.lr=0.003', 'default_hooks.logger.interval=1',
        'log_processor.window_size=1'
    ])
    scalars = read_scalars(work_dir)
    train = [s['loss'] for s in scalars if 'loss' in s and 'lr' in s]
    val = [s['distill/loss'] for s in scalars if 'distill/loss' in s]
    assert len(train) == 8 and len(val) == 4
    assert sum(train[-3:]) < sum(train[:3])
    assert val[-1] < val[0]

    ckpt = osp.join(work_dir, 'epoch_4.pth')
    saved = torch.load(ckpt, weights_only=False)['state_dict']
    assert saved and all('.lora_' in k for k in saved)
    out = str(tmp_path / 'student.pth')
    export_tool.main([
        osp.join(CONFIG_DIR, 'quickstart_kaist_vits.py'), ckpt, out,
        '--lora-scale', '0.5'
    ])
    exported = torch.load(out, weights_only=False)
    # the base weights are random: rebuilt from the config's seed, the same
    again = str(tmp_path / 'student_again.pth')
    export_tool.main([
        osp.join(CONFIG_DIR, 'quickstart_kaist_vits.py'), ckpt, again
    ])
    again = torch.load(again, weights_only=False)['state_dict']
    for key, value in exported['state_dict'].items():
        assert torch.equal(value, again[key]), key
    keys = exported['state_dict']
    assert all(k.startswith('backbone.') for k in keys)
    assert 'backbone.blocks.0.attn.qkv.weight' in keys
    assert not any('lora_' in k for k in keys)
    assert exported['meta']['lora_scale'] == 0.5


def test_main_config_runs_on_synthetic_data_via_cfg_options_and_resumes(
        synthetic_roots, tmp_path):
    root = synthetic_roots['kaist']
    blocks = '(1,2,3,4,5)'  # ViT-S blocks: the first six blocks only run
    work_dir = str(tmp_path / 'main')
    config = osp.join(CONFIG_DIR, 'kaist_vit.py')
    options = [
        'model.teacher.arch=small', 'model.student.arch=small',
        f'model.teacher.out_indices={blocks}',
        f'model.student.out_indices={blocks}', 'model.teacher.init_cfg=None',
        'model.student.init_cfg=None', 'model.allow_random_teacher=True',
        'model.allow_random_student=True',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=3', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False'
    ]
    train_tool.main([config, '--work-dir', work_dir, '--cfg-options'] +
                    options + ['train_cfg.max_epochs=1'])
    scalars = read_scalars(work_dir)
    val = [s for s in scalars if 'distill/loss' in s]
    assert len(val) == 1
    # pair names come from the config (ViT-L block numbers), the maps from
    # the ViT-S blocks given in out_indices
    for block in (7, 15, 19, 21, 23):
        assert f'distill/loss_block{block}_low' in val[0]
        assert f'distill/loss_block{block}_high' in val[0]
    first = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=False)
    assert first['meta']['epoch'] == 1

    # --resume (latest checkpoint of the work dir) continues with epoch 2
    train_tool.main([config, '--work-dir', work_dir, '--resume',
                     '--cfg-options'] + options + ['train_cfg.max_epochs=2'])
    second = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=False)
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 2 * first['meta']['iter']
    assert set(second['state_dict']) == set(first['state_dict'])
    assert any(not torch.equal(first['state_dict'][k], second['state_dict'][k])
               for k in first['state_dict'])
