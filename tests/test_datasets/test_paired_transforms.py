"""Paired RGB-IR loading, geometric / one-modality wrappers and packing.

The test frames are written here: an IR image with an asymmetric gradient and
one bright rectangle (the annotated object), and an RGB image whose channels
are known functions of the IR pixels (B = IR, G = 255 - IR, R = 40), so that
pixel alignment of the pair can be checked exactly after any geometry.
"""
import json
import os
import os.path as osp
import random

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import TRANSFORMS, DefaultScope
from mmseg.structures import SegDataSample

import mmfreqkd  # noqa: F401  (registration)
from mmfreqkd.datasets import PairedCocoDataset
from mmfreqkd.datasets.transforms import (ApplyToModality,
                                          LoadPairedImageFromFile,
                                          PackPairedDetInputs,
                                          PackPairedSegInputs)

HEIGHT, WIDTH = 60, 80
BOX = (50, 10, 70, 30)  # x1, y1, x2, y2 of the bright object
SECOND_REGION = (5, 40, 25, 55)  # x1, y1, x2, y2 of segmentation class 2
BRIGHT = 200  # every IR pixel above this belongs to the object


def ir_pattern():
    """(H, W) uint8: gradient in [20, 148] plus a 255 rectangle at BOX."""
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    ir = (20 + 1.5 * y + 0.5 * x).astype(np.uint8)
    x1, y1, x2, y2 = BOX
    ir[y1:y2, x1:x2] = 255
    return ir


def rgb_of(ir):
    """BGR image whose channels are B = IR, G = 255 - IR, R = 40."""
    return np.stack([ir, 255 - ir, np.full_like(ir, 40)], axis=-1)


def seg_pattern():
    seg = np.zeros((HEIGHT, WIDTH), np.uint8)
    x1, y1, x2, y2 = BOX
    seg[y1:y2, x1:x2] = 1
    x1, y1, x2, y2 = SECOND_REGION
    seg[y1:y2, x1:x2] = 2
    return seg


def write_pair(root, stem='f0', ir=None, rgb=None, ext='png'):
    """Write an IR (three-channel grey, as KAIST LWIR) / RGB pair."""
    ir = ir_pattern() if ir is None else ir
    rgb = rgb_of(ir) if rgb is None else rgb
    ir_path = osp.join(root, 'lwir', f'{stem}.{ext}')
    rgb_path = osp.join(root, 'visible', f'{stem}.{ext}')
    for path, img in ((ir_path, np.repeat(ir[..., None], 3, -1)),
                      (rgb_path, rgb)):
        os.makedirs(osp.dirname(path), exist_ok=True)
        assert cv2.imwrite(path, img)
    return ir_path, rgb_path


def build(cfg, scope):
    """Build a transform under a default scope, as a config would."""
    with DefaultScope.overwrite_default_scope(scope):
        return TRANSFORMS.build(cfg)


def bright_box(ir):
    """(x1, y1, x2, y2) bounding the pixels brighter than BRIGHT."""
    ys, xs = np.nonzero(ir > BRIGHT)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def check_pixel_aligned(ir_chw, rgb_chw):
    """RGB = f(IR) at every pixel; padding (IR = 0) is 0 in both."""
    ir = ir_chw[0].numpy().astype(int)
    for channel in ir_chw[1:]:
        np.testing.assert_array_equal(channel.numpy(), ir)
    rgb = rgb_chw.numpy().astype(int)
    np.testing.assert_array_equal(rgb[0], ir)
    valid = ir > 0
    assert np.abs(rgb[1][valid] + ir[valid] - 255).max() <= 1
    assert (rgb[2][valid] == 40).all()
    assert (rgb[:, ~valid] == 0).all()


# ---------------------------------------------------------------- loading
@pytest.mark.parametrize('ir_channels', [1, 3])
def test_load_pair_png(tmp_path, ir_channels):
    ir_path, rgb_path = write_pair(str(tmp_path))
    load = LoadPairedImageFromFile(ir_channels=ir_channels)
    results = load(dict(img_path=ir_path, rgb_path=rgb_path))
    assert results['img'].shape == (HEIGHT, WIDTH, ir_channels)
    assert results['img'].dtype == np.uint8
    for channel in range(ir_channels):
        np.testing.assert_array_equal(results['img'][..., channel],
                                      ir_pattern())
    np.testing.assert_array_equal(results['img_rgb'], rgb_of(ir_pattern()))
    assert results['img_shape'] == results['ori_shape'] == (HEIGHT, WIDTH)
    assert results['rgb_ori_shape'] == (HEIGHT, WIDTH)


