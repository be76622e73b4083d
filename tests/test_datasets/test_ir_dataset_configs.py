"""The IR-only dataset base configs build and run on synthetic data."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmfreqkd.datasets.synthetic import make_synthetic_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize(
    'name, layout, scope, size, input_shape, metrics', [
        ('kaist_ir_detection', 'kaist', 'mmdet', (160, 128), (3, 512, 640),
         ['CocoMetric', 'KAISTMissRateMetric']),
        ('flir_ir_detection', 'flir', 'mmdet', (160, 128), (3, 512, 640),
         ['CocoMetric']),
        ('mfnet_ir_segmentation', 'mfnet', 'mmseg', (160, 120),
         (3, 120, 160), ['MFNetIoUMetric']),
    ])
def test_ir_config_pipelines(tmp_path, name, layout, scope, size,
                             input_shape, metrics):
    make_synthetic_dataset(layout, str(tmp_path), num=5, size=size)
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', name + '.py'))
    registry = __import__(f'{scope}.registry',
                          fromlist=['DATASETS', 'METRICS'])
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        dataset_cfg = loader.dataset.copy()
        dataset_cfg.data_root = str(tmp_path)
        dataset_cfg.serialize_data = False  # skips a slow gc.collect()
        with DefaultScope.overwrite_default_scope(scope):
            dataset = registry.DATASETS.build(dataset_cfg)
            sample = dataset[0]
        assert len(dataset) >= 1
        # Detection configs resize to 640 x 512 keeping the aspect ratio.
        assert tuple(sample['inputs'].shape) == input_shape
    evaluators = cfg.val_evaluator
    if not isinstance(evaluators, list):
        evaluators = [evaluators]
    assert [e.type for e in evaluators] == metrics
    assert cfg.test_evaluator == cfg.val_evaluator
    for evaluator in evaluators:
        evaluator = evaluator.copy()
        if 'ann_file' in evaluator:
            # the ground truth of the validation split
            assert evaluator.ann_file == (
                cfg.data_root + cfg.val_dataloader.dataset.ann_file)
            evaluator.ann_file = osp.join(
                str(tmp_path), cfg.val_dataloader.dataset.ann_file)
        with DefaultScope.overwrite_default_scope(scope):
            registry.METRICS.build(evaluator)
