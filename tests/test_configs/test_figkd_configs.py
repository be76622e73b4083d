"""The FiGKD / KD configs: CIFAR-100 read from its standard files, models and
datasets built, the teacher-then-student chain run by the mmengine Runner,
and the paired-crop config logging FreqKD and FiGKD terms together."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.datasets import CIFAR100
from mmpretrain.registry import DATASETS, MODELS

import mmfreqkd  # noqa: F401
from mmfreqkd.datasets.synthetic import make_synthetic_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'figkd')


pytestmark = pytest.mark.usefixtures('single_thread')


@DATASETS.register_module(name='UnverifiedCIFAR100', force=True)
class UnverifiedCIFAR100(CIFAR100):
    """MMPretrain's CIFAR100 reader, without the md5 of the real files (the
    test files hold random images). ``_check_integrity`` skips files whose
    md5 is None; everything else is the parent's code."""

    train_list = [['train', None]]
    test_list = [['test', None]]
    meta = dict(CIFAR100.meta, md5=None)


def write_tiny_cifar100(root, num_train=16, num_test=8, seed=0):
    """Write ``cifar-100-python/{train,test,meta}`` as the official archive
    lays them out: pickled dicts, images as (N, 3072) uint8 rows (1024 red,
    then green, then blue values, row-major 32x32), ``fine_labels`` and
    ``coarse_labels`` lists.

    Returns:
        dict: split -> (images (N, 32, 32, 3) uint8, fine labels (N,)).
    """
    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for split, num in (('train', num_train), ('test', num_test)):
        chw = rng.integers(0, 256, (num, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 100, num)
        entry = {
            'filenames': [f'{split}_{i}.png' for i in range(num)],
            'batch_label': f'{split} batch',
            'fine_labels': labels.tolist(),
            'coarse_labels': (labels // 5).tolist(),
            'data': chw.reshape(num, 3 * 32 * 32),
        }
        with open(osp.join(folder, split), 'wb') as f:
            pickle.dump(entry, f)
        written[split] = (chw.transpose(0, 2, 3, 1), labels)
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump(
            {
                'fine_label_names': [f'class{i}' for i in range(100)],
                'coarse_label_names': [f'super{i}' for i in range(20)]
            }, f)
    return written


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar100')
    return str(root), write_tiny_cifar100(str(root))


def load(name):
    return Config.fromfile(osp.join(CONFIGS, name + '.py'))


def shrink_classifier(classifier, width):
    """Narrow a CIFAR ResNet classifier config to ``width`` base channels."""
    backbone = classifier.backbone
    backbone.stem_channels = width
    backbone.base_channels = width
    classifier.head.in_channels = width * 2**(backbone.num_stages - 1)


def fast_loaders(cfg, data_root, batch_size):
    """Small batches, no workers; datasets not serialised (mmengine runs a
    full garbage collection for each serialisation)."""
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(
            batch_size=batch_size, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, serialize_data=False)
    cfg.test_dataloader = cfg.val_dataloader


def run(cfg, work_dir, name):
    """Train one epoch with the runner ``Runner.from_cfg`` would build, but
    without handing it the config: it would otherwise format the config
    (yapf) for the log and for every checkpoint, several seconds each."""
    cfg.train_cfg.max_epochs = 1
    keys = ('train_dataloader', 'val_dataloader', 'test_dataloader',
            'train_cfg', 'val_cfg', 'test_cfg', 'optim_wrapper',
            'param_scheduler', 'val_evaluator', 'test_evaluator',
            'default_hooks', 'custom_hooks', 'data_preprocessor',
            'env_cfg', 'log_processor', 'visualizer', 'default_scope')
    runner = Runner(
        model=cfg.model,
        work_dir=str(work_dir),
        experiment_name=name,  # unique logger / visualizer instances
        log_level='WARNING',
        **{key: cfg.get(key) for key in keys})
    runner.train()
    return runner


def test_cifar100_reads_the_standard_files(cifar_root):
    root, written = cifar_root
    cfg = load('cifar100_figkd')
    for loader, split in ((cfg.train_dataloader, 'train'),
                          (cfg.val_dataloader, 'test')):
        dataset_cfg = loader.dataset.copy()
        assert dataset_cfg.pop('type') == 'CIFAR100'
        assert dataset_cfg.download is False
        dataset_cfg.data_root = root
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            dataset = UnverifiedCIFAR100(**dataset_cfg)
        images, labels = written[split]
        assert len(dataset) == len(labels)
        assert dataset.get_gt_labels().tolist() == labels.tolist()
        sample = dataset[3]
        assert tuple(sample['inputs'].shape) == (3, 32, 32)
        assert int(sample['data_samples'].gt_label) == labels[3]
        if split == 'test':  # no augmentation: the pixels as written
            np.testing.assert_array_equal(
                sample['inputs'].numpy(), images[3].transpose(2, 0, 1))


def test_cifar100_config_checks_md5_and_never_downloads(cifar_root):
    root, _ = cifar_root
    dataset_cfg = load('cifar100_kd').train_dataloader.dataset.copy()
    dataset_cfg.data_root = root
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(RuntimeError, match='Cannot find CIFAR100'):
            DATASETS.build(dataset_cfg)


def test_kd_and_figkd_configs_differ_only_in_the_loss():
    kd, figkd = load('cifar100_kd').to_dict(), load('cifar100_figkd').to_dict()
    kd_loss = kd['model'].pop('distill_loss')
    figkd_loss = figkd['model'].pop('distill_loss')
    assert kd == figkd
    assert kd_loss == dict(type='KDLoss', temperature=4.0, loss_weight=0.9)
    assert figkd_loss['type'] == 'FiGKDLoss'
    assert figkd_loss['wavelet'] == 'haar' and figkd_loss['levels'] == 1
    assert (figkd_loss['temperature'],
            figkd_loss['loss_weight']) == (4.0, 0.9)
    # the teacher checkpoint is the last one of the teacher config's run
    teacher = load('cifar100_resnet28x4_teacher')
    assert kd['model']['teacher']['init_cfg']['checkpoint'] == (
        'work_dirs/cifar100_resnet28x4_teacher/'
        f'epoch_{teacher.train_cfg.max_epochs}.pth')
    assert kd['model']['student']['head']['loss']['loss_weight'] == 0.1


@pytest.mark.parametrize('name', ['cifar100_kd', 'cifar100_figkd'])
def test_cifar_distillation_configs_build(name, cifar_root):
    root, _ = cifar_root
    cfg = load(name)
    cfg.model.teacher.init_cfg = None
    cfg.model.allow_random_teacher = True
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        dataset_cfg = cfg.train_dataloader.dataset.copy()
        dataset_cfg.pop('type')
        dataset = UnverifiedCIFAR100(**dict(dataset_cfg, data_root=root))
    # ResNet28x4 / ResNet14x4: 3-4-6 and 2-2-2 basic blocks, 64-128-256
    assert model.teacher.backbone.stage_blocks == (3, 4, 6)
    assert model.student.backbone.stage_blocks == (2, 2, 2)
    for classifier in (model.teacher, model.student):
        assert classifier.backbone.layer3[-1].conv2.out_channels == 256
    batch = model.data_preprocessor(
        dict(inputs=[dataset[i]['inputs'] for i in range(2)],
             data_samples=[dataset[i]['data_samples'] for i in range(2)]))
    losses = model(**batch, mode='loss')
    expected = 'loss_kd' if name == 'cifar100_kd' else 'loss_figkd'
    assert {'loss_cls', expected} <= set(losses)
    assert tuple(model(batch['inputs'], mode='tensor').shape) == (2, 100)


def test_teacher_then_figkd_student_with_the_runner(cifar_root, tmp_path):
    """Train the teacher config, load its checkpoint as the FiGKD teacher,
    train the student: the teacher stays bit-identical to its checkpoint and
    the student checkpoint holds no teacher weight."""
    root, _ = cifar_root
    teacher_cfg = load('cifar100_resnet28x4_teacher')
    shrink_classifier(teacher_cfg.model, 8)
    fast_loaders(teacher_cfg, root, batch_size=8)
    teacher_cfg.train_dataloader.dataset.type = 'UnverifiedCIFAR100'
    teacher_cfg.val_dataloader.dataset.type = 'UnverifiedCIFAR100'
    run(teacher_cfg, tmp_path / 'teacher', 'figkd_test_teacher')
    teacher_ckpt = str(tmp_path / 'teacher' / 'epoch_1.pth')
    teacher_state = torch.load(teacher_ckpt, map_location='cpu',
                               weights_only=False)['state_dict']

    cfg = load('cifar100_figkd')
    cfg.model.teacher.init_cfg.checkpoint = teacher_ckpt
    shrink_classifier(cfg.model.teacher, 8)
    shrink_classifier(cfg.model.student, 4)
    fast_loaders(cfg, root, batch_size=8)
    cfg.train_dataloader.dataset.type = 'UnverifiedCIFAR100'
    cfg.val_dataloader.dataset.type = 'UnverifiedCIFAR100'
    runner = run(cfg, tmp_path / 'student', 'figkd_test_student')

    logged = runner.message_hub.log_scalars
    for key in ('train/loss_cls', 'train/loss_figkd', 'train/loss'):
        assert np.isfinite(logged[key].current()), key
    assert 'val/accuracy/top1' in logged
    model = runner.model
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_state[key]), key
    saved = torch.load(str(tmp_path / 'student' / 'epoch_1.pth'),
                       map_location='cpu', weights_only=False)['state_dict']
    assert not [k for k in saved if k.startswith('teacher.')]
    assert set(saved) == {'student.' + k for k in model.student.state_dict()}


def test_paired_crop_config_logs_freqkd_and_figkd(tmp_path):
    """RGB teacher config, then the combined FreqKD + FiGKD config, one
    iteration each on synthetic FLIR frames."""
    data_root = str(tmp_path / 'flir')
    make_synthetic_dataset('flir', data_root, num=6, size=(160, 128))
    crop = 32

    def small_data(cfg):
        fast_loaders(cfg, data_root, batch_size=4)
        for loader in (cfg.train_dataloader, cfg.val_dataloader):
            loader.dataset.indices = 4
            resize = loader.dataset.pipeline[2].transforms[0]
            assert resize.type == 'Resize'
            resize.scale = (crop, crop)

    teacher_cfg = load('flir_crops_rgb_teacher')
    shrink_classifier(teacher_cfg.model, 8)
    small_data(teacher_cfg)
    teacher = run(teacher_cfg, tmp_path / 'teacher', 'crops_test_teacher')
    # the teacher trains on the RGB crop: colour channels differ (the
    # synthetic IR image is grey)
    crops = [teacher.train_dataloader.dataset[i]['inputs'] for i in range(4)]
    assert all(tuple(c.shape) == (3, crop, crop) for c in crops)
    assert any(not torch.equal(c[0], c[1]) for c in crops)

    cfg = load('flir_crops_freqkd_figkd')
    cfg.model.teacher.init_cfg.checkpoint = str(tmp_path / 'teacher' /
                                                'epoch_1.pth')
    shrink_classifier(cfg.model.teacher, 8)
    shrink_classifier(cfg.model.student, 4)
    for pair in cfg.model.feature_pairs:
        stage = pair.teacher_index
        pair.connector.update(in_channels=4 * 2**stage,
                              out_channels=8 * 2**stage)
    small_data(cfg)
    runner = run(cfg, tmp_path / 'student', 'crops_test_student')

    sample = runner.train_dataloader.dataset[0]
    assert set(sample['inputs']) == {'rgb', 'ir'}
    logged = runner.message_hub.log_scalars
    keys = {'train/loss_cls', 'train/loss_figkd'} | {
        f'train/loss_stage{stage}_{band}'
        for stage in (2, 3, 4) for band in ('low', 'high')
    }
    for key in keys:
        assert np.isfinite(logged[key].current()), key
    assert 'val/accuracy/top1' in logged