def test_load_pair_kaist_like_jpeg_one_channel(tmp_path):
    ir_path, rgb_path = write_pair(str(tmp_path), ext='jpg')
    results = LoadPairedImageFromFile(ir_channels=1, to_float32=True)(
        dict(img_path=ir_path, rgb_path=rgb_path))
    assert results['img'].shape == (HEIGHT, WIDTH, 1)
    assert results['img'].dtype == results['img_rgb'].dtype == np.float32
    colour = cv2.imread(ir_path, cv2.IMREAD_COLOR)
    assert np.abs(results['img'][..., 0] - colour[..., 0]).max() <= 2


@pytest.mark.parametrize('missing', ['ir', 'rgb'])
def test_load_pair_missing_file_names_both_paths(tmp_path, missing):
    ir_path, rgb_path = write_pair(str(tmp_path))
    gone = ir_path if missing == 'ir' else rgb_path
    gone = gone.replace('f0', 'absent')
    paths = dict(img_path=ir_path, rgb_path=rgb_path)
    paths['img_path' if missing == 'ir' else 'rgb_path'] = gone
    load = LoadPairedImageFromFile()
    with pytest.raises(FileNotFoundError) as error:
        load(dict(paths))
    assert paths['img_path'] in str(error.value)
    assert paths['rgb_path'] in str(error.value)
    assert LoadPairedImageFromFile(ignore_empty=True)(dict(paths)) is None


def test_load_pair_without_rgb_path_key(tmp_path):
    ir_path, _ = write_pair(str(tmp_path))
    with pytest.raises(KeyError, match='rgb_path'):
        LoadPairedImageFromFile()(dict(img_path=ir_path))


def test_load_pair_size_mismatch(tmp_path):
    ir_path, rgb_path = write_pair(
        str(tmp_path), rgb=np.full((30, 40, 3), (10, 20, 30), np.uint8))
    with pytest.raises(ValueError) as error:
        LoadPairedImageFromFile()(dict(img_path=ir_path, rgb_path=rgb_path))
    message = str(error.value)
    assert ir_path in message and rgb_path in message
    assert '(60, 80)' in message and '(30, 40)' in message

    results = LoadPairedImageFromFile(resize_rgb_to_ir=True)(
        dict(img_path=ir_path, rgb_path=rgb_path))
    assert results['img_rgb'].shape == (HEIGHT, WIDTH, 3)
    assert (results['img_rgb'] == np.array([10, 20, 30], np.uint8)).all()
    assert results['rgb_ori_shape'] == (30, 40)

    results = LoadPairedImageFromFile(check_same_size=False)(
        dict(img_path=ir_path, rgb_path=rgb_path))
    assert results['img_rgb'].shape == (30, 40, 3)


def test_load_pair_rejects_bad_ir_channels():
    with pytest.raises(ValueError, match='ir_channels'):
        LoadPairedImageFromFile(ir_channels=2)


# ------------------------------------------------------ detection pipeline
def write_coco(root):
    write_pair(root)
    x1, y1, x2, y2 = BOX
    coco = dict(
        images=[
            dict(
                id=1,
                file_name='lwir/f0.png',
                rgb_file_name='visible/f0.png',
                width=WIDTH,
                height=HEIGHT,
                is_night=True)
        ],
        annotations=[
            dict(
                id=1,
                image_id=1,
                category_id=1,
                bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1),
                iscrowd=0)
        ],
        categories=[dict(id=1, name='person')])
    with open(osp.join(root, 'ann.json'), 'w') as f:
        json.dump(coco, f)


def det_pipeline(ir_channels):
    return [
        dict(type='LoadPairedImageFromFile', ir_channels=ir_channels),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(
            type='PairedGeometric',
            transforms=[
                dict(type='Resize', scale=(100, 75), keep_ratio=True),
                dict(
                    type='RandomFlip',
                    prob=[0.3, 0.3],
                    direction=['horizontal', 'vertical']),
                dict(type='RandomCrop', crop_size=(90, 64)),
                dict(type='Pad', size_divisor=14),
            ]),
        dict(type='PackPairedDetInputs'),
    ]


