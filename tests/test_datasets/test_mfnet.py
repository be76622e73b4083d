"""MFNetDataset and LoadRGBTFromPNG."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS, TRANSFORMS
from PIL import Image

from mmfreqkd.datasets import MFNetDataset
from mmfreqkd.datasets.transforms import LoadRGBTFromPNG

H, W = 12, 16


def write_frame(root, stem, seed):
    """A random 4-channel image (B, G, R, thermal) and label map."""
    rng = np.random.default_rng(seed)
    bgrt = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    label = rng.integers(0, 9, (H, W), dtype=np.uint8)
    for folder in ('images', 'labels'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    cv2.imwrite(osp.join(root, 'images', stem + '.png'), bgrt)
    cv2.imwrite(osp.join(root, 'labels', stem + '.png'), label)
    return bgrt, label


def make_mfnet(root, stems=('00001D', '00002N')):
    frames = {stem: write_frame(root, stem, i) for i, stem in enumerate(stems)}
    with open(osp.join(root, 'test.txt'), 'w') as f:
        f.write('\n'.join(stems) + '\n')
    return str(root), frames


def test_load_rgbt_splits_channels(tmp_path):
    _, frames = make_mfnet(tmp_path)
    bgrt, _ = frames['00001D']
    path = osp.join(tmp_path, 'images', '00001D.png')
    # Independent reading: Pillow decodes the file as RGBA.
    rgba = np.asarray(Image.open(path))
    assert rgba.shape == (H, W, 4)

    results = LoadRGBTFromPNG(ir_channels=3)(dict(img_path=path))
    assert results['img'].shape == (H, W, 3)
    assert results['img'].dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(results['img'][..., c], rgba[..., 3])
    # img_rgb is BGR: its last channel is the file's red channel.
    np.testing.assert_array_equal(results['img_rgb'], rgba[..., 2::-1])
    np.testing.assert_array_equal(results['img_rgb'], bgrt[..., :3])
    assert results['img_shape'] == (H, W) == results['ori_shape']

    single = LoadRGBTFromPNG(ir_channels=1, with_rgb=False)(
        dict(img_path=path))
    assert single['img'].shape == (H, W, 1)
    np.testing.assert_array_equal(single['img'][..., 0], rgba[..., 3])
    assert 'img_rgb' not in single


@pytest.mark.parametrize('image, message', [
    (np.zeros((H, W, 3), np.uint8), 'found 3'),
    (np.zeros((H, W), np.uint8), 'found 1'),
    (np.zeros((H, W, 4), np.uint16), 'expected 8-bit'),
])
def test_load_rgbt_rejects_files_without_thermal(tmp_path, image, message):
    path = str(tmp_path / 'bad.png')
    cv2.imwrite(path, image)
    with pytest.raises(ValueError, match=message) as error:
        LoadRGBTFromPNG()(dict(img_path=path))
    assert path in str(error.value)


@pytest.mark.parametrize('content, message', [
    (b'', 'the file is empty'),
    (b'not a png', ''),
])
def test_load_rgbt_names_an_unreadable_file(tmp_path, content, message):
    path = str(tmp_path / 'bad.png')
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(ValueError,
                       match=f'{path}: cannot be decoded as an image') \
            as error:
        LoadRGBTFromPNG()(dict(img_path=path))
    assert message in str(error.value)


def test_load_rgbt_arguments():
    with pytest.raises(ValueError, match='ir_channels must be 1 or 3'):
        LoadRGBTFromPNG(ir_channels=2)
    assert TRANSFORMS.get('LoadRGBTFromPNG') is LoadRGBTFromPNG


def build(root, **kwargs):
    cfg = dict(
        type='MFNetDataset',
        data_root=root,
        ann_file='test.txt',
        pipeline=[],
        serialize_data=False)  # skips a slow gc.collect()
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(cfg)


def test_mfnet_dataset_infos(tmp_path):
    root, _ = make_mfnet(tmp_path)
    dataset = build(root)
    assert isinstance(dataset, MFNetDataset)
    assert dataset.metainfo['classes'] == (
        'unlabelled', 'car', 'person', 'bike', 'curve', 'car_stop',
        'guardrail', 'color_cone', 'bump')
    assert dataset.metainfo['palette'] == [
        [0, 0, 0], [64, 0, 128], [64, 64, 0], [0, 128, 192], [0, 0, 192],
        [128, 128, 0], [64, 64, 128], [192, 128, 128], [192, 64, 0]
    ]
    assert dataset.reduce_zero_label is False
    day, night = dataset.get_data_info(0), dataset.get_data_info(1)
    assert day['img_path'] == osp.join(root, 'images', '00001D.png')
    assert day['rgb_path'] == day['img_path']
    assert day['seg_map_path'] == osp.join(root, 'labels', '00001D.png')
    assert (day['is_night'], night['is_night']) == (False, True)


@pytest.mark.parametrize('lines, message', [
    ('00001D\n00002X\n', 'ending with D'),
    ('00001D\n00001D\n', 'already listed on line 1'),
])
def test_mfnet_split_errors_name_file_and_line(tmp_path, lines, message):
    root, _ = make_mfnet(tmp_path)
    with open(osp.join(root, 'test.txt'), 'w') as f:
        f.write(lines)
    with pytest.raises(ValueError, match=message) as error:
        build(root)
    assert osp.join(root, 'test.txt') + ':2:' in str(error.value)


@pytest.mark.parametrize('lines', ['', '\n \n'])
def test_mfnet_empty_split_is_an_error_naming_it(tmp_path, lines):
    root, _ = make_mfnet(tmp_path)
    with open(osp.join(root, 'test.txt'), 'w') as f:
        f.write(lines)
    with pytest.raises(ValueError) as error:
        build(root)
    assert str(error.value) == (
        f'{osp.join(root, "test.txt")}: the split file lists no stems (it is '
        'empty or holds only blank lines)')


def test_mfnet_segmentation_pipeline(tmp_path):
    root, frames = make_mfnet(tmp_path)
    dataset = build(
        root,
        pipeline=[
            dict(type='LoadRGBTFromPNG', ir_channels=3, with_rgb=False),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs'),
        ])
    with DefaultScope.overwrite_default_scope('mmseg'):
        sample = dataset[1]
    bgrt, label = frames['00002N']
    inputs = sample['inputs'].numpy()
    assert inputs.shape == (3, H, W)
    for c in range(3):
        np.testing.assert_array_equal(inputs[c], bgrt[..., 3])
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data.numpy()[0], label)


@pytest.mark.parametrize('loader', ['LoadImageFromFile',
                                    'LoadPairedImageFromFile'])
def test_mfnet_refuses_a_loader_that_reads_the_rgb_channels(tmp_path,
                                                           loader):
    """mmseg's usual loader reads the first three channels of the PNG: an
    "infrared" model would train on RGB."""
    root, _ = make_mfnet(tmp_path)
    with pytest.raises(ValueError, match=f'test.txt.*{loader}.*drops the '
                       'thermal one; load them with LoadRGBTFromPNG'):
        build(root,
              pipeline=[dict(type=loader), dict(type='LoadAnnotations')])


@pytest.mark.parametrize('wrapper', [
    lambda t: dict(type='RandomChoice', transforms=[[t]]),
    lambda t: dict(type='RandomApply', transforms=[t], prob=1.0),
    lambda t: dict(type='PairedGeometric', transforms=[t]),
])
def test_mfnet_refuses_the_loader_inside_wrappers(tmp_path, wrapper):
    root, _ = make_mfnet(tmp_path)
    with pytest.raises(ValueError, match='LoadImageFromFile.*drops the '
                       'thermal one'):
        build(root, pipeline=[wrapper(dict(type='LoadImageFromFile')),
                              dict(type='LoadAnnotations')])


def test_mfnet_refuses_reduce_zero_label(tmp_path):
    """Labels shifted down by one under names that are not: car's IoU
    would be reported as 'unlabelled'."""
    root, _ = make_mfnet(tmp_path)
    with pytest.raises(ValueError, match=r'test.txt\): reduce_zero_label='
                       r'True would shift every label.*ignore_unlabelled'):
        build(root, reduce_zero_label=True)
