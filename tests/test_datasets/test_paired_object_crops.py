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
    (dict(min_size=float('nan')), ValueError,
     'min_size must be a finite number > 0, got nan'),
    (dict(min_size=0), ValueError, 'min_size must be a finite number > 0'),
    (dict(min_size='8'), ValueError, 'min_size must be a finite number > 0'),
    (dict(seed=-1), ValueError, 'seed must be an int >= 0, got -1'),
    (dict(seed=1.5), ValueError, 'seed must be an int >= 0, got 1.5'),
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


def rewrite(root, edit):
    """Apply ``edit`` to the COCO file of write_frames."""
    path = osp.join(root, 'ann.json')
    with open(path) as f:
        coco = json.load(f)
    edit(coco)
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


@pytest.mark.parametrize('edit, error, message', [
    (lambda c: c['images'][0].pop('width'), ValueError,
     r"image id 10 \('ir0.png'\): width must be a number > 0, got None"),
    (lambda c: c['images'].append(dict(c['images'][1], id=12)), ValueError,
     r"image id 12 \('ir1.png'\): the file is listed twice, also as image "
     'id 11'),
    (lambda c: c['annotations'][1].update(category_id=8), ValueError,
     r'annotation id 1 \(image id 10\): category_id 8 is not one of'),
    (lambda c: c['annotations'][1].update(image_id=13), ValueError,
     'annotation id 1: image_id 13 is not the id of any image'),
    (lambda c: c['annotations'][1].update(bbox=[30, 10, 20]), ValueError,
     r'annotation id 1 \(image id 10\): bbox must be 4 finite numbers'),
    (lambda c: c['images'][0].update(is_night='false'), ValueError,
     "image id 10 .*is_night must be true or false"),
    (lambda c: c.pop('annotations'), KeyError, 'no "annotations" list'),
    # a car box of image 10 outside the 64 x 48 frame
    (lambda c: c['annotations'].append(
        dict(id=6, image_id=10, category_id=7, bbox=[100, 100, 10, 10],
             iscrowd=0, area=100)), ValueError,
     r"annotation id 6 \(image id 10, 'ir0.png'\): bbox \[100, 100, 10, 10\] "
     'does not overlap the 64x48 image'),
    # or the image is smaller than the JSON says
    (lambda c: c['images'][1].update(width=8), ValueError,
     r"annotation id 5 \(image id 11, 'ir1.png'\): bbox \[10, 20, 16, 16\] "
     'does not overlap the 8x48 image'),
], ids=['no width', 'frame twice', 'unknown category', 'unknown image',
        'bbox of 3', 'is_night string', 'no annotations', 'box outside',
        'image smaller'])
def test_inconsistent_file_is_an_error_naming_it(tmp_path, edit, error,
                                                 message):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    path = rewrite(root, edit)
    with pytest.raises(error, match=message) as info:
        build(root)
    assert str(info.value).strip('\'"').startswith(path)


def test_boxes_outside_the_image_that_give_no_sample_are_kept(tmp_path):
    root = str(tmp_path)
    # a dog, an ignore region and a tiny person outside the frame: no crop
    write_frames(root, ANNOTATIONS + [
        (10, 5, [100, 100, 10, 10], 0),
        (10, 3, [100, 100, 10, 10], 1),
        (10, 3, [-10, -10, 2, 2], 0),
    ])
    assert len(build(root, num_background=0)) == 3


def test_no_samples_is_an_error_naming_the_file(tmp_path):
    root = str(tmp_path)
    write_frames(root, ANNOTATIONS)
    with pytest.raises(ValueError) as error:
        build(root, object_classes=('person', ), min_size=30,
              num_background=0)
    message = str(error.value)
    assert message.startswith(osp.join(root, 'ann.json') + ': no samples')
    assert "object_classes ('person',)" in message
    assert 'min_size=30.0' in message and 'num_background=0' in message


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
    # the errors of a transform name the image
    outside = dict(results, img_rgb=np.zeros((8, 8, 3), np.uint8),
                   crop_bbox=np.array([20, 20, 30, 30], np.float32),
                   img_path='frames/ir7.png')
    with pytest.raises(ValueError,
                       match=r'crop_bbox \[20.0, 20.0, 30.0, 30.0\] of '
                       'frames/ir7.png lies outside the 8x8 image'):
        crop(outside)
    with pytest.raises(ValueError,
                       match=r'empty crop_bbox \[2.0, 2.0, 2.0, 6.0\] of '
                       'frames/ir7.png'):
        crop(dict(outside, crop_bbox=np.array([2, 2, 2, 6], np.float32)))
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