@pytest.mark.parametrize('ir_channels', [1, 3])
def test_det_pipeline_aligned_pair_and_boxes_once(tmp_path, ir_channels):
    root = str(tmp_path)
    write_coco(root)
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = PairedCocoDataset(
            data_root=root,
            ann_file='ann.json',
            data_prefix=dict(img=''),
            metainfo=dict(classes=('person', )),
            pipeline=det_pipeline(ir_channels))
    directions = set()
    for seed in range(12):
        np.random.seed(seed)
        random.seed(seed)
        packed = dataset[0]
        ir, rgb = packed['inputs']['ir'], packed['inputs']['rgb']
        # Resize 1.25x to 100x75, crop to 90x64, pad to multiples of 14.
        assert ir.shape == (ir_channels, 70, 98) and ir.dtype == torch.uint8
        assert rgb.shape == (3, 70, 98) and rgb.dtype == torch.uint8
        assert ir.is_contiguous() and rgb.is_contiguous()
        check_pixel_aligned(ir, rgb)

        sample = packed['data_samples']
        assert isinstance(sample, DetDataSample)
        boxes = sample.gt_instances.bboxes.tensor.numpy()
        assert boxes.shape == (1, 4)
        # The box was moved with the image exactly once.
        np.testing.assert_allclose(boxes[0], bright_box(ir[0].numpy()),
                                   atol=1.5)
        assert sample.rgb_path.endswith('visible/f0.png')
        assert sample.is_night is True
        assert sample.scale_factor == (1.25, 1.25)
        directions.add(sample.flip_direction)
    assert directions == {None, 'horizontal', 'vertical'}


def test_paired_geometric_requires_same_size_and_rgb():
    geometric = build(
        dict(type='PairedGeometric',
             transforms=[dict(type='RandomFlip', prob=0.5)]),
        'mmdet')
    results = dict(img=np.zeros((4, 6, 1), np.uint8))
    with pytest.raises(KeyError, match='img_rgb'):
        geometric(dict(results))
    results['img_rgb'] = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match=r'\(4, 5\)'):
        geometric(results)


def test_paired_geometric_rejects_uncached_randomness():
    """mmdet CutOut draws its holes outside @cache_randomness."""
    geometric = build(
        dict(
            type='PairedGeometric',
            transforms=[dict(type='CutOut', n_holes=1, cutout_shape=(2, 2))]),
        'mmdet')
    ir = np.repeat(ir_pattern()[..., None], 3, -1)
    results = dict(img=ir, img_rgb=rgb_of(ir[..., 0]), img_shape=ir.shape[:2])
    with pytest.raises(RuntimeError, match='cache_randomness'):
        geometric(results)


def test_paired_geometric_refuses_a_retry_loop_instead_of_hanging(
        monkeypatch):
    """MinIoURandomCrop redraws its IoU mode until a crop fits; with the
    mode cached that loop never ends: the second draw is refused."""
    from mmdet.structures.bbox import HorizontalBoxes
    geometric = build(
        dict(type='PairedGeometric',
             transforms=[dict(type='MinIoURandomCrop', min_ious=(0.9, ),
                              min_crop_size=0.9)]), 'mmdet')
    ir = np.repeat(ir_pattern()[..., None], 3, -1)
    results = dict(
        img=ir, img_rgb=rgb_of(ir[..., 0]), img_shape=ir.shape[:2],
        gt_bboxes=HorizontalBoxes(np.array([[1., 1., 3., 3.]], np.float32)),
        gt_bboxes_labels=np.zeros(1, np.int64),
        gt_ignore_flags=np.zeros(1, bool))
    # the mode drawn is min IoU 0.9 (not 1, no crop), which no crop of a
    # 2 x 2 box in the 80 x 60 image reaches: the crop draws the mode again
    # (mmdet draws it with numpy's random.choice)
    monkeypatch.setattr(np.random, 'choice', lambda modes: 0.9)
    with pytest.raises(RuntimeError,
                       match=r'_random_mode\(\) more than once'):
        geometric(results)


def same_pair():
    """A three-channel IR image and an identical RGB image."""
    ir = np.repeat(ir_pattern()[..., None], 3, -1)
    return dict(img=ir.copy(), img_rgb=ir.copy(), img_shape=ir.shape[:2])


