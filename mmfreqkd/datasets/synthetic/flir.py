"""Synthetic frames in the exact FLIR ADAS aligned layout."""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

import cv2
import numpy as np

from ..converters.coco_json import save_coco_json
from ..converters.flir_aligned import (ANNOTATION_SUFFIX, IR_SUFFIX,
                                       RGB_SUFFIX, flir_aligned_to_coco)
from .painter import PairedScenePainter

FLIR_SIZE = (640, 512)
SPLIT_FILES = dict(train='align_train', validation='align_validation')
# First frame number of each split, as in the real subset.
_FIRST_FRAME = dict(train=1, validation=8863)
# name: (aspect w / h, height range at 512 px image height)
_OBJECTS = dict(
    person=(0.41, (30, 200)),
    car=(1.8, (35, 170)),
    bicycle=(1.6, (30, 90)),
    dog=(1.3, (20, 50)))


def render_flir_frame(rng: np.random.Generator, width: int,
                      height: int) -> Tuple[np.ndarray, np.ndarray, list]:
    """Paint one FLIR-like street frame and its objects.

    Args:
        rng (np.random.Generator): Randomness of this frame.
        width (int): Image width.
        height (int): Image height.

    Returns:
        tuple: RGB image (H, W, 3, BGR), thermal image (H, W) and a list of
        ``(name, [x, y, w, h])`` with names person, car, bicycle and, in
        about 1 frame in 6, dog.
    """
    night = bool(rng.random() < 0.3)
    painter = PairedScenePainter(rng, width, height, night)
    scale = height / FLIR_SIZE[1]
    counts = dict(
        person=int(rng.integers(0, 5)),
        car=int(rng.integers(0, 5)),
        bicycle=int(rng.integers(0, 3)),
        dog=int(rng.random() < 0.17))
    objects = []
    for name, count in counts.items():
        aspect, (low, high) = _OBJECTS[name]
        for _ in range(count):
            h = rng.uniform(low * scale, high * scale)
            objects.append((name, painter.ground_box(h, aspect)))
    objects.sort(key=lambda obj: obj[1][1] + obj[1][3])
    for name, box in objects:
        getattr(painter, name)(box)
    rgb, ir = painter.finish()
    return rgb, ir, objects


def _voc_xml(file_name: str, width: int, height: int, objects: list) -> str:
    """A Pascal VOC annotation document."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'JPEGImages'
    ET.SubElement(root, 'filename').text = file_name
    size = ET.SubElement(root, 'size')
    for tag, value in (('width', width), ('height', height), ('depth', 3)):
        ET.SubElement(size, tag).text = str(value)
    for name, (x, y, w, h) in objects:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = name
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = '0'
        box = ET.SubElement(obj, 'bndbox')
        for tag, value in (('xmin', x), ('ymin', y), ('xmax', x + w),
                           ('ymax', y + h)):
            ET.SubElement(box, tag).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding='unicode') + '\n'


def write_flir_layout(out_dir: str,
                      num: int,
                      seed: int,
                      size: Tuple[int, int] = FLIR_SIZE,
                      write_coco: bool = True) -> Dict[str, List[str]]:
    """Write a synthetic dataset in the FLIR aligned layout.

    Files: ``JPEGImages/FLIR_XXXXX_RGB.jpg`` and
    ``JPEGImages/FLIR_XXXXX_PreviewData.jpeg`` (3-channel grey),
    ``Annotations/FLIR_XXXXX_PreviewData.xml`` (VOC), ``align_train.txt``
    and ``align_validation.txt`` (``FLIR_XXXXX_PreviewData`` per line), and
    with ``write_coco`` the converted ``annotations/align_train.json`` and
    ``annotations/align_validation.json``. A fifth of the frames (at least
    one when ``num >= 2``) go to validation.

    Args:
        out_dir (str): Dataset root to write.
        num (int): Number of frames over both splits.
        seed (int): Random seed.
        size (tuple[int, int]): (width, height). Defaults to (640, 512).
        write_coco (bool): Also run the COCO converter. Defaults to True.

    Returns:
        dict[str, list[str]]: Frame names (``FLIR_XXXXX``) per split.
    """
    width, height = size
    num_val = num // 5 if num >= 5 else min(1, num - 1)
    counts = dict(train=num - num_val, validation=num_val)
    img_dir = osp.join(out_dir, 'JPEGImages')
    ann_dir = osp.join(out_dir, 'Annotations')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    frames = {}
    for split_code, (split, count) in enumerate(counts.items()):
        frames[split] = []
        for index in range(count):
            frame = f'FLIR_{_FIRST_FRAME[split] + index:05d}'
            rng = np.random.default_rng([seed, split_code, index])
            rgb, ir, objects = render_flir_frame(rng, width, height)
            cv2.imwrite(osp.join(img_dir, frame + RGB_SUFFIX), rgb)
            cv2.imwrite(
                osp.join(img_dir, frame + IR_SUFFIX),
                cv2.cvtColor(ir, cv2.COLOR_GRAY2BGR))
            with open(osp.join(ann_dir, frame + ANNOTATION_SUFFIX), 'w') as f:
                f.write(_voc_xml(frame + IR_SUFFIX, width, height, objects))
            frames[split].append(frame)
        split_file = SPLIT_FILES[split] + '.txt'
        with open(osp.join(out_dir, split_file), 'w') as f:
            f.writelines(frame + '_PreviewData\n' for frame in frames[split])
        if write_coco:
            coco, _ = flir_aligned_to_coco(
                out_dir, split_file, show_progress=False)
            save_coco_json(
                coco,
                osp.join(out_dir, 'annotations', f'{SPLIT_FILES[split]}.json'))
    return frames
