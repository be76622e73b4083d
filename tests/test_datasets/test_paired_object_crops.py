"""PairedObjectCropDataset, CropPairedBox and PackPairedClsInputs on
hand-made COCO files and images."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmfreqkd.datasets import PairedObjectCropDataset
from mmfreqkd.datasets.paired_object_crops import overlap_fraction
from mmfreqkd.datasets.transforms import CropPairedBox, PackPairedClsInputs


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build in the MMPretrain scope, as the classification configs do (an
    earlier test's runner may have left another scope current)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


WIDTH, HEIGHT = 64, 48


def write_frames(root, annotations, num_images=2):
    """Two 64x48 frames; the IR image is the RGB image's blue channel.

    Categories are listed with ids that do not follow the class order, so
    that mapping by id instead of by name would give wrong labels.
    """
    images = []
    rng = np.random.default_rng(0)
    for index in range(num_images):
        rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        ir = np.repeat(rgb[..., :1], 3, axis=-1)
        cv2.imwrite(osp.join(root, f'rgb{index}.png'), rgb)
        cv2.imwrite(osp.join(root, f'ir{index}.png'), ir)
        images.append(
            dict(id=10 + index, file_name=f'ir{index}.png',
                 rgb_file_name=f'rgb{index}.png', width=WIDTH, height=HEIGHT))
    coco = dict(
        images=images,
        annotations=[
            dict(id=i, image_id=img, category_id=cat, bbox=box,
                 iscrowd=crowd, area=box[2] * box[3])
            for i, (img, cat, box, crowd) in enumerate(annotations)
        ],
        categories=[dict(id=7, name='car'), dict(id=3, name='person'),
                    dict(id=5, name='dog')])
    with open(osp.join(root, 'ann.json'), 'w') as f:
        json.dump(coco, f)


ANNOTATIONS = [
    # image, category, [x, y, w, h], iscrowd
    (10, 3, [2, 4, 10, 20], 0),     # person -> label 0
    (10, 7, [30, 10, 20, 12], 0),   # car -> label 1
    (10, 5, [50, 30, 10, 10], 0),   # dog: not a class, no sample
    (10, 3, [0, 30, 6, 6], 1),      # ignore region: no sample
    (11, 3, [40, 2, 4, 20], 0),     # narrower than min_size: no sample
    (11, 7, [10, 20, 16, 16], 0),   # car -> label 1
]


def build(root, **kwargs):
    cfg = dict(
        ann_file='ann.json', data_root=root, data_prefix=dict(img=''),
        object_classes=('person', 'car'), num_background=2, min_size=5,
        serialize_data=False)
    cfg.update(kwargs)
    return PairedObjectCropDataset(**cfg)


def test_object_and_background_samples(tmp_path):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    dataset = build(root)
    assert dataset.metainfo['classes'] == ('person', 'car', 'background')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    objects = [(info['img_id'], info['crop_bbox'].tolist(), info['gt_label'])
               for info in infos if info['gt_label'] < 2]
    assert objects == [(10, [2, 4, 12, 24], 0), (10, [30, 10, 50, 22], 1),
                       (11, [10, 20, 26, 36], 1)]
    backgrounds = [info for info in infos if info['gt_label'] == 2]
    assert [b['img_id'] for b in backgrounds] == [10, 10, 11, 11]
    annotated = {
        img: np.array([[x, y, x + w, y + h]
                       for i, _, (x, y, w, h), _ in ANNOTATIONS if i == img])
        for img in (10, 11)
    }
    object_sizes = {(w, h) for _, cat, (_, _, w, h), crowd in ANNOTATIONS
                    if cat in (3, 7) and not crowd and min(w, h) >= 5}
    for info in backgrounds:
        x1, y1, x2, y2 = info['crop_bbox']
        assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
        # no annotated box (dog and ignore region included) overlaps it
        assert overlap_fraction(info['crop_bbox'],
                                annotated[info['img_id']]).max() == 0
        assert (round(float(x2 - x1)), round(float(y2 - y1))) in object_sizes
        index = info['img_id'] - 10
        assert info['img_path'] == osp.join(root, f'ir{index}.png')
        assert info['rgb_path'] == osp.join(root, f'rgb{index}.png')
    # seeded: the same crops every time, other ones with another seed
    again = build(root)
    assert all(
        np.array_equal(again.get_data_info(i)['crop_bbox'],
                       infos[i]['crop_bbox']) for i in range(len(infos)))
    other = build(root, seed=1)
    assert not all(
        np.array_equal(other.get_data_info(i)['crop_bbox'],
                       infos[i]['crop_bbox']) for i in range(len(infos)))


def test_overlap_fraction_by_hand():
    box = np.array([0., 0., 10., 10.])
    others = np.array([[5., 5., 20., 20.], [10., 0., 20., 10.],
                       [-5., -5., 15., 15.]])
    np.testing.assert_allclose(overlap_fraction(box, others),
                               [0.25, 0.0, 1.0])


def test_no_background_class_without_background_crops(tmp_path):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    dataset = build(root, num_background=0)
    assert dataset.metainfo['classes'] == ('person', 'car')
    assert dataset.get_gt_labels().tolist() == [0, 1, 1]


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(object_classes=('person', 'bicycle')), ValueError,
     r"\['bicycle'\] are not category names"),
    (dict(object_classes=('person', 'background')), ValueError,
     'use num_background'),
    (dict(max_background_overlap=1.0), ValueError, r'\[0, 1\)'),
    (dict(metainfo=dict(classes=('a', ))), ValueError,
     'classes come from object_classes'),
])
def test_dataset_errors(tmp_path, kwargs, error, match):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    with pytest.raises(error, match=match):
        build(root, **kwargs)


@pytest.mark.parametrize('data_prefix, folder', [
    # mmpretrain's default '' and string form become dict(img_path=...)
    (None, ''),
    ('', ''),
    ('frames/', 'frames'),
    (dict(img_path='frames/'), 'frames'),
    # the mmdet spelling, as in configs/_base_/datasets/flir_crops_*.py
    (dict(img='frames/'), 'frames'),
    (dict(), ''),
])
def test_image_folder_from_each_data_prefix_form(tmp_path, data_prefix,
                                                 folder):
    root = str(tmp_path)
    os.makedirs(osp.join(root, 'frames'))
    write_frames(osp.join(root, folder), ANNOTATIONS)
    cfg = dict(
        ann_file=osp.join(folder, 'ann.json'),
        data_root=root,
        object_classes=('person', 'car'),
        pipeline=[
            dict(type='LoadPairedImageFromFile', ir_channels=1),
            dict(type='CropPairedBox', context=1.0, square=False),
        ],
        serialize_data=False)
    if data_prefix is not None:
        cfg['data_prefix'] = data_prefix
    dataset = PairedObjectCropDataset(**cfg)
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(root, folder, 'ir0.png')
    assert info['rgb_path'] == osp.join(root, folder, 'rgb0.png')
    # the person of image 10, box [2, 4, 12, 24], read from that folder
    rgb = cv2.imread(osp.join(root, folder, 'rgb0.png'))
    np.testing.assert_array_equal(dataset[0]['img_rgb'], rgb[4:24, 2:12])


def test_image_folder_named_twice_is_an_error(tmp_path):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    with pytest.raises(ValueError, match='image folder twice'):
        build(root, data_prefix=dict(img='', img_path=''))


def test_missing_rgb_file_name_is_named(tmp_path):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    with open(osp.join(root, 'ann.json')) as f:
        coco = json.load(f)
    del coco['images'][1]['rgb_file_name']
    with open(osp.join(root, 'ann.json'), 'w') as f:
        json.dump(coco, f)
    with pytest.raises(KeyError, match="image id 11 .'ir1.png'. has no"):
        build(root)


@pytest.mark.parametrize('box, context, square, region', [
    # tight box: exactly its pixels
    ([2, 4, 12, 24], 1.0, False, [2, 4, 12, 24]),
    # square: the 10 x 20 box grows to 20 x 20 about its centre (7, 14)
    ([2, 4, 12, 24], 1.0, True, [0, 4, 17, 24]),
    # x1.5 about the centre (40, 16): half sizes 15 and 9
    ([30, 10, 50, 22], 1.5, False, [25, 7, 55, 25]),
    # fractional corners round outwards; clipped to the 64 x 48 image
    ([50.5, 40.2, 63.5, 47.9], 1.2, False, [49, 39, 64, 48]),
])
def test_crop_region_by_hand(box, context, square, region):
    crop = CropPairedBox(context=context, square=square)
    assert crop.crop_region(np.array(box, np.float32), HEIGHT,
                            WIDTH).tolist() == region


def test_crop_and_pack_a_pair(tmp_path):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    dataset = build(
        root,
        pipeline=[
            dict(type='LoadPairedImageFromFile', ir_channels=1),
            dict(type='CropPairedBox', context=1.0, square=False),
            dict(type='PackPairedClsInputs'),
        ])
    sample = dataset[1]  # the car of image 10, box [30, 10, 50, 22]
    rgb = cv2.imread(osp.join(root, 'rgb0.png'))
    assert set(sample['inputs']) == {'rgb', 'ir'}
    np.testing.assert_array_equal(sample['inputs']['rgb'].numpy(),
                                  rgb[10:22, 30:50].transpose(2, 0, 1))
    # the IR image was written as the blue channel of the RGB one
    np.testing.assert_array_equal(sample['inputs']['ir'].numpy(),
                                  rgb[None, 10:22, 30:50, 0])
    data_sample = sample['data_samples']
    assert isinstance(data_sample, DataSample)
    assert data_sample.gt_label.tolist() == [1]
    assert data_sample.img_shape == (12, 20)
    assert data_sample.rgb_path == osp.join(root, 'rgb0.png')


def test_crop_errors():
    crop = CropPairedBox()
    results = dict(img=np.zeros((8, 8, 1), np.uint8),
                   img_rgb=np.zeros((8, 9, 3), np.uint8),
                   crop_bbox=np.array([0, 0, 4, 4], np.float32))
    with pytest.raises(ValueError, match='RGB pair is'):
        crop(results)
    with pytest.raises(KeyError, match="no 'crop_bbox'"):
        crop(dict(img=results['img'], img_rgb=results['img']))
    with pytest.raises(ValueError, match='outside'):
        crop.crop_region(np.array([20, 20, 30, 30.]), 8, 8)
    with pytest.raises(ValueError, match='context must be > 0'):
        CropPairedBox(context=0)


def test_pack_requires_the_rgb_image():
    with pytest.raises(KeyError, match='img_rgb'):
        PackPairedClsInputs()(dict(img=np.zeros((4, 4, 3), np.uint8),
                                   gt_label=0))
    packed = PackPairedClsInputs()(
        dict(img=np.zeros((4, 4, 1), np.uint8),
             img_rgb=np.ones((4, 4, 3), np.uint8), gt_label=2))
    assert packed['inputs']['ir'].shape == (1, 4, 4)
    assert torch.equal(packed['inputs']['rgb'],
                       torch.ones(3, 4, 4, dtype=torch.uint8))