TORCHVISION_GEOMETRY = [
    dict(type='NumpyToPIL', to_rgb=False),
    dict(type='torchvision/RandomHorizontalFlip', p=0.5),
    dict(type='torchvision/RandomResizedCrop', size=32),
    dict(type='PILToNumpy', to_bgr=False),
]


@pytest.mark.parametrize('random_apply', [True, False])
def test_paired_geometric_rejects_torch_randomness(random_apply):
    """mmpretrain torchvision/* transforms draw from torch's generator."""
    pytest.importorskip('mmpretrain')
    transforms = ([dict(type='RandomApply', transforms=TORCHVISION_GEOMETRY,
                        prob=1.0)] if random_apply else TORCHVISION_GEOMETRY)
    geometric = build(dict(type='PairedGeometric', transforms=transforms),
                      'mmpretrain')
    for seed in range(3):
        torch.manual_seed(seed)
        with pytest.raises(RuntimeError, match='cache_randomness'):
            geometric(same_pair())


def test_paired_geometric_deterministic_torchvision_and_pil_output():
    pytest.importorskip('mmpretrain')
    geometric = build(
        dict(
            type='PairedGeometric',
            transforms=[
                dict(type='NumpyToPIL', to_rgb=False),
                dict(type='torchvision/Resize', size=(20, 30)),
                dict(type='PILToNumpy', to_bgr=False),
            ]), 'mmpretrain')
    out = geometric(same_pair())
    assert isinstance(out['img'], np.ndarray)
    assert out['img'].shape == (20, 30, 3)
    np.testing.assert_array_equal(out['img'], out['img_rgb'])

    to_pil = build(
        dict(type='PairedGeometric',
             transforms=[dict(type='NumpyToPIL', to_rgb=False)]),
        'mmpretrain')
    with pytest.raises(TypeError, match='NumpyToPIL.*numpy images'):
        to_pil(same_pair())


def boxes_pair():
    from mmdet.structures.bbox import HorizontalBoxes
    results = same_pair()
    results.update(
        gt_bboxes=HorizontalBoxes(np.array([BOX], np.float32)),
        gt_bboxes_labels=np.array([0]),
        gt_ignore_flags=np.array([False]))
    return results


def test_paired_geometric_random_affine_aligned_boxes_once():
    """mmdet RandomAffine reads results['gt_bboxes'] unconditionally."""
    affine = dict(type='RandomAffine', max_rotate_degree=15,
                  max_translate_ratio=0.1, scaling_ratio_range=(0.8, 1.2))
    geometric = build(dict(type='PairedGeometric', transforms=[affine]),
                      'mmdet')
    alone = build(affine, 'mmdet')
    for seed in range(6):
        np.random.seed(seed)
        random.seed(seed)
        out = geometric(boxes_pair())
        np.random.seed(seed)
        random.seed(seed)
        expected = alone(boxes_pair())
        np.testing.assert_array_equal(out['img'], out['img_rgb'])
        np.testing.assert_array_equal(out['img'], expected['img'])
        # The boxes were transformed once, as by RandomAffine alone.
        assert len(out['gt_bboxes']) == len(expected['gt_bboxes']) == 1
        np.testing.assert_array_equal(out['gt_bboxes'].numpy(),
                                      expected['gt_bboxes'].numpy())
        np.testing.assert_array_equal(out['gt_bboxes_labels'], [0])
        assert out['img_shape'] == expected['img_shape']


def test_paired_geometric_rgb_pass_sees_emptied_instances_only():
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    seen = []

    def inspect(results):
        seen.append(dict(
            present='gt_bboxes' in results,
            got=results.get('gt_bboxes'),
            boxes=results['gt_bboxes'],
            labels=results['gt_bboxes_labels'],
            masks=results['gt_masks']))
        return results

    results = boxes_pair()
    results['gt_masks'] = BitmapMasks(
        np.zeros((1, HEIGHT, WIDTH), np.uint8), HEIGHT, WIDTH)
    results['gt_seg_map'] = seg_pattern()
    geometric = build(dict(type='PairedGeometric', transforms=[inspect]),
                      'mmdet')
    out = geometric(results)
    assert len(out['gt_bboxes']) == len(out['gt_masks']) == 1
    ir_pass, rgb_pass = seen
    assert ir_pass['present'] and len(ir_pass['boxes']) == 1
    assert not rgb_pass['present'] and rgb_pass['got'] is None
    assert isinstance(rgb_pass['boxes'], HorizontalBoxes)
    assert rgb_pass['boxes'].tensor.shape == (0, 4)
    assert rgb_pass['labels'].shape == (0, )
    assert isinstance(rgb_pass['masks'], BitmapMasks)
    assert len(rgb_pass['masks']) == 0

    def reads_seg(results):
        results['gt_seg_map']
        return results

    geometric = build(dict(type='PairedGeometric', transforms=[reads_seg]),
                      'mmdet')
    with pytest.raises(KeyError, match=r"transforms\[0\].*'gt_seg_map'"):
        geometric(dict(same_pair(), gt_seg_map=seg_pattern()))


