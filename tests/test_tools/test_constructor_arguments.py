"""constructor_arguments / registered_targets: what a config's type builds
and which keys it takes (the --cfg-options check and --show-dir use them)."""
import pytest
from mmdet.engine.hooks import DetVisualizationHook
from mmengine.hooks import CheckpointHook
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmpretrain.engine.hooks import VisualizationHook

from mmfreqkd.engine.hooks import (PairedClsVisualizationHook,
                                   SubfolderDetVisualizationHook)
from mmfreqkd.models.backbones import DINOv2ViT
from mmfreqkd.utils import constructor_arguments, registered_targets

DET_HOOK = {'draw', 'interval', 'score_thr', 'show', 'wait_time',
            'test_out_dir', 'backend_args'}


def test_kwargs_forwarded_to_the_parent_take_its_arguments():
    assert constructor_arguments(DetVisualizationHook) == (DET_HOOK, False)
    # __init__(self, **kwargs) only: MMDetection's arguments
    assert constructor_arguments(SubfolderDetVisualizationHook) == (
        DET_HOOK, False)
    # AmpOptimWrapper(loss_scale, dtype, use_fsdp, **kwargs) -> OptimWrapper
    names, passed_on = constructor_arguments(AmpOptimWrapper)
    assert {'loss_scale', 'dtype', 'optimizer', 'clip_grad',
            'accumulative_counts'} <= names and not passed_on
    assert constructor_arguments(OptimWrapper)[0] == {
        'optimizer', 'accumulative_counts', 'clip_grad'}


def test_kwargs_kept_for_later_are_reported():
    names, passed_on = constructor_arguments(CheckpointHook)
    assert 'max_keep_ckpts' in names and passed_on
    cls_hook = {'enable', 'interval', 'show', 'out_dir'}
    assert constructor_arguments(VisualizationHook) == (cls_hook, True)
    assert constructor_arguments(PairedClsVisualizationHook) == (
        cls_hook | {'modality'}, True)


def test_functions_take_their_parameters():

    def collate(data_batch, pad_value=0, **kwargs):
        return data_batch

    assert constructor_arguments(collate) == ({'data_batch', 'pad_value'},
                                              True)


@pytest.mark.parametrize('type_name, scope, expected', [
    ('DINOv2ViT', 'mmseg', [DINOv2ViT]),
    ('mmfreqkd.DINOv2ViT', 'mmdet', [DINOv2ViT]),
    ('CheckpointHook', 'mmpretrain', [CheckpointHook]),
    ('DetVisualizationHook', 'mmdet', [DetVisualizationHook]),
    ('VisualizationHook', 'mmpretrain', [VisualizationHook]),
    ('NoSuchThing', 'mmdet', []),
    (OptimWrapper, None, [OptimWrapper]),
])
def test_registered_targets(type_name, scope, expected):
    assert registered_targets(type_name, scope) == expected


def test_registered_targets_follow_the_scope():
    # mmdet's and mmseg's Resize are different transforms
    det, = registered_targets('Resize', 'mmdet')
    seg, = registered_targets('Resize', 'mmseg')
    assert det.__module__.startswith('mmdet.')
    assert seg.__module__.startswith('mmseg.')
