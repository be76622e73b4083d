"""FLIR ADAS aligned subset (Pascal VOC XML) to a COCO-style JSON file.

The aligned subset keeps, for every frame ``FLIR_XXXXX``, the thermal image
``JPEGImages/FLIR_XXXXX_PreviewData.jpeg``, the registered RGB image
``JPEGImages/FLIR_XXXXX_RGB.jpg`` and one VOC XML file
``Annotations/FLIR_XXXXX_PreviewData.xml`` valid for both. Split files
(``align_train.txt``, ``align_validation.txt``) list one frame per line, as
``FLIR_XXXXX``, ``FLIR_XXXXX_PreviewData`` or ``FLIR_XXXXX_RGB``, with or
without a file extension.

Categories are mapped by name (case-insensitive), never by id: ``person`` 1,
``car`` 2, ``bicycle`` 3; ``dog`` is dropped and counted. Box widths and
heights are ``xmax - xmin`` and ``ymax - ymin``; objects marked
``<difficult>1</difficult>`` become ignore regions (``iscrowd: 1``); any
value of ``<difficult>`` other than 0, 1 or empty is an error.
"""
import math
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from typing import List, Tuple

from PIL import Image
from tqdm import tqdm

from ..split_file import read_split_file

FLIR_ALIGNED_CATEGORIES = [
    dict(id=1, name='person'),
    dict(id=2, name='car'),
    dict(id=3, name='bicycle'),
]
FLIR_DROPPED_NAMES = ('dog', )
IR_SUFFIX = '_PreviewData.jpeg'
RGB_SUFFIX = '_RGB.jpg'
ANNOTATION_SUFFIX = '_PreviewData.xml'

_FRAME_SUFFIXES = ('_PreviewData', '_RGB')
_EXTENSIONS = ('.jpeg', '.jpg', '.xml', '.png')


def flir_frame_name(entry: str) -> str:
    """Reduce a split-file entry to its frame name ``FLIR_XXXXX``.

    Args:
        entry (str): E.g. ``'FLIR_00002_PreviewData'``, ``'FLIR_00002'`` or
            ``'FLIR_00002_RGB.jpg'``.

    Returns:
        str: ``'FLIR_00002'`` for all of these.
    """
    name = entry.strip()
    for extension in _EXTENSIONS:
        if name.lower().endswith(extension):
            name = name[:-len(extension)]
            break
    for suffix in _FRAME_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def read_flir_split(split_file: str) -> List[str]:
    """Read a FLIR aligned split file.

    Args:
        split_file (str): One frame per line, blank lines skipped.

    Returns:
        list[str]: The frame names ``FLIR_XXXXX``, in file order.

    Raises:
        ValueError: On a line holding spaces or a repeated frame, naming the
            file and line, or on a file that lists no frame, naming the
            file.
    """

    def parse_entry(entry: str, where: str) -> str:
        if len(entry.split()) != 1:
            raise ValueError(
                f'{where}: expected one frame name, got {entry!r}')
        return flir_frame_name(entry)

    return read_split_file(split_file, parse_entry)


def _child_number(element: ET.Element, tag: str, where: str):
    """The finite number in a child element; integral values as ``int``."""
    text = element.findtext(tag)
    if text is None:
        raise ValueError(f'{where}: missing <{tag}>')
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f'{where}: <{tag}> must be a number, got {text!r}') from None
    if not math.isfinite(value):
        raise ValueError(
            f'{where}: <{tag}> must be a finite number, got {text!r}')
    return int(value) if value.is_integer() else value


