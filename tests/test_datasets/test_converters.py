"""KAIST (bbGt) and FLIR aligned (VOC XML) to COCO JSON converters."""
import json
import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest

from mmfreqkd.datasets.converters import (flir_aligned_to_coco,
                                          find_kaist_annotation,
                                          kaist_to_coco,
                                          parse_kaist_annotation,
                                          parse_voc_xml, read_flir_split,
                                          read_kaist_split,
                                          summarize_coco)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HEADER = '% bbGt version=3\n'

# set00 (day): a visible person, an occluded person, every ignore label and a
# person box reaching outside the 80 x 64 image; set03 (night): no people;
# set09 (night, test): one person in a flat-layout file.
KAIST_FRAMES = {
    'set00/V000/I00000': (HEADER + 'person 10 12 8 20 0 0 0 0 0 0 0\n'
                          'person 30 10 9 22 1 30 10 9 15 0 0\n'
                          'people 40 5 20 18 0 0 0 0 0 0 0\n'
                          'cyclist 2 30 12 16 2 2 30 12 6 0 0\n'
                          'person? 60 40 5 11 0 0 0 0 0 0 0\n'
                          'person 70 50 20 30 0 0 0 0 0 0 0\n'),
    'set03/V001/I00002': HEADER,
    'set09/V000/I00019': HEADER + 'person 1.5 2 10 24.25 2 0 0 0 0 0 0\n',
}
IMAGE_SIZE = (80, 64)


def write_image(path, width, height, value):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((height, width, 3), value, np.uint8))


def make_kaist(root, frames=KAIST_FRAMES, flat=('set09/V000/I00019', )):
    """Write images, bbGt files and a split file in the KAIST layout."""
    for frame, text in frames.items():
        set_name, video, image = frame.split('/')
        for modality, value in (('lwir', 200), ('visible', 90)):
            write_image(
                osp.join(root, 'images', set_name, video, modality,
                         image + '.jpg'), *IMAGE_SIZE, value)
        if frame in flat:
            ann = osp.join(root, 'annotations', frame.replace('/', '_'))
        else:
            ann = osp.join(root, 'annotations', frame)
        os.makedirs(osp.dirname(ann), exist_ok=True)
        with open(ann + '.txt', 'w') as f:
            f.write(text)
    os.makedirs(osp.join(root, 'imageSets'), exist_ok=True)
    with open(osp.join(root, 'imageSets', 'test.txt'), 'w') as f:
        f.write('\n'.join(frames) + '\n\n')
    return str(root)


