"""The synthetic RGB-infrared generator: layouts, determinism, content."""
import glob
import json
import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS as DET_DATASETS
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS as SEG_DATASETS

from mmfreqkd.datasets.converters import (parse_kaist_annotation,
                                          parse_voc_xml)
from mmfreqkd.datasets.synthetic import make_synthetic_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def read_tree(root):
    """{relative path: bytes} of every file under root."""
    files = {}
    for path in glob.glob(osp.join(root, '**', '*'), recursive=True):
        if osp.isfile(path):
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


@pytest.mark.parametrize('layout', ['kaist', 'flir', 'mfnet'])
def test_deterministic_by_seed(tmp_path, layout):
    size = (64, 48)
    make_synthetic_dataset(layout, tmp_path / 'a', num=5, seed=3, size=size)
    make_synthetic_dataset(layout, tmp_path / 'b', num=5, seed=3, size=size)
    make_synthetic_dataset(layout, tmp_path / 'c', num=5, seed=4, size=size)
    make_synthetic_dataset(layout, tmp_path / 'd', num=7, seed=3, size=size)
    a, b = read_tree(tmp_path / 'a'), read_tree(tmp_path / 'b')
    c, d = read_tree(tmp_path / 'c'), read_tree(tmp_path / 'd')
    assert len(a) > 5 and a == b
    images = sorted(p for p in a if p.endswith(('.jpg', '.jpeg', '.png')))
    assert all(c[p] != a[p] for p in images)
    # A frame depends on the seed and its index only, not on num: the first
    # file is the first training frame in every layout.
    assert a[images[0]] == d[images[0]]


def test_kaist_layout_files_and_contents(tmp_path):
    root = str(tmp_path)
    splits = make_synthetic_dataset('kaist', root, num=12, seed=0,
                                    size=(320, 256))
    assert {k: len(v) for k, v in splits.items()} == dict(train=9, test=3)
    with open(osp.join(root, 'imageSets', 'train-all-02.txt')) as f:
        assert f.read().split() == splits['train']
    with open(osp.join(root, 'imageSets', 'test-all-20.txt')) as f:
        assert f.read().split() == splits['test']
    assert all(int(f[3:5]) <= 5 for f in splits['train'])
    assert all(int(f[3:5]) >= 6 for f in splits['test'])

    core_contrast, day_rgb, night_rgb, rgb_detail, ir_detail = \
        [], [], [], [], []
    labels = set()
    for frame in splits['train'] + splits['test']:
        set_name, video, image = frame.split('/')
        folder = osp.join(root, 'images', set_name, video)
        rgb = cv2.imread(osp.join(folder, 'visible', image + '.jpg'))
        lwir = cv2.imread(osp.join(folder, 'lwir', image + '.jpg'))
        assert rgb.shape == lwir.shape == (256, 320, 3)
        # LWIR is grey stored in three channels.
        assert np.abs(lwir.astype(int) - lwir[..., :1]).max() <= 3
        ir = lwir[..., 0].astype(np.float32)
        grey = cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY).astype(np.float32)
        (night_rgb if int(set_name[3:]) in (3, 4, 5, 9, 10, 11) else
         day_rgb).append(grey.mean())
        rgb_detail.append(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())
        ir_detail.append(np.abs(cv2.Laplacian(ir, cv2.CV_32F)).mean())
        boxes = parse_kaist_annotation(
            osp.join(root, 'annotations', frame + '.txt'))
        for box in boxes:
            labels.add(box['label'])
            x, y, w, h = box['bbox']
            assert 0 <= x and x + w <= 320 and 0 <= y and y + h <= 256
            if box['label'] == 'person' and box['occlusion'] == 0 and h >= 12:
                core = ir[y + h // 4:y + h // 2, x + w // 3:x + w - w // 3]
                core_contrast.append(core.mean() - np.median(ir))
    assert 'person' in labels and len(labels) >= 2
    # People are warm blobs where their boxes are.
    assert len(core_contrast) >= 5
    assert np.median(core_contrast) > 60
    assert np.mean(np.array(core_contrast) > 30) >= 0.8
    # Night RGB frames are darker; RGB is textured, thermal smooth.
    assert np.mean(night_rgb) < 0.6 * np.mean(day_rgb)
    assert np.mean(rgb_detail) > 2 * np.mean(ir_detail)


def test_kaist_layout_loads_with_standard_pipeline(tmp_path):
    root = str(tmp_path)
    splits = make_synthetic_dataset('kaist', root, num=8, seed=1,
                                    size=(160, 128))
    cfg = dict(
        type='KAISTDataset',
        data_root=root,
        ann_file='annotations/test-all-20.json',
        data_prefix=dict(img='images/'),
        filter_cfg=None,
        serialize_data=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs'),
        ])
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DET_DATASETS.build(cfg)
        samples = [dataset[i] for i in range(len(dataset))]
    assert len(dataset) == len(splits['test']) == 2
    for sample, frame in zip(samples, splits['test']):
        assert tuple(sample['inputs'].shape) == (3, 128, 160)
        boxes = parse_kaist_annotation(
            osp.join(root, 'annotations', frame + '.txt'))
        data_sample = sample['data_samples']
        assert len(data_sample.gt_instances) == sum(
            b['label'] == 'person' for b in boxes)
        assert len(data_sample.ignored_instances) == sum(
            b['label'] != 'person' for b in boxes)


