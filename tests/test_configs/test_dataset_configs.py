"""configs/_base_/datasets: every loader reads its own dataset.

The FLIR bases inherit the KAIST ones and override the files; a field left
at its KAIST value (type, root, annotation file, pipeline) would still
build, so these checks compare every loader against the config's own
``dataset_type`` / ``data_root`` and the expected files.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT

# name: (dataset type, data root, train / val / test annotation files)
DATASETS = {
    'kaist_paired': ('KAISTDataset', 'data/kaist/',
                     ('annotations/train-all-02.json',
                      'annotations/test-all-20.json',
                      'annotations/test-all-20.json')),
    'kaist_ir_detection': ('KAISTDataset', 'data/kaist/',
                           ('annotations/train-all-02.json',
                            'annotations/test-all-20.json',
                            'annotations/test-all-20.json')),
    'flir_paired': ('FLIRAlignedDataset', 'data/flir_aligned/',
                    ('annotations/align_train.json',
                     'annotations/align_validation.json',
                     'annotations/align_validation.json')),
    'flir_ir_detection': ('FLIRAlignedDataset', 'data/flir_aligned/',
                          ('annotations/align_train.json',
                           'annotations/align_validation.json',
                           'annotations/align_validation.json')),
    'mfnet_paired': ('MFNetDataset', 'data/mfnet/',
                     ('train.txt', 'val.txt', 'test.txt')),
    'mfnet_ir_segmentation': ('MFNetDataset', 'data/mfnet/',
                              ('train.txt', 'val.txt', 'test.txt')),
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def load(name):
    return Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', f'{name}.py'))


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_loaders_read_their_own_dataset(name):
    dataset_type, data_root, ann_files = DATASETS[name]
    cfg = load(name)
    assert (cfg.dataset_type, cfg.data_root) == (dataset_type, data_root)
    for loader, ann_file in zip(LOADERS, ann_files):
        dataset = cfg[loader].dataset
        assert (dataset.type, dataset.data_root, dataset.ann_file) == \
            (dataset_type, data_root, ann_file), loader
        pipeline = cfg.train_pipeline if loader == 'train_dataloader' \
            else cfg.test_pipeline
        assert dataset.pipeline == pipeline, loader
        assert dataset.get('test_mode', False) == (loader != 'train_dataloader')
    if 'val_evaluator' in cfg:
        assert cfg.test_evaluator == cfg.val_evaluator
        evaluators = cfg.val_evaluator
        if not isinstance(evaluators, list):
            evaluators = [evaluators]
        for evaluator in evaluators:
            if 'ann_file' in evaluator:
                assert evaluator.ann_file == data_root + ann_files[1]


@pytest.mark.parametrize('child, parent', [
    ('flir_paired', 'kaist_paired'),
    ('flir_ir_detection', 'kaist_ir_detection'),
])
def test_flir_keeps_the_kaist_loader_settings(child, parent):
    """Batch sizes, workers, samplers and pipelines (apart from the FLIR
    meta keys) come from KAIST."""
    child_cfg, parent_cfg = load(child), load(parent)
    assert child_cfg.train_pipeline == parent_cfg.train_pipeline
    for loader in LOADERS:
        for key in ('batch_size', 'num_workers', 'sampler'):
            assert child_cfg[loader][key] == parent_cfg[loader][key]
        assert child_cfg[loader].dataset.get('filter_cfg') == \
            parent_cfg[loader].dataset.get('filter_cfg')
    # the test pipelines differ at most in the packing step's meta keys
    assert child_cfg.test_pipeline[:-1] == parent_cfg.test_pipeline[:-1]
    child_pack, parent_pack = child_cfg.test_pipeline[-1], \
        parent_cfg.test_pipeline[-1]
    assert child_pack.type == parent_pack.type
    meta_keys = set(parent_pack.get('meta_keys', ())) - \
        set(child_pack.get('meta_keys', ()))
    assert meta_keys <= {'is_night', 'frame'}
