"""FLIRAlignedDataset: VOC XML -> converter -> dataset -> mmdet pipeline."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

from mmfreqkd.datasets import FLIRAlignedDataset
from mmfreqkd.datasets.converters import flir_aligned_to_coco, save_coco_json

DOCUMENT = """<annotation>
  <filename>FLIR_00007_PreviewData.jpeg</filename>
  <size><width>80</width><height>48</height><depth>3</depth></size>
  <object><name>bicycle</name><difficult>0</difficult>
    <bndbox><xmin>4</xmin><ymin>20</ymin><xmax>20</xmax><ymax>30</ymax>
    </bndbox></object>
  <object><name>dog</name><difficult>0</difficult>
    <bndbox><xmin>50</xmin><ymin>30</ymin><xmax>60</xmax><ymax>40</ymax>
    </bndbox></object>
  <object><name>car</name><difficult>0</difficult>
    <bndbox><xmin>30</xmin><ymin>10</ymin><xmax>70</xmax><ymax>35</ymax>
    </bndbox></object>
  <object><name>person</name><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>9</xmax><ymax>22</ymax>
    </bndbox></object>
</annotation>
"""


def make_flir(root):
    for folder in ('JPEGImages', 'Annotations', 'annotations'):
        os.makedirs(osp.join(root, folder))
    for name, value in (('FLIR_00007_PreviewData.jpeg', 210),
                        ('FLIR_00007_RGB.jpg', 70)):
        cv2.imwrite(
            osp.join(root, 'JPEGImages', name),
            np.full((48, 80, 3), value, np.uint8))
    with open(osp.join(root, 'Annotations', 'FLIR_00007_PreviewData.xml'),
              'w') as f:
        f.write(DOCUMENT)
    with open(osp.join(root, 'align_train.txt'), 'w') as f:
        f.write('FLIR_00007_PreviewData\n')
    coco, _ = flir_aligned_to_coco(root, 'align_train.txt',
                                   show_progress=False)
    save_coco_json(coco, osp.join(root, 'annotations', 'align_train.json'))
    return str(root)


def build(root, **kwargs):
    cfg = dict(
        type='FLIRAlignedDataset',
        data_root=root,
        ann_file='annotations/align_train.json',
        data_prefix=dict(img='JPEGImages/'),
        pipeline=[],
        serialize_data=False)  # skips a slow gc.collect()
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def test_flir_dataset_infos(tmp_path):
    root = make_flir(tmp_path)
    dataset = build(root)
    assert isinstance(dataset, FLIRAlignedDataset)
    assert dataset.metainfo['classes'] == ('person', 'car', 'bicycle')
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'JPEGImages',
                                        'FLIR_00007_PreviewData.jpeg')
    assert info['rgb_path'] == osp.join(root, 'JPEGImages',
                                        'FLIR_00007_RGB.jpg')
    assert info['is_night'] is False
    # Labels follow the class order; the dog was dropped by the converter
    # and the difficult person is an ignore region.
    assert [(i['bbox'], i['bbox_label'], i['ignore_flag'])
            for i in info['instances']] == [
                ([4, 20, 20, 30], 2, 0),
                ([30, 10, 70, 35], 1, 0),
                ([1, 2, 9, 22], 0, 1),
            ]


def test_flir_standard_ir_pipeline_reads_thermal(tmp_path):
    root = make_flir(tmp_path)
    dataset = build(
        root,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs'),
        ])
    with DefaultScope.overwrite_default_scope('mmdet'):
        sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 48, 80)
    assert abs(float(sample['inputs'].float().mean()) - 210) <= 1
    assert sample['data_samples'].gt_instances.labels.tolist() == [2, 1]


def test_flir_missing_rgb_names_both_paths(tmp_path):
    root = make_flir(tmp_path)
    rgb = osp.join(root, 'JPEGImages', 'FLIR_00007_RGB.jpg')
    os.remove(rgb)
    with pytest.raises(FileNotFoundError) as error:
        build(root)
    assert rgb in str(error.value)
    assert 'FLIR_00007_PreviewData.jpeg' in str(error.value)


def test_flir_classes_must_follow_the_file_category_order(tmp_path):
    root = make_flir(tmp_path)
    ann_file = osp.join(root, 'annotations', 'align_train.json')
    # mmdet labels categories in file order: these classes would call the
    # car (label 1 in the file order person, car, bicycle) a bicycle
    with pytest.raises(ValueError) as error:
        build(root, metainfo=dict(classes=('person', 'bicycle', 'car')))
    message = str(error.value)
    assert ann_file in message
    assert "('person', 'bicycle', 'car')" in message
    assert "('person', 'car', 'bicycle')" in message
    # the same with the default classes and a file listing its categories
    # in another order
    with open(ann_file) as f:
        coco = json.load(f)
    coco['categories'] = coco['categories'][::-1]
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match=r"\('bicycle', 'car', 'person'\)"):
        build(root)
    # a subset of the categories, in file order, is fine
    dataset = build(root, metainfo=dict(classes=('car', 'person')))
    assert [(i['bbox'], i['bbox_label'])
            for i in dataset.get_data_info(0)['instances']] == [
                ([30, 10, 70, 35], 0), ([1, 2, 9, 22], 1)]
