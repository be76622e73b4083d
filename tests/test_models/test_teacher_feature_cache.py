"""TeacherFeatureCache: cached teacher maps equal recomputed ones, keys,
capacity, and refusal of pipelines the key cannot describe."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmfreqkd  # noqa: F401
from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.models.distillers import TeacherFeatureCache
from mmfreqkd.utils import load_config
from tiny_distiller import build_tiny_distiller

VALID_PIPELINE = [
    dict(type='LoadPairedImageFromFile', ir_channels=3),
    dict(type='ApplyToModality', modality='ir',
         transforms=[dict(type='PhotoMetricDistortion')]),
    dict(type='PairedGeometric', transforms=[
        dict(type='RandomResize', scale=(84, 70), ratio_range=(0.8, 1.2),
             keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
    ]),
    dict(type='PackPairedDetInputs'),
]


def build_distiller(cache=dict(max_items=16)):
    return build_tiny_distiller(teacher_feature_cache=cache)


def samples(names, flip=False, shape=(42, 56)):
    return [
        DetDataSample(metainfo=dict(
            img_path=f'lwir/{name}.jpg', rgb_path=f'visible/{name}.jpg',
            img_shape=shape, scale_factor=(1.0, 1.0), flip=flip,
            flip_direction='horizontal' if flip else None,
            batch_input_shape=shape)) for name in names
    ]


def images(batch, seed, shape=(42, 56)):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, *shape, generator=gen)


class CallCounter:
    """Counts the forward calls of a module and their batch sizes."""

    def __init__(self, module):
        self.batches = []
        module.register_forward_hook(
            lambda mod, args, out: self.batches.append(args[0].shape[0]))


def test_cached_maps_equal_recomputed_ones_and_skip_the_teacher():
    model = build_distiller()
    model.teacher_cache.check_pipeline(VALID_PIPELINE)
    rgb, rgb_new = images(3, seed=0), images(1, seed=1)
    with torch.no_grad():
        direct = model.teacher(rgb)
        direct_mixed = model.teacher(torch.cat([rgb_new, rgb[1:2]]))
    calls = CallCounter(model.teacher)
    first = model.extract_teacher_feats(rgb, samples('abc'))
    assert calls.batches == [3]
    assert (model.teacher_cache.hits, model.teacher_cache.misses) == (0, 3)
    assert len(model.teacher_cache) == 3

    # all hits: no teacher call, the maps of a fresh forward
    again = model.extract_teacher_feats(rgb, samples('abc'))
    assert calls.batches == [3]
    assert model.teacher_cache.hits == 3
    for cached, fresh, before in zip(again, direct, first):
        assert cached.dtype == torch.float32
        torch.testing.assert_close(cached, fresh, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(cached, before, rtol=1e-5, atol=1e-6)

    # mixed batch (d new, b cached): only the new sample runs, order kept
    mixed = model.extract_teacher_feats(
        torch.cat([rgb_new, rgb[1:2]]), samples('db'))
    assert calls.batches == [3, 1]
    assert (model.teacher_cache.hits, model.teacher_cache.misses) == (4, 4)
    for got, want in zip(mixed, direct_mixed):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_losses_with_the_cache_equal_losses_without():
    model = build_distiller()
    model.teacher_cache.check_pipeline(VALID_PIPELINE)
    inputs = dict(rgb=images(2, seed=3), ir=images(2, seed=4))
    data_samples = samples('xy')
    model.train()
    plain = model(inputs, mode='loss')
    model(inputs, data_samples, mode='loss')  # fills the cache
    cached = model(inputs, data_samples, mode='loss')
    assert model.teacher_cache.hits == 2
    assert set(cached) == set(plain)
    for name in plain:
        torch.testing.assert_close(cached[name], plain[name])
    per_sample = model(inputs, data_samples, mode='predict')
    assert model.teacher_cache.hits == 4
    assert len(per_sample) == 2


def test_key_fields_separate_inputs_and_capacity_is_respected():
    cache = TeacherFeatureCache(max_items=3)
    base = samples('a')[0].metainfo
    keys = {
        cache.key(base),
        cache.key(samples('a', flip=True)[0].metainfo),
        cache.key(samples('a', shape=(70, 84))[0].metainfo),
        cache.key(dict(base, batch_input_shape=(56, 56))),
        cache.key(dict(base, scale_factor=(0.5, 0.5))),
        cache.key(samples('b')[0].metainfo),
    }
    assert len(keys) == 6
    # img_path identifies a sample when there is no separate RGB file
    no_rgb = {k: v for k, v in base.items() if k != 'rgb_path'}
    assert cache.key(no_rgb)[0] == 'lwir/a.jpg'
    with pytest.raises(KeyError, match='rgb_path nor img_path'):
        cache.key(dict(img_shape=(42, 56)))

    feats = (torch.randn(4, 2, 3, 3), torch.randn(4, 5, 3, 3))
    names = [cache.key(s.metainfo) for s in samples('pqrs')]
    cache.store(names, feats)
    assert len(cache) == 3  # the fourth sample found no room
    found = cache.lookup(names)
    assert found[3] is None and (cache.hits, cache.misses) == (3, 1)
    for row in range(3):
        for level in range(2):
            assert torch.equal(found[row][level], feats[level][row])
    # entries are copies, not views that keep the batch alive
    assert found[0][0].untyped_storage().nbytes() == 2 * 3 * 3 * 4
    cache.clear()
    assert len(cache) == 0 and cache.hits == cache.misses == 0


def test_storage_dtype():
    cache = TeacherFeatureCache(max_items=2, dtype='bfloat16')
    feats = (torch.randn(1, 2, 3, 3), )
    key = cache.key(samples('a')[0].metainfo)
    cache.store([key], feats)
    stored = cache.lookup([key])[0][0]
    assert stored.dtype == torch.bfloat16
    torch.testing.assert_close(stored.float(), feats[0][0], rtol=1e-2,
                               atol=1e-2)
    with pytest.raises(ValueError, match='dtype'):
        TeacherFeatureCache(max_items=2, dtype='int8')
    with pytest.raises(ValueError, match='max_items'):
        TeacherFeatureCache(max_items=0)
    with pytest.raises(ValueError, match=r'model\.teacher_feature_cache\.'
                       r"device must be a torch device .* got 'gpu'"):
        TeacherFeatureCache(max_items=2, device='gpu')


@pytest.mark.parametrize('transform, culprit', [
    (dict(type='PairedGeometric', transforms=[
        dict(type='Resize', scale=(84, 70)),
        dict(type='RandomCrop', crop_size=(32, 32))]), 'RandomCrop'),
    (dict(type='ApplyToModality', modality='rgb',
          transforms=[dict(type='PhotoMetricDistortion')]),
     'photometric'),
    (dict(type='RandomErasing', n_patches=1, ratio=0.1), 'RandomErasing'),
    (dict(type='PackPairedDetInputs', meta_keys=('img_path', 'img_shape')),
     r"\['scale_factor', 'flip', 'flip_direction'\]"),
])
def test_pipelines_the_key_cannot_describe_are_refused(transform, culprit):
    cache = TeacherFeatureCache(max_items=4)
    pipeline = VALID_PIPELINE[:1] + [transform] + VALID_PIPELINE[-1:]
    with pytest.raises(ValueError, match=culprit) as error:
        cache.check_pipeline(pipeline, 'train_pipeline')
    assert 'train_pipeline[1]' in str(error.value)
    assert not cache.pipeline_checked


def test_built_pipelines_are_checked_and_safe_transforms_extend_the_list():
    with DefaultScope.overwrite_default_scope('mmdet'):
        built = Compose(VALID_PIPELINE)
        cropping = Compose([dict(type='PairedGeometric', transforms=[
            dict(type='RandomCrop', crop_size=(32, 32))])])
    cache = TeacherFeatureCache(max_items=4)
    cache.check_pipeline(built)
    assert cache.pipeline_checked
    with pytest.raises(ValueError, match='RandomCrop'):
        cache.check_pipeline(cropping)
    declared = TeacherFeatureCache(
        max_items=4, extra_key_fields=('homography_matrix', ),
        safe_transforms=('RandomCrop', ))
    declared.check_pipeline(cropping)
    assert 'homography_matrix' in declared.key_fields
    # a single name, not a list, would be split into letters
    for key in ('extra_key_fields', 'safe_transforms'):
        with pytest.raises(TypeError,
                           match=f'teacher_feature_cache.{key} must be a '
                           "list of names, got 'RandomCrop'"):
            TeacherFeatureCache(max_items=4, **{key: 'RandomCrop'})


def test_forward_refuses_an_unchecked_pipeline():
    model = build_distiller()
    with pytest.raises(RuntimeError, match='TeacherFeatureCacheHook'):
        model.extract_teacher_feats(images(1, seed=0), samples('a'))


def run_with_hook(data_root, work_dir, geometry, epochs, dataset_wrapper):
    dataset = dict(
        type='KAISTDataset',
        data_root=data_root,
        ann_file='annotations/train-all-02.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=[
            dict(type='LoadPairedImageFromFile', ir_channels=3),
            dict(type='PairedGeometric', transforms=geometry),
            dict(type='PackPairedDetInputs'),
        ])
    if dataset_wrapper:
        dataset = dict(type='RepeatDataset', times=1, dataset=dataset)
    runner = Runner(
        model=build_distiller(),
        work_dir=str(work_dir),
        experiment_name=f'cache_{epochs}_{dataset_wrapper}',
        log_level='WARNING',
        default_scope='mmdet',
        train_dataloader=dict(
            dataset=dataset, batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='TeacherFeatureCacheHook', log_interval=1)])
    runner.train()
    return runner.model.teacher_cache


def test_hook_lets_a_keyed_pipeline_train_from_the_cache(tmp_path):
    make_synthetic_dataset('kaist', str(tmp_path / 'kaist'), num=5,
                           size=(64, 48))
    cache = run_with_hook(
        str(tmp_path / 'kaist'), tmp_path / 'work',
        [dict(type='Resize', scale=(64, 48), keep_ratio=True)], epochs=2,
        dataset_wrapper=False)
    # 4 training frames: misses in the first epoch, hits in the second
    assert (cache.misses, cache.hits, len(cache)) == (4, 4, 4)


def test_hook_refuses_a_random_crop_before_training(tmp_path):
    make_synthetic_dataset('kaist', str(tmp_path / 'kaist'), num=5,
                           size=(64, 48))
    with pytest.raises(ValueError, match='RandomCrop') as error:
        run_with_hook(
            str(tmp_path / 'kaist'), tmp_path / 'work',
            [dict(type='RandomCrop', crop_size=(32, 32))], epochs=1,
            dataset_wrapper=True)
    assert ('train_dataloader.dataset.dataset.pipeline[1]'
            in str(error.value))


def test_quickstart_cache_config_passes_the_pipeline_check(repo_root):
    cfg = load_config(f'{repo_root}/configs/freqkd/'
                      'quickstart_kaist_vits_teacher_cache.py')
    cache = TeacherFeatureCache(**cfg.model.teacher_feature_cache)
    for loader in ('train_dataloader', 'val_dataloader'):
        cache.check_pipeline(cfg[loader].dataset.pipeline, loader)
    assert cfg.custom_hooks == [
        dict(type='TeacherFeatureCacheHook', log_interval=9)
    ]
