"""KAISTDataset: bbGt files -> converter -> dataset -> mmdet IR pipeline."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

from mmfreqkd.datasets import KAISTDataset
from mmfreqkd.datasets.converters import kaist_to_coco, save_coco_json

HEADER = '% bbGt version=3\n'
WIDTH, HEIGHT = 96, 64
FRAMES = {
    # day: person, occluded person, three ignore labels, a person partly
    # outside the image and a person wholly outside it
    'set01/V000/I00004': (HEADER + 'person 10 12 8 20 0 0 0 0 0 0 0\n'
                          'person 30 10 9 22 1 30 10 9 15 0 0\n'
                          'people 40 5 20 18 0 0 0 0 0 0 0\n'
                          'cyclist 2 30 12 16 0 0 0 0 0 0 0\n'
                          'person? 60 40 5 11 0 0 0 0 0 0 0\n'
                          'person 85 40 20 30 0 0 0 0 0 0 0\n'
                          'person 120 10 8 20 0 0 0 0 0 0 0\n'),
    # night, header only
    'set04/V001/I00000': HEADER,
}


def make_kaist(root):
    """A converted KAIST tree: images, bbGt files, split and COCO JSON."""
    for index, (frame, text) in enumerate(FRAMES.items()):
        set_name, video, image = frame.split('/')
        for modality in ('lwir', 'visible'):
            folder = osp.join(root, 'images', set_name, video, modality)
            os.makedirs(folder, exist_ok=True)
            pixels = np.full((HEIGHT, WIDTH, 3), 40 + 60 * index, np.uint8)
            cv2.imwrite(osp.join(folder, image + '.jpg'), pixels)
        ann = osp.join(root, 'annotations', frame + '.txt')
        os.makedirs(osp.dirname(ann), exist_ok=True)
        with open(ann, 'w') as f:
            f.write(text)
    os.makedirs(osp.join(root, 'imageSets'))
    with open(osp.join(root, 'imageSets', 'split.txt'), 'w') as f:
        f.write('\n'.join(FRAMES))
    coco, _ = kaist_to_coco(root, 'imageSets/split.txt', show_progress=False)
    save_coco_json(coco, osp.join(root, 'annotations', 'split.json'))
    return str(root)


def build(root, **kwargs):
    cfg = dict(
        type='KAISTDataset',
        data_root=root,
        ann_file='annotations/split.json',
        data_prefix=dict(img='images/'),
        pipeline=[],
        filter_cfg=None,
        serialize_data=False)  # skips a slow gc.collect()
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def test_kaist_dataset_infos(tmp_path):
    root = make_kaist(tmp_path)
    dataset = build(root)
    assert isinstance(dataset, KAISTDataset)
    assert dataset.metainfo['classes'] == ('person', )
    assert len(dataset) == 2
    day, night = dataset.get_data_info(0), dataset.get_data_info(1)
    assert day['img_path'] == osp.join(root, 'images', 'set01', 'V000',
                                       'lwir', 'I00004.jpg')
    assert day['rgb_path'] == osp.join(root, 'images', 'set01', 'V000',
                                       'visible', 'I00004.jpg')
    assert (day['frame'], day['is_night']) == ('set01/V000/I00004', False)
    assert (night['frame'], night['is_night']) == ('set04/V001/I00000', True)
    assert (day['width'], day['height']) == (WIDTH, HEIGHT)
    # The box wholly outside the image is left out (as CocoDataset does);
    # the box partly outside keeps its annotated, unclipped extent.
    assert [(i['bbox'], i['ignore_flag'], i['bbox_label'])
            for i in day['instances']] == [
                ([10, 12, 18, 32], 0, 0),
                ([30, 10, 39, 32], 0, 0),
                ([40, 5, 60, 23], 1, 0),
                ([2, 30, 14, 46], 1, 0),
                ([60, 40, 65, 51], 1, 0),
                ([85, 40, 105, 70], 0, 0),
            ]
    assert night['instances'] == []


def test_kaist_empty_frames_kept_unless_filtered(tmp_path):
    root = make_kaist(tmp_path)
    assert len(build(root)) == 2
    filtered = build(root, filter_cfg=dict(filter_empty_gt=True))
    frames = [filtered.get_data_info(i)['frame'] for i in range(len(filtered))]
    assert frames == [
        'set01/V000/I00004'
    ]


def test_kaist_standard_ir_pipeline(tmp_path):
    root = make_kaist(tmp_path)
    dataset = build(
        root,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'is_night', 'frame')),
        ])
    with DefaultScope.overwrite_default_scope('mmdet'):
        sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, HEIGHT, WIDTH)
    # The LWIR image of frame 0 was written with value 40 (JPEG is exact on
    # flat images up to rounding).
    assert abs(float(sample['inputs'].float().mean()) - 40) <= 1
    data_sample = sample['data_samples']
    gt = data_sample.gt_instances.bboxes
    ignored = data_sample.ignored_instances.bboxes
    gt = gt.tensor if hasattr(gt, 'tensor') else gt
    ignored = ignored.tensor if hasattr(ignored, 'tensor') else ignored
    assert gt.tolist() == [[10, 12, 18, 32], [30, 10, 39, 32],
                           [85, 40, 105, 70]]
    assert ignored.tolist() == [[40, 5, 60, 23], [2, 30, 14, 46],
                                [60, 40, 65, 51]]
    assert data_sample.gt_instances.labels.tolist() == [0, 0, 0]
    assert data_sample.is_night is False
    assert data_sample.frame == 'set01/V000/I00004'


def test_kaist_missing_rgb_names_both_paths(tmp_path):
    root = make_kaist(tmp_path)
    rgb = osp.join(root, 'images', 'set04', 'V001', 'visible', 'I00000.jpg')
    ir = osp.join(root, 'images', 'set04', 'V001', 'lwir', 'I00000.jpg')
    os.remove(rgb)
    with pytest.raises(FileNotFoundError) as error:
        build(root)
    message = str(error.value)
    assert rgb in message and ir in message and 'RGB missing' in message
    assert len(build(root, check_pairs=False)) == 2


def test_kaist_requires_converter_fields(tmp_path):
    root = make_kaist(tmp_path)
    path = osp.join(root, 'annotations', 'split.json')
    with open(path) as f:
        coco = json.load(f)
    del coco['images'][1]['rgb_file_name']
    with open(path, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(KeyError, match='rgb_file_name') as error:
        build(root)
    assert 'split.json' in str(error.value)


def test_kaist_class_names_must_match_file(tmp_path):
    root = make_kaist(tmp_path)
    with pytest.raises(ValueError,
                       match=r"class of \('pedestrian',\) must be the name "
                       r'of exactly one category of the file, whose '
                       r'categories of those names are \(\)'):
        build(root, metainfo=dict(classes=('pedestrian', )))


def rewrite_json(root, edit):
    """Apply ``edit`` to the converted JSON of make_kaist; return its path."""
    path = osp.join(root, 'annotations', 'split.json')
    with open(path) as f:
        coco = json.load(f)
    edit(coco)
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


def set_key(entry, key, value):
    entry[key] = value


@pytest.mark.parametrize('edit, error, message', [
    # the first frame listed again under another id
    (lambda c: c['images'].append(dict(c['images'][0], id=99)), ValueError,
     r"image id 99 \('set01/V000/lwir/I00004.jpg'\): the file is listed "
     'twice, also as image id 1'),
    (lambda c: set_key(c['images'][1], 'id', 1), ValueError,
     r"image id 1 \('set04/V001/lwir/I00000.jpg'\): the id is also that of "
     'image'),
    (lambda c: set_key(c['annotations'][0], 'category_id', 7), ValueError,
     r"annotation id 1 \(image id 1\): category_id 7 is not one of the "
     r"file's category ids \[1\]"),
    (lambda c: set_key(c['annotations'][2], 'image_id', 42), ValueError,
     'annotation id 3: image_id 42 is not the id of any image'),
    (lambda c: set_key(c['annotations'][2], 'id', 1), ValueError,
     'annotation id 1 is listed twice'),
    (lambda c: c.pop('annotations'), KeyError,
     r'no "annotations" list; expected a COCO-style detection file \(write '
     r'"annotations": \[\] for a file without boxes\)'),
    (lambda c: set_key(c['annotations'][1], 'bbox', [10, 10, 5]), ValueError,
     r'annotation id 2 \(image id 1\): bbox must be 4 finite numbers '
     r'\[x, y, w, h\], got \[10, 10, 5\]'),
    (lambda c: set_key(c['annotations'][1], 'bbox', [10, 10, 'a', 4]),
     ValueError, 'annotation id 2 .*bbox must be 4 finite numbers'),
    (lambda c: set_key(c['annotations'][1], 'bbox',
                       [10, float('nan'), 5, 4]), ValueError,
     'annotation id 2 .*bbox must be 4 finite numbers'),
    (lambda c: set_key(c['annotations'][1], 'bbox', [10, 10, -5, 4]),
     ValueError, r'annotation id 2 \(image id 1\): bbox \[10, 10, -5, 4\] '
     'has a negative width or height'),
    (lambda c: set_key(c['annotations'][1], 'iscrowd', 'no'), ValueError,
     "annotation id 2 .*iscrowd must be 0 or 1, got 'no'"),
    (lambda c: set_key(c['images'][1], 'is_night', 'false'), ValueError,
     r"image id 2 \('set04/V001/lwir/I00000.jpg'\): is_night must be true "
     "or false .a JSON boolean., got 'false'"),
    (lambda c: c['images'][0].pop('width'), ValueError,
     'image id 1 .*: width must be a number > 0, got None'),
    (lambda c: set_key(c, 'images', []), ValueError,
     'no images .its "images" list is empty'),
], ids=['frame twice', 'image id twice', 'unknown category', 'unknown image',
        'annotation id twice', 'no annotations', 'bbox of 3', 'bbox string',
        'bbox nan', 'bbox negative', 'iscrowd string', 'is_night string',
        'no width', 'no images'])
def test_kaist_inconsistent_json_is_an_error_naming_it(
        tmp_path, edit, error, message):
    root = make_kaist(tmp_path)
    path = rewrite_json(root, edit)
    with pytest.raises(error, match=message) as info:
        build(root)
    assert str(info.value).strip('\'"').startswith(path)


def test_kaist_filtering_every_frame_away_is_an_error(tmp_path):
    root = make_kaist(tmp_path)
    path = rewrite_json(root, lambda c: set_key(c, 'annotations', []))
    assert len(build(root)) == 2
    with pytest.raises(ValueError, match='leaves none of its 2 images') as e:
        build(root, filter_cfg=dict(filter_empty_gt=True))
    assert path in str(e.value)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('content, message', [
    (b'', 'the file is empty'),
    (b'not an image', ''),
])
def test_kaist_unreadable_image_is_named(tmp_path, backend, content,
                                         message):
    root = make_kaist(tmp_path)
    ir = osp.join(root, 'images', 'set01', 'V000', 'lwir', 'I00004.jpg')
    with open(ir, 'wb') as f:
        f.write(content)
    dataset = build(
        root,
        pipeline=[
            dict(type='LoadPairedImageFromFile', imdecode_backend=backend)
        ])
    with pytest.raises(ValueError, match=f'Cannot decode {ir} as an image') \
            as error:
        dataset[0]
    assert message in str(error.value)
    assert 'visible' in str(error.value)  # the RGB path of the pair


@pytest.mark.parametrize('data_prefix', [None, dict(img_path='images/')])
def test_kaist_image_folder_needs_mmdets_key(tmp_path, data_prefix):
    """Without data_prefix['img'] mmdet's parser failed with KeyError: 'img'."""
    root = make_kaist(tmp_path)
    cfg = dict(type='KAISTDataset', data_root=root,
               ann_file='annotations/split.json', pipeline=[])
    if data_prefix is not None:
        cfg['data_prefix'] = data_prefix
    with pytest.raises(KeyError, match=r"KAISTDataset \(.*split.json\): "
                       r"data_prefix needs the image folder under "
                       r"MMDetection's key 'img'"):
        with DefaultScope.overwrite_default_scope('mmdet'):
            DATASETS.build(cfg)