def test_paired_geometric_random_crop_negative_crop_unchanged():
    """Crops of mmdet RandomCrop without the box are still dropped once (IR
    pass), not turned into an RGB-only drop by the emptied boxes."""
    geometric = build(
        dict(type='PairedGeometric',
             transforms=[dict(type='RandomCrop', crop_size=(20, 20))]),
        'mmdet')
    kept = dropped = 0
    for seed in range(20):
        np.random.seed(seed)
        out = geometric(boxes_pair())
        if out is None:
            dropped += 1
            continue
        kept += 1
        assert out['img'].shape == (20, 20, 3)
        np.testing.assert_array_equal(out['img'], out['img_rgb'])
        assert len(out['gt_bboxes']) >= 1
    assert kept and dropped


# --------------------------------------------------- segmentation pipeline
def test_seg_pipeline_aligned_pair_and_seg_map_once(tmp_path):
    root = str(tmp_path)
    ir_path, rgb_path = write_pair(root)
    seg_path = osp.join(root, 'seg.png')
    cv2.imwrite(seg_path, seg_pattern())
    pipeline = Compose([
        build(cfg, 'mmseg') for cfg in [
            dict(type='LoadPairedImageFromFile', ir_channels=1),
            dict(type='LoadAnnotations'),
            dict(
                type='PairedGeometric',
                transforms=[
                    dict(
                        type='RandomResize',
                        scale=(80, 60),
                        ratio_range=(0.8, 1.5),
                        keep_ratio=True),
                    dict(
                        type='RandomCrop',
                        crop_size=(40, 56),
                        cat_max_ratio=0.75),
                    dict(type='RandomFlip', prob=0.5),
                    dict(type='Pad', size=(60, 40)),
                ]),
            dict(type='PackPairedSegInputs'),
        ]
    ])
    flips = set()
    for seed in range(6):
        np.random.seed(seed)
        packed = pipeline(
            dict(
                img_path=ir_path,
                rgb_path=rgb_path,
                seg_map_path=seg_path,
                seg_fields=[],
                reduce_zero_label=False,
                is_night=False))
        ir, rgb = packed['inputs']['ir'], packed['inputs']['rgb']
        assert ir.shape == (1, 40, 60) and rgb.shape == (3, 40, 60)
        check_pixel_aligned(ir, rgb)
        sample = packed['data_samples']
        assert isinstance(sample, SegDataSample)
        seg = sample.gt_sem_seg.data[0].numpy()
        assert seg.shape == (40, 60)
        assert (seg[:, 56:] == 255).all()  # padded with the seg pad value
        # The map moved with the images once: class 1 is where IR is bright.
        bright = ir[0].numpy() > BRIGHT
        on_object = seg == 1
        if on_object.any() or bright.any():
            union = (bright | on_object).sum()
            assert (bright & on_object).sum() / union > 0.75
        assert sample.rgb_path == rgb_path and sample.is_night is False
        flips.add(sample.flip)
    assert flips == {True, False}


# ---------------------------------------------------------- one modality
@pytest.mark.parametrize('modality', ['rgb', 'ir'])
def test_apply_to_modality_changes_only_that_image(modality):
    ir = ir_pattern()[..., None]
    rgb = rgb_of(ir[..., 0])
    results = dict(img=ir.copy(), img_rgb=rgb.copy(), img_shape=ir.shape[:2])
    gamma = build(
        dict(
            type='ApplyToModality',
            modality=modality,
            transforms=[dict(type='AdjustGamma', gamma=2.0)]), 'mmseg')
    out = gamma(results)
    table = np.floor((np.arange(256) / 255.0)**0.5 * 255).astype(np.uint8)
    changed, unchanged = ('img_rgb', 'img') if modality == 'rgb' else ('img',
                                                                     'img_rgb')
    source = dict(img=ir, img_rgb=rgb)
    np.testing.assert_array_equal(out[unchanged], source[unchanged])
    assert out[changed].shape == source[changed].shape
    np.testing.assert_array_equal(out[changed], table[source[changed]])