def test_default_sizes(tmp_path):
    make_synthetic_dataset('kaist', tmp_path / 'k', num=2, write_coco=False)
    rgb = cv2.imread(
        osp.join(tmp_path, 'k', 'images', 'set00', 'V000', 'visible',
                 'I00000.jpg'))
    assert rgb.shape == (512, 640, 3)
    make_synthetic_dataset('mfnet', tmp_path / 'm', num=3)
    png = cv2.imread(
        osp.join(tmp_path, 'm', 'images', '00001D.png'), cv2.IMREAD_UNCHANGED)
    assert png.shape == (480, 640, 4)


def test_flir_layout_loads_and_drops_dogs(tmp_path):
    root = str(tmp_path)
    splits = make_synthetic_dataset('flir', root, num=10, seed=2,
                                    size=(128, 96))
    assert {k: len(v) for k, v in splits.items()} == dict(
        train=8, validation=2)
    with open(osp.join(root, 'align_validation.txt')) as f:
        assert f.read().split() == [
            frame + '_PreviewData' for frame in splits['validation']
        ]
    expected = []
    for frame in splits['train']:
        for suffix in ('_RGB.jpg', '_PreviewData.jpeg'):
            assert osp.isfile(osp.join(root, 'JPEGImages', frame + suffix))
        voc = parse_voc_xml(
            osp.join(root, 'Annotations', frame + '_PreviewData.xml'))
        assert (voc['width'], voc['height']) == (128, 96)
        assert {o['name'] for o in voc['objects']} <= {
            'person', 'car', 'bicycle', 'dog'
        }
        expected.append(
            sorted(('person', 'car', 'bicycle').index(o['name'])
                   for o in voc['objects'] if o['name'] != 'dog'))
    cfg = dict(
        type='FLIRAlignedDataset',
        data_root=root,
        ann_file='annotations/align_train.json',
        data_prefix=dict(img='JPEGImages/'),
        serialize_data=False,
        pipeline=[])
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DET_DATASETS.build(cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [
        sorted(i['bbox_label'] for i in info['instances']) for info in infos
    ] == expected


def test_mfnet_layout_loads_and_labels_match_thermal(tmp_path):
    root = str(tmp_path)
    splits = make_synthetic_dataset('mfnet', root, num=8, seed=0,
                                    size=(160, 120))
    assert {k: len(v) for k, v in splits.items()} == dict(
        train=4, val=2, test=2)
    person_heat, background_heat = [], []
    for split, stems in splits.items():
        with open(osp.join(root, split + '.txt')) as f:
            assert f.read().split() == stems
        cfg = dict(
            type='MFNetDataset',
            data_root=root,
            ann_file=split + '.txt',
            serialize_data=False,
            pipeline=[
                dict(type='LoadRGBTFromPNG', ir_channels=1),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs'),
            ])
        with DefaultScope.overwrite_default_scope('mmseg'):
            dataset = SEG_DATASETS.build(cfg)
            samples = [dataset[i] for i in range(len(dataset))]
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert [info['is_night'] for info in infos] == [
            stem.endswith('N') for stem in stems
        ]
        for sample in samples:
            thermal = sample['inputs'].numpy()[0].astype(np.float32)
            label = sample['data_samples'].gt_sem_seg.data.numpy()[0]
            assert thermal.shape == label.shape == (120, 160)
            assert label.max() <= 8
            inner = cv2.erode((label == 2).astype(np.uint8), np.ones((3, 3)))
            if inner.any():
                person_heat.append(thermal[inner > 0].mean())
            background_heat.append(thermal[label == 0].mean())
    assert person_heat, 'no person painted in 8 frames'
    assert min(person_heat) > max(background_heat) + 40


def test_cli_and_argument_errors(tmp_path, monkeypatch, capsys):
    tool = osp.join(REPO, 'tools', 'dataset_converters',
                    'make_synthetic_rgbt.py')
    out = str(tmp_path / 'flir')
    monkeypatch.setattr(sys, 'argv', [
        tool, '--layout', 'flir', '--out', out, '--num', '3', '--size', '64',
        '48', '--no-coco'
    ])
    runpy.run_path(tool, run_name='__main__')
    assert 'train: 2, validation: 1' in capsys.readouterr().out
    assert len(os.listdir(osp.join(out, 'JPEGImages'))) == 6
    assert not osp.exists(osp.join(out, 'annotations'))
    with pytest.raises(ValueError, match='layout must be one of'):
        make_synthetic_dataset('llvip', str(tmp_path / 'x'))
    with pytest.raises(ValueError, match='num must be an int >= 2'):
        make_synthetic_dataset('kaist', str(tmp_path / 'x'), num=0)


@pytest.mark.parametrize('layout, num, splits', [
    ('kaist', 1, "('train', 'test')"),
    ('flir', 1, "('train', 'validation')"),
    ('mfnet', 2, "('train', 'val', 'test')"),
])
def test_every_split_gets_a_frame(tmp_path, layout, num, splits):
    # one frame fewer than splits would leave a split file empty
    with pytest.raises(ValueError) as error:
        make_synthetic_dataset(layout, str(tmp_path / 'x'), num=num)
    assert f'num must be an int >= {num + 1} for the {layout} layout' in str(
        error.value)
    assert splits in str(error.value)
    assert not osp.exists(tmp_path / 'x')
    counts = {
        split: len(frames)
        for split, frames in make_synthetic_dataset(
            layout, str(tmp_path / 'y'), num=num + 1, size=(16, 16),
            write_coco=False).items()
    }
    assert set(counts.values()) == {1}


def test_refuses_to_overwrite_a_folder_it_did_not_write(
        tmp_path, monkeypatch, capsys):
    # a "real" FLIR root: its split file and an image whose name a synthetic
    # frame would take
    root = tmp_path / 'flir_aligned'
    os.makedirs(root / 'JPEGImages')
    (root / 'align_train.txt').write_text('FLIR_00002\nFLIR_09999\n')
    real_image = root / 'JPEGImages' / 'FLIR_00002_PreviewData.jpeg'
    real_image.write_bytes(b'REAL')
    before = read_tree(root)
    with pytest.raises(FileExistsError) as error:
        make_synthetic_dataset('flir', str(root), num=4, size=(32, 32))
    message = str(error.value)
    assert str(root) in message and 'overwrite=True (--overwrite)' in message
    tool = osp.join(REPO, 'tools', 'dataset_converters',
                    'make_synthetic_rgbt.py')
    argv = [tool, '--layout', 'flir', '--out', str(root), '--num', '4',
            '--size', '32', '32']
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(FileExistsError, match='--overwrite'):
        runpy.run_path(tool, run_name='__main__')
    assert read_tree(root) == before
    # an explicit --overwrite writes into it
    monkeypatch.setattr(sys, 'argv', argv + ['--overwrite'])
    runpy.run_path(tool, run_name='__main__')
    assert 'train: 3, validation: 1' in capsys.readouterr().out
    assert real_image.read_bytes()[:2] == b'\xff\xd8'


def test_rerun_over_its_own_folder(tmp_path):
    root = str(tmp_path / 'kaist_synthetic')
    make_synthetic_dataset('kaist', root, num=3, size=(32, 32))
    with open(osp.join(root, '.mmfreqkd_synthetic.json')) as f:
        assert json.load(f) == dict(layout='kaist', num=3, seed=0,
                                    size=[32, 32], write_coco=True)
    # the quick start run twice: the marker lets the second run through
    splits = make_synthetic_dataset('kaist', root, num=4, seed=1,
                                    size=(32, 32))
    with open(osp.join(root, 'imageSets', 'train-all-02.txt')) as f:
        assert f.read().split() == splits['train']
    # another layout into it would mix two datasets
    with pytest.raises(FileExistsError,
                       match="holds a synthetic 'kaist' dataset"):
        make_synthetic_dataset('mfnet', root, num=3, size=(32, 32))
    # an empty folder is fine, a file is not a folder
    os.makedirs(tmp_path / 'empty')
    make_synthetic_dataset('mfnet', str(tmp_path / 'empty'), num=3,
                           size=(16, 16))
    (tmp_path / 'file').write_text('')
    with pytest.raises(NotADirectoryError, match='file'):
        make_synthetic_dataset('mfnet', str(tmp_path / 'file'), num=3)