def write_text(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_parse_kaist_annotation_fields(tmp_path):
    path = write_text(tmp_path / 'a.txt', KAIST_FRAMES['set00/V000/I00000'])
    boxes = parse_kaist_annotation(path)
    assert [b['label'] for b in boxes] == [
        'person', 'person', 'people', 'cyclist', 'person?', 'person'
    ]
    assert boxes[1] == dict(
        label='person',
        bbox=[30, 10, 9, 22],
        occlusion=1,
        visible_bbox=[30, 10, 9, 15],
        ign=0,
        angle=0,
        line=3)
    assert boxes[3]['occlusion'] == 2
    empty = write_text(tmp_path / 'b.txt', HEADER)
    assert parse_kaist_annotation(empty) == []
    decimals = parse_kaist_annotation(
        write_text(tmp_path / 'c.txt', KAIST_FRAMES['set09/V000/I00019']))
    assert decimals[0]['bbox'] == [1.5, 2, 10, 24.25]


@pytest.mark.parametrize(
    'text, line, message',
    [
        ('person 1 2 3 4 0 0 0 0 0 0\n', 3, 'expected 12 fields'),
        ('person 1 2 3 4 0 0 0 0 0 0 0 7\n', 3, 'expected 12 fields'),
        ('person 1 2 x 4 0 0 0 0 0 0 0\n', 3, 'field w must be a number'),
        ('person nan 2 3 4 0 0 0 0 0 0 0\n', 3,
         "field x must be a finite number, got 'nan'"),
        ('person 1 2 inf 4 0 0 0 0 0 0 0\n', 3,
         "field w must be a finite number, got 'inf'"),
        ('person 1 2 3 4 0 -Infinity 0 0 0 0 0\n', 3,
         "field vx must be a finite number, got '-Infinity'"),
        ('person 1 2 3 4 0 0 0 0 0 0 NaN\n', 3,
         "field ang must be a finite number, got 'NaN'"),
        ('person 1 2 3 4 3 0 0 0 0 0 0\n', 3, 'occlusion must be 0, 1 or 2'),
        ('person 1 2 -3 4 0 0 0 0 0 0 0\n', 3, 'negative box size'),
        ('person 1 2 3 4 0 0 0 0 0 2 0\n', 3, 'ign must be 0 or 1'),
        ('dog 1 2 3 4 0 0 0 0 0 0 0\n', 3, "unknown label 'dog'"),
    ])
def test_parse_kaist_annotation_errors_name_file_and_line(
        tmp_path, text, line, message):
    path = write_text(tmp_path / 'bad.txt',
                      HEADER + 'person 1 2 3 4 0 0 0 0 0 0 0\n' + text)
    with pytest.raises(ValueError) as error:
        parse_kaist_annotation(path)
    assert f'{path}:{line}:' in str(error.value)
    assert message in str(error.value)


def test_parse_kaist_annotation_requires_header(tmp_path):
    path = write_text(tmp_path / 'noheader.txt',
                      'person 1 2 3 4 0 0 0 0 0 0 0\n')
    with pytest.raises(ValueError, match=f'{path}:1: expected the header'):
        parse_kaist_annotation(path)
    empty = write_text(tmp_path / 'empty.txt', '')
    with pytest.raises(ValueError, match='an empty file'):
        parse_kaist_annotation(empty)


def test_kaist_to_coco_contract(tmp_path):
    root = make_kaist(tmp_path)
    coco, dropped = kaist_to_coco(
        root, 'imageSets/test.txt', show_progress=False)
    assert not dropped
    assert coco['categories'] == [dict(id=1, name='person')]
    assert coco['images'] == [
        dict(
            id=1,
            file_name='set00/V000/lwir/I00000.jpg',
            rgb_file_name='set00/V000/visible/I00000.jpg',
            frame='set00/V000/I00000',
            width=80,
            height=64,
            is_night=False),
        dict(
            id=2,
            file_name='set03/V001/lwir/I00002.jpg',
            rgb_file_name='set03/V001/visible/I00002.jpg',
            frame='set03/V001/I00002',
            width=80,
            height=64,
            is_night=True),
        dict(
            id=3,
            file_name='set09/V000/lwir/I00019.jpg',
            rgb_file_name='set09/V000/visible/I00019.jpg',
            frame='set09/V000/I00019',
            width=80,
            height=64,
            is_night=True),
    ]
    anns = coco['annotations']
    assert [a['id'] for a in anns] == list(range(1, 8))
    assert [a['image_id'] for a in anns] == [1] * 6 + [3]
    assert [a['label'] for a in anns] == [
        'person', 'person', 'people', 'cyclist', 'person?', 'person', 'person'
    ]
    assert [a['iscrowd'] for a in anns] == [0, 0, 1, 1, 1, 0, 0]
    assert [a['occlusion'] for a in anns] == [0, 1, 0, 2, 0, 0, 2]
    assert all(a['category_id'] == 1 for a in anns)
    # Kept as annotated: the last set00 box reaches beyond the 80x64 image.
    assert anns[5]['bbox'] == [70, 50, 20, 30]
    assert [a['area'] for a in anns] == [
        8 * 20, 9 * 22, 20 * 18, 12 * 16, 5 * 11, 20 * 30, 10 * 24.25
    ]
    summary = summarize_coco(coco)
    assert 'images: 3' in summary and 'day: 1, night: 2' in summary
    assert 'without any box: 1' in summary
    assert 'person: 4' in summary
    assert 'ignore regions (iscrowd=1): 3' in summary


def test_kaist_ign_field_makes_an_ignore_region(tmp_path):
    root = make_kaist(
        tmp_path,
        frames={
            'set06/V000/I00019': HEADER + 'person 1 2 3 4 0 0 0 0 0 1 0\n'
        })
    coco, _ = kaist_to_coco(root, 'imageSets/test.txt', show_progress=False)
    assert coco['annotations'][0]['iscrowd'] == 1


def test_kaist_unknown_label_policies(tmp_path):
    text = HEADER + ('person 1 2 3 4 0 0 0 0 0 0 0\n'
                     'crowd 5 6 7 8 0 0 0 0 0 0 0\n')
    root = make_kaist(tmp_path, frames={'set01/V002/I00010': text})
    ann = osp.join(root, 'annotations', 'set01', 'V002', 'I00010.txt')
    with pytest.raises(ValueError, match=f"{ann}:3: unknown label 'crowd'"):
        kaist_to_coco(root, 'imageSets/test.txt', show_progress=False)
    coco, dropped = kaist_to_coco(
        root, 'imageSets/test.txt', unknown_label='ignore',
        show_progress=False)
    assert [(a['label'], a['iscrowd']) for a in coco['annotations']] == [
        ('person', 0), ('crowd', 1)
    ]
    assert not dropped
    coco, dropped = kaist_to_coco(
        root, 'imageSets/test.txt', unknown_label='drop', show_progress=False)
    assert [a['label'] for a in coco['annotations']] == ['person']
    assert dropped == {'crowd': 1}
    assert 'dropped boxes: 1' in summarize_coco(coco, dropped)


def test_kaist_annotation_layouts(tmp_path):
    root = make_kaist(tmp_path)
    ann_dir = osp.join(root, 'annotations')
    flat = osp.join(ann_dir, 'set09_V000_I00019.txt')
    assert find_kaist_annotation(ann_dir, 'set09/V000/I00019') == flat
    assert find_kaist_annotation(ann_dir, 'set09/V000/I00019', 'flat') == flat
    with pytest.raises(FileNotFoundError) as error:
        find_kaist_annotation(ann_dir, 'set09/V000/I00019', 'nested')
    assert osp.join(ann_dir, 'set09/V000/I00019.txt') in str(error.value)
    with pytest.raises(FileNotFoundError):
        kaist_to_coco(root, 'imageSets/test.txt', ann_layout='nested',
                      show_progress=False)


def test_kaist_image_size_skips_images_and_missing_pair_is_named(tmp_path):
    root = make_kaist(tmp_path)
    rgb = osp.join(root, 'images', 'set03', 'V001', 'visible', 'I00002.jpg')
    os.remove(rgb)
    with pytest.raises(FileNotFoundError) as error:
        kaist_to_coco(root, 'imageSets/test.txt', show_progress=False)
    message = str(error.value)
    assert rgb in message and 'I00002.jpg' in message and 'lwir' in message
    coco, _ = kaist_to_coco(
        root,
        'imageSets/test.txt',
        image_size=(640, 512),
        show_progress=False)
    assert {(i['width'], i['height']) for i in coco['images']} == {(640, 512)}


@pytest.mark.parametrize('line, message', [
    ('set00/V000/00000', 'expected a frame'),
    ('set12/V000/I00000', 'sets 00-11'),
    ('set00/V000/I00000', 'already listed on line 1'),
])
def test_read_kaist_split_errors(tmp_path, line, message):
    split = write_text(tmp_path / 'split.txt',
                       f'set00/V000/I00000\n\n{line}\n')
    with pytest.raises(ValueError, match=message) as error:
        read_kaist_split(split)
    assert f'{split}:3:' in str(error.value)


@pytest.mark.parametrize('line, message', [
    ('FLIR_00001 FLIR_00002', 'expected one frame name'),
    ('FLIR_00001.jpeg', "frame 'FLIR_00001' already listed on line 1"),
])
def test_read_flir_split_errors(tmp_path, line, message):
    split = write_text(tmp_path / 'split.txt', f'FLIR_00001\n\n{line}\n')
    with pytest.raises(ValueError, match=message) as error:
        read_flir_split(split)
    assert f'{split}:3:' in str(error.value)


@pytest.mark.parametrize('read_split', [read_kaist_split, read_flir_split])
def test_split_file_without_frames_is_refused(tmp_path, read_split):
    split = write_text(tmp_path / 'empty.txt', '\n  \n')
    with pytest.raises(ValueError,
                       match=f'{split}: the split file lists no frames'):
        read_split(split)


def test_converters_refuse_an_empty_split(tmp_path):
    root = make_kaist(tmp_path / 'kaist')
    empty = write_text(osp.join(root, 'imageSets', 'empty.txt'), '')
    with pytest.raises(ValueError, match=f'{empty}: the split file lists no'):
        kaist_to_coco(root, 'imageSets/empty.txt', show_progress=False)
    root = make_flir(tmp_path / 'flir', {'FLIR_00001': voc([])}, [''])
    with pytest.raises(ValueError, match='align_validation.txt: the split '
                       'file lists no frames'):
        flir_aligned_to_coco(root, 'align_validation.txt',
                             show_progress=False)


@pytest.mark.parametrize('image_size', [(0, -5), (640, 0), (640.0, 512),
                                        (640, ), (True, 512), '64'])
def test_kaist_image_size_must_be_two_positive_ints(tmp_path, image_size):
    root = make_kaist(tmp_path)
    with pytest.raises(ValueError, match='image_size must be .width, '
                       'height., two positive ints'):
        kaist_to_coco(root, 'imageSets/test.txt', image_size=image_size,
                      show_progress=False)


def test_kaist_cli_refuses_a_non_positive_image_size(tmp_path, monkeypatch,
                                                     capsys):
    root = make_kaist(tmp_path)
    tool = osp.join(REPO, 'tools', 'dataset_converters', 'kaist_to_coco.py')
    monkeypatch.setattr(sys, 'argv', [
        tool, '--root', root, '--split-file', 'imageSets/test.txt', '--out',
        'annotations/test.json', '--image-size', '0', '-5'
    ])
    with pytest.raises(SystemExit):
        runpy.run_path(tool, run_name='__main__')
    assert ("argument --image-size: must be a positive integer, got '0'"
            in capsys.readouterr().err)
    assert not osp.exists(osp.join(root, 'annotations', 'test.json'))


def test_kaist_cli_writes_json_and_summary(tmp_path, monkeypatch, capsys):
    root = make_kaist(tmp_path)
    tool = osp.join(REPO, 'tools', 'dataset_converters', 'kaist_to_coco.py')
    monkeypatch.setattr(sys, 'argv', [
        tool, '--root', root, '--split-file', 'imageSets/test.txt', '--out',
        'annotations/test.json'
    ])
    runpy.run_path(tool, run_name='__main__')
    out = osp.join(root, 'annotations', 'test.json')
    with open(out) as f:
        coco = json.load(f)
    expected, _ = kaist_to_coco(root, 'imageSets/test.txt',
                                show_progress=False)
    assert coco == expected
    printed = capsys.readouterr().out
    assert 'images: 3' in printed and out in printed


# ---------------------------------------------------------------- FLIR
def voc(objects, size=(64, 48)):
    """A VOC document; objects are (name, xmin, ymin, xmax, ymax[, diff])."""
    parts = ['<annotation><filename>x.jpeg</filename>']
    if size is not None:
        parts.append(f'<size><width>{size[0]}</width>'
                     f'<height>{size[1]}</height><depth>3</depth></size>')
    for name, x1, y1, x2, y2, *difficult in objects:
        parts.append(
            f'<object><name>{name}</name><difficult>'
            f'{difficult[0] if difficult else 0}</difficult><bndbox>'
            f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
            f'<ymax>{y2}</ymax></bndbox></object>')
    return ''.join(parts) + '</annotation>'


def make_flir(root, documents, split_lines, image_sizes=None):
    """VOC files, image pairs (64 x 48 unless ``image_sizes[frame]``, the
    default size of :func:`voc`) and a split file."""
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    for frame, document in documents.items():
        write_text(
            osp.join(root, 'Annotations', frame + '_PreviewData.xml'),
            document)
        width, height = (image_sizes or {}).get(frame, (64, 48))
        write_image(
            osp.join(root, 'JPEGImages', frame + '_PreviewData.jpeg'), width,
            height, 200)
        write_image(
            osp.join(root, 'JPEGImages', frame + '_RGB.jpg'), width, height,
            90)
    write_text(osp.join(root, 'align_validation.txt'),
               '\n'.join(split_lines) + '\n')
    return str(root)


def test_flir_aligned_to_coco_contract(tmp_path):
    root = make_flir(
        tmp_path, {
            'FLIR_08863':
            voc([('person', 1, 2, 11, 32), ('car', 20, 5, 60, 30),
                 (' Bicycle ', 3, 4, 13, 12), ('dog', 5, 5, 9, 9)]),
            'FLIR_08864':
            voc([('car', 0, 0, 10.5, 8, 1)], size=None),
        }, ['FLIR_08863_PreviewData', 'FLIR_08864.jpeg'],
        image_sizes={'FLIR_08864': (72, 40)})
    coco, dropped = flir_aligned_to_coco(
        root, 'align_validation.txt', show_progress=False)
    assert dropped == {'dog': 1}
    assert coco['categories'] == [
        dict(id=1, name='person'),
        dict(id=2, name='car'),
        dict(id=3, name='bicycle')
    ]
    assert coco['images'] == [
        dict(
            id=1,
            file_name='FLIR_08863_PreviewData.jpeg',
            rgb_file_name='FLIR_08863_RGB.jpg',
            width=64,
            height=48),
        # no <size>: read from the thermal image
        dict(
            id=2,
            file_name='FLIR_08864_PreviewData.jpeg',
            rgb_file_name='FLIR_08864_RGB.jpg',
            width=72,
            height=40),
    ]
    anns = coco['annotations']
    assert [(a['image_id'], a['category_id'], a['bbox'], a['area'],
             a['iscrowd']) for a in anns] == [
                 (1, 1, [1, 2, 10, 30], 300, 0),
                 (1, 2, [20, 5, 40, 25], 1000, 0),
                 (1, 3, [3, 4, 10, 8], 80, 0),
                 (2, 2, [0, 0, 10.5, 8], 84, 1),
             ]
    assert 'dog: 1' in summarize_coco(coco, dropped)


@pytest.mark.parametrize('missing', ['_RGB.jpg', '_PreviewData.jpeg'])
def test_flir_missing_image_of_a_pair_is_named(tmp_path, missing):
    root = make_flir(tmp_path, {'FLIR_00001': voc([('car', 1, 1, 5, 5)])},
                     ['FLIR_00001'])
    os.remove(osp.join(root, 'JPEGImages', 'FLIR_00001' + missing))
    with pytest.raises(FileNotFoundError,
                       match=r"frame 'FLIR_00001' of .*align_validation.txt:"
                       ' missing image pair') as error:
        flir_aligned_to_coco(root, 'align_validation.txt',
                             show_progress=False)
    assert f"FLIR_00001{missing}' exists: False" in str(error.value)


def test_flir_unknown_name(tmp_path):
    root = make_flir(tmp_path,
                     {'FLIR_00001': voc([('truck', 1, 1, 5, 5),
                                         ('car', 1, 1, 5, 5)])},
                     ['FLIR_00001'])
    xml = osp.join(root, 'Annotations', 'FLIR_00001_PreviewData.xml')
    with pytest.raises(ValueError,
                       match=f"{xml}: unknown object name 'truck'"):
        flir_aligned_to_coco(root, 'align_validation.txt', show_progress=False)
    coco, dropped = flir_aligned_to_coco(
        root, 'align_validation.txt', skip_unknown=True, show_progress=False)
    assert dropped == {'truck': 1}
    assert [a['category_id'] for a in coco['annotations']] == [2]


@pytest.mark.parametrize('document, message', [
    ('<annotation><object>', 'invalid XML'),
    (voc([('car', 5, 1, 2, 4)]), 'before xmin/ymin'),
    ('<annotation><object><name>car</name></object></annotation>',
     'missing <bndbox>'),
    ('<annotation><object><name>car</name><bndbox><xmin>1</xmin><ymin>1'
     '</ymin><xmax>q</xmax><ymax>3</ymax></bndbox></object></annotation>',
     '<xmax> must be a number'),
    (voc([('car', 'nan', 1, 5, 3)]),
     r"<object> #1 \('car'\): <xmin> must be a finite number, got 'nan'"),
    (voc([('car', 1, 1, 'inf', 3)]),
     r"<object> #1 \('car'\): <xmax> must be a finite number, got 'inf'"),
    (voc([], size=(64, '-inf')),
     "<size>: <height> must be a finite number, got '-inf'"),
    (voc([('car', 1, 1, 5, 3), ('person', 1, 1, 5, 3, 'false')]),
     r"<object> #2 \('person'\): <difficult> must be 0 or 1 \(or empty\), "
     "got 'false'"),
    (voc([('car', 1, 1, 5, 3, 2)]),
     r"<object> #1 \('car'\): <difficult> must be 0 or 1"),
])
def test_parse_voc_xml_errors_name_the_file(tmp_path, document, message):
    path = write_text(tmp_path / 'bad.xml', document)
    with pytest.raises(ValueError, match=message) as error:
        parse_voc_xml(path)
    assert str(path) in str(error.value)


def test_voc_difficult_values(tmp_path):
    document = voc([('car', 1, 1, 5, 3, 1), ('car', 1, 1, 5, 3, 0),
                    ('car', 1, 1, 5, 3, ' ')])
    # and an object without the tag
    document = document.replace(
        '</annotation>', '<object><name>car</name><bndbox><xmin>1</xmin>'
        '<ymin>1</ymin><xmax>5</xmax><ymax>3</ymax></bndbox></object>'
        '</annotation>')
    path = write_text(tmp_path / 'ok.xml', document)
    assert [o['difficult'] for o in parse_voc_xml(path)['objects']] == [
        True, False, False, False
    ]


def test_flir_xml_size_must_match_the_thermal_image(tmp_path):
    root = make_flir(tmp_path, {'FLIR_00001': voc([('car', 1, 1, 5, 5)],
                                                  size=(640, 512))},
                     ['FLIR_00001'])
    xml = osp.join(root, 'Annotations', 'FLIR_00001_PreviewData.xml')
    ir = osp.join(root, 'JPEGImages', 'FLIR_00001_PreviewData.jpeg')
    with pytest.raises(ValueError) as error:
        flir_aligned_to_coco(root, 'align_validation.txt',
                             show_progress=False)
    message = str(error.value)
    assert message.startswith(f'{xml}: <size> 640x512 differs from the '
                              f'thermal image {ir} (64x48)')


def test_flir_cli(tmp_path, monkeypatch, capsys):
    root = make_flir(tmp_path,
                     {'FLIR_00001': voc([('dog', 1, 1, 5, 5),
                                         ('truck', 1, 1, 5, 5)])},
                     ['FLIR_00001_RGB'])
    tool = osp.join(REPO, 'tools', 'dataset_converters',
                    'flir_aligned_to_coco.py')
    out = str(tmp_path / 'out' / 'val.json')
    monkeypatch.setattr(sys, 'argv', [
        tool, '--root', root, '--split', 'align_validation.txt',
        '--skip-unknown', '--out', out
    ])
    runpy.run_path(tool, run_name='__main__')
    with open(out) as f:
        coco = json.load(f)
    assert len(coco['images']) == 1 and coco['annotations'] == []
    printed = capsys.readouterr().out
    assert 'dropped boxes: 2' in printed and 'truck: 1' in printed