def test_apply_to_modality_rejects_geometry_and_bad_modality():
    with pytest.raises(ValueError, match='modality'):
        ApplyToModality(transforms=[], modality='depth')
    resize = build(
        dict(
            type='ApplyToModality',
            modality='rgb',
            transforms=[dict(type='Resize', scale=(20, 10))]), 'mmdet')
    ir = ir_pattern()[..., None]
    with pytest.raises(RuntimeError, match='PairedGeometric'):
        resize(dict(img=ir, img_rgb=rgb_of(ir[..., 0]), img_shape=(60, 80)))


@pytest.mark.parametrize('transform, scope', [
    (dict(type='RandomFlip', prob=1.0), 'mmdet'),
    # not flipping still writes flip=False: refused on every sample, not
    # only on those that happen to flip
    (dict(type='RandomFlip', prob=0.0), 'mmdet'),
    (dict(type='RandomFlip', prob=1.0), 'mmseg'),
    (dict(type='RandomFlip', prob=1.0, direction='vertical'), 'mmpretrain'),
])
@pytest.mark.parametrize('modality', ['rgb', 'ir'])
def test_apply_to_modality_rejects_size_keeping_geometry(
        transform, scope, modality):
    """A flip keeps the size, but would leave the other image and the boxes
    behind; it is named, with where it belongs."""
    wrapper = build(
        dict(type='ApplyToModality', modality=modality,
             transforms=[dict(type='mmseg.AdjustGamma', gamma=2.0),
                         transform]), scope)
    ir = ir_pattern()[..., None]
    results = dict(
        img=ir.copy(), img_rgb=rgb_of(ir[..., 0]), img_path='a/lwir/f0.png',
        img_shape=ir.shape[:2], gt_bboxes=np.array([BOX], np.float32),
        flip=False, flip_direction=None)
    with pytest.raises(RuntimeError, match=(
            rf"ApplyToModality\(modality='{modality}'\): transforms\[1\] "
            r"RandomFlip.* a/lwir/f0\.png .*'flip'.*PairedGeometric")):
        wrapper(results)


def test_apply_to_modality_rejects_in_place_box_changes():
    """mmdet boxes are flipped in place: compared with a copy taken before."""
    from mmdet.structures.bbox import HorizontalBoxes

    def flip_boxes_only(results):
        results['gt_bboxes'].flip_(results['img_shape'])
        return results

    ir = ir_pattern()[..., None]
    wrapper = ApplyToModality(transforms=[flip_boxes_only], modality='ir')
    with pytest.raises(RuntimeError, match=r"\['gt_bboxes'\]"):
        wrapper(dict(img=ir, img_rgb=rgb_of(ir[..., 0]),
                     img_shape=ir.shape[:2],
                     gt_bboxes=HorizontalBoxes(np.array([BOX], np.float32))))


@pytest.mark.parametrize('modality', ['rgb', 'ir'])
def test_apply_to_modality_keeps_photometric_transforms(modality):
    """The photometric transforms of the configs, README and tests pass and
    leave the meta information and the annotations as they were."""
    wrapper = build(
        dict(type='ApplyToModality', modality=modality,
             transforms=[dict(type='PhotoMetricDistortion')]), 'mmdet')
    ir = np.repeat(ir_pattern()[..., None], 3, -1)
    boxes = np.array([BOX], np.float32)
    results = dict(
        img=ir.copy(), img_rgb=rgb_of(ir[..., 0]), img_shape=ir.shape[:2],
        gt_bboxes=boxes.copy(), flip=True, flip_direction='horizontal',
        scale_factor=(1.0, 1.0))
    out = wrapper(results)
    assert out['img'].shape == out['img_rgb'].shape == ir.shape
    np.testing.assert_array_equal(out['gt_bboxes'], boxes)
    assert out['flip'] is True and out['scale_factor'] == (1.0, 1.0)