def parse_voc_xml(path: str) -> dict:
    """Read one Pascal VOC annotation file.

    Args:
        path (str): The XML file.

    Returns:
        dict: ``width`` and ``height`` (int, 0 when ``<size>`` is absent) and
        ``objects``, a list of dicts with ``name`` (lower case, stripped),
        ``bbox`` ([x, y, w, h] from the corners) and ``difficult`` (bool:
        ``<difficult>`` is ``1``; ``0``, empty or absent give False).

    Raises:
        ValueError: On invalid XML, an object without a name or a complete
            ``<bndbox>``, a size or coordinate that is not a finite number
            (``nan``, ``inf``), a box whose max corner lies before its
            min corner, or a ``<difficult>`` other than 0, 1 or empty,
            naming the file (and the object's position in it).
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise ValueError(f'{path}: invalid XML ({error})') from None
    size = root.find('size')
    width = height = 0
    if size is not None:
        width = int(_child_number(size, 'width', f'{path}: <size>'))
        height = int(_child_number(size, 'height', f'{path}: <size>'))
    objects = []
    for index, obj in enumerate(root.iter('object'), start=1):
        where = f'{path}: <object> #{index}'
        name = (obj.findtext('name') or '').strip().lower()
        if not name:
            raise ValueError(f'{where}: missing <name>')
        box = obj.find('bndbox')
        if box is None:
            raise ValueError(f'{where} ({name!r}): missing <bndbox>')
        x1, y1, x2, y2 = (
            _child_number(box, tag, f'{where} ({name!r})')
            for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
        if x2 < x1 or y2 < y1:
            raise ValueError(
                f'{where} ({name!r}): xmax/ymax ({x2}, {y2}) before '
                f'xmin/ymin ({x1}, {y1})')
        difficult = (obj.findtext('difficult') or '').strip()
        if difficult not in ('0', '1', ''):
            raise ValueError(
                f'{where} ({name!r}): <difficult> must be 0 or 1 (or empty), '
                f'got {difficult!r}')
        objects.append(
            dict(
                name=name,
                bbox=[x1, y1, x2 - x1, y2 - y1],
                difficult=difficult == '1'))
    return dict(width=width, height=height, objects=objects)


def flir_aligned_to_coco(root: str,
                         split_file: str,
                         img_dir: str = 'JPEGImages',
                         ann_dir: str = 'Annotations',
                         skip_unknown: bool = False,
                         show_progress: bool = True) -> Tuple[dict, Counter]:
    """Convert the frames of a FLIR aligned split to one COCO-style dict.

    Relative ``split_file``, ``img_dir`` and ``ann_dir`` are resolved against
    ``root``. Image ids and annotation ids count from 1 in split-file order.
    Image sizes come from the thermal image's header; an XML ``<size>``
    that differs from it is an error naming both files. Both images of
    every frame must exist (a missing one is named).

    Args:
        root (str): The dataset root (the ``align`` folder).
        split_file (str): E.g. ``'align_validation.txt'``.
        img_dir (str): Folder of the images. Defaults to ``'JPEGImages'``.
        ann_dir (str): Folder of the XML files. Defaults to
            ``'Annotations'``.
        skip_unknown (bool): Drop and count objects whose name is neither a
            category nor in :data:`FLIR_DROPPED_NAMES`, instead of raising an
            error naming the XML file and the name. Defaults to False.
        show_progress (bool): Show a tqdm progress bar. Defaults to True.

    Returns:
        tuple[dict, Counter]: The COCO dict and the counts of dropped object
        names. Each image also has ``rgb_file_name`` (the RGB image,
        relative to ``img_dir`` like ``file_name``); ``difficult`` objects
        become ignore regions (``iscrowd: 1``).
    """
    split_file = osp.join(root, split_file)
    img_dir = osp.join(root, img_dir)
    ann_dir = osp.join(root, ann_dir)
    category_ids = {c['name']: c['id'] for c in FLIR_ALIGNED_CATEGORIES}

    images, annotations = [], []
    dropped = Counter()
    frames = read_flir_split(split_file)
    for image_id, frame in enumerate(
            tqdm(frames, desc='FLIR frames', disable=not show_progress),
            start=1):
        xml_path = osp.join(ann_dir, frame + ANNOTATION_SUFFIX)
        if not osp.isfile(xml_path):
            raise FileNotFoundError(
                f'frame {frame!r} of {split_file}: no annotation file '
                f'{xml_path!r}')
        ir_path = osp.join(img_dir, frame + IR_SUFFIX)
        rgb_path = osp.join(img_dir, frame + RGB_SUFFIX)
        if not (osp.isfile(ir_path) and osp.isfile(rgb_path)):
            raise FileNotFoundError(
                f'frame {frame!r} of {split_file}: missing image pair '
                f'(thermal {ir_path!r} exists: {osp.isfile(ir_path)}, RGB '
                f'{rgb_path!r} exists: {osp.isfile(rgb_path)})')
        voc = parse_voc_xml(xml_path)
        with Image.open(ir_path) as img:  # reads the header only
            width, height = img.size
        if voc['width'] > 0 and voc['height'] > 0 and (
                voc['width'], voc['height']) != (width, height):
            raise ValueError(
                f'{xml_path}: <size> {voc["width"]}x{voc["height"]} differs '
                f'from the thermal image {ir_path} ({width}x{height}); the '
                'boxes may belong to another resolution')
        images.append(
            dict(
                id=image_id,
                file_name=frame + IR_SUFFIX,
                rgb_file_name=frame + RGB_SUFFIX,
                width=width,
                height=height))
        for obj in voc['objects']:
            name = obj['name']
            if name not in category_ids:
                if name not in FLIR_DROPPED_NAMES and not skip_unknown:
                    raise ValueError(
                        f'{xml_path}: unknown object name {name!r}; known '
                        f'names are {tuple(category_ids)} (and '
                        f'{FLIR_DROPPED_NAMES}, dropped); pass skip_unknown '
                        '(--skip-unknown) to drop it')
                dropped[name] += 1
                continue
            x, y, w, h = obj['bbox']
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=category_ids[name],
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=int(obj['difficult'])))
    coco = dict(
        images=images,
        annotations=annotations,
        categories=[dict(c) for c in FLIR_ALIGNED_CATEGORIES])
    return coco, dropped