# ------------------------------------------------------------- packing
def test_pack_paired_inputs_types_and_shapes():
    ir = ir_pattern()
    rgb = rgb_of(ir)
    results = dict(
        img=ir,  # a one-channel IR image that lost its channel axis
        img_rgb=rgb[:, ::-1],  # not contiguous
        img_path='a/lwir/f0.png',
        rgb_path='a/visible/f0.png',
        img_id=3,
        ori_shape=(HEIGHT, WIDTH),
        img_shape=(HEIGHT, WIDTH),
        gt_bboxes=np.array([BOX], np.float32),
        gt_bboxes_labels=np.array([0]),
        gt_ignore_flags=np.array([False]))
    packed = PackPairedDetInputs()(dict(results))
    ir_tensor, rgb_tensor = packed['inputs']['ir'], packed['inputs']['rgb']
    assert ir_tensor.shape == (1, HEIGHT, WIDTH)
    np.testing.assert_array_equal(ir_tensor[0].numpy(), ir)
    assert rgb_tensor.shape == (3, HEIGHT, WIDTH)
    assert rgb_tensor.is_contiguous()
    np.testing.assert_array_equal(rgb_tensor.numpy(),
                                  rgb[:, ::-1].transpose(2, 0, 1))
    sample = packed['data_samples']
    assert sample.img_id == 3 and sample.rgb_path == 'a/visible/f0.png'
    assert 'is_night' not in sample.metainfo
    assert len(sample.gt_instances) == 1

    seg_packed = PackPairedSegInputs()(
        dict(img=ir[..., None], img_rgb=rgb, gt_seg_map=seg_pattern(),
             is_night=True))
    assert seg_packed['inputs']['ir'].shape == (1, HEIGHT, WIDTH)
    assert seg_packed['inputs']['rgb'].shape == (3, HEIGHT, WIDTH)
    assert seg_packed['data_samples'].is_night is True

    with pytest.raises(KeyError, match='img_rgb'):
        PackPairedDetInputs()(dict(img=ir, img_path='x.png'))


@pytest.mark.parametrize('packer', [PackPairedDetInputs, PackPairedSegInputs])
def test_pack_refuses_images_that_are_no_longer_aligned(packer):
    """E.g. a Resize written outside PairedGeometric resized the IR image
    only; padding both into one canvas would pair unrelated pixels."""
    ir = ir_pattern()
    results = dict(
        img=ir[:30, :40], img_rgb=rgb_of(ir), img_path='a/lwir/f0.png',
        rgb_path='a/visible/f0.png', img_shape=(30, 40))
    with pytest.raises(ValueError, match=(
            r'IR image a/lwir/f0\.png is \(30, 40\) .* RGB pair '
            r'a/visible/f0\.png is \(60, 80\).*inside PairedGeometric')):
        packer()(results)


# ------------------------------------------------ Stage-1 dataset configs
@pytest.mark.parametrize('name, scope', [('kaist_paired', 'mmdet'),
                                         ('flir_paired', 'mmdet'),
                                         ('mfnet_paired', 'mmseg')])
def test_stage1_config_pipelines(tmp_path, repo_root, name, scope):
    """The pipelines of configs/_base_/datasets/*_paired.py on written files.

    KAIST / FLIR pairs are two files, an MFNet frame one B, G, R, thermal
    PNG. The 80x60 frames are resized, keeping their ratio, to 640x480
    (within the KAIST / FLIR 640x512 and MFNet 640x480 scales).
    """
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'datasets', f'{name}.py'))
    ir = ir_pattern()
    if name == 'mfnet_paired':
        path = str(tmp_path / '00001N.png')
        cv2.imwrite(path, np.dstack([rgb_of(ir), ir]))
        info = dict(img_path=path, rgb_path=path, seg_fields=[])
    else:
        ir_path, rgb_path = write_pair(str(tmp_path))
        info = dict(img_path=ir_path, rgb_path=rgb_path)
    for pipeline_cfg in (cfg.train_pipeline, cfg.test_pipeline):
        pipeline = Compose([build(step, scope) for step in pipeline_cfg])
        packed = pipeline(dict(info))
        ir_tensor, rgb_tensor = packed['inputs']['ir'], packed['inputs']['rgb']
        assert ir_tensor.shape == rgb_tensor.shape == (3, 480, 640)
        check_pixel_aligned(ir_tensor, rgb_tensor)
