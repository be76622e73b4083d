"""KAIST multispectral pedestrian annotations to a COCO-style JSON file.

KAIST stores one annotation file per frame in Piotr Dollar's ``bbGt`` text
format, version 3::

    % bbGt version=3
    person 358 198 21 46 0 0 0 0 0 0 0

Each box line has exactly 12 space-separated fields
``lbl x y w h occ vx vy vw vh ign ang``: label, box (top-left corner, width,
height, in pixels), occlusion (0 none, 1 partial, 2 heavy), visible part of
the box, ignore flag and angle. The original annotations, the sanitized
training annotations and the improved test annotations all use this format;
they differ in folder names (``setXX/VYYY/IZZZZZ.txt`` nested folders or flat
``setXX_VYYY_IZZZZZ.txt`` files) and in their label sets.

Only ``person`` boxes are positives. Every other label (``people``,
``cyclist``, ``person?``, ``person?a``) and every box whose ``ign`` field is 1
becomes an ignore region (``iscrowd: 1``). Coordinates are copied unchanged:
nothing is clipped, so boxes that reach outside the image keep their
annotated extent.
"""
import math
import numbers
import os.path as osp
import re
from collections import Counter
from typing import List, Optional, Sequence, Tuple

from PIL import Image
from tqdm import tqdm

from ..split_file import read_split_file

BBGT_HEADER = '% bbGt version=3'
KAIST_LABELS = ('person', 'people', 'cyclist', 'person?', 'person?a')
KAIST_POSITIVE_LABEL = 'person'
KAIST_CATEGORIES = [dict(id=1, name='person')]
# Sets 00-02 (train) and 06-08 (test) are day, 03-05 and 09-11 night.
KAIST_NIGHT_SETS = frozenset({3, 4, 5, 9, 10, 11})
KAIST_NUM_SETS = 12
UNKNOWN_LABEL_POLICIES = ('error', 'ignore', 'drop')
ANNOTATION_LAYOUTS = ('auto', 'nested', 'flat')

_FRAME_PATTERN = re.compile(r'set(\d{2})/V(\d{3})/I(\d{5})')
_NUMERIC_FIELDS = ('x', 'y', 'w', 'h', 'occ', 'vx', 'vy', 'vw', 'vh', 'ign',
                   'ang')
_NUM_FIELDS = 1 + len(_NUMERIC_FIELDS)


def _parse_number(text: str, where: str, field: str):
    """Parse one finite numeric field; integral values are returned as int."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f'{where}: field {field} must be a number, got {text!r}') from None
    if not math.isfinite(value):
        raise ValueError(
            f'{where}: field {field} must be a finite number, got {text!r}')
    return int(value) if value.is_integer() else value


def parse_kaist_annotation(
        path: str,
        known_labels: Optional[Sequence[str]] = KAIST_LABELS) -> List[dict]:
    """Read one KAIST ``bbGt`` version 3 annotation file.

    Args:
        path (str): The per-frame ``.txt`` file.
        known_labels (Sequence[str], optional): Labels accepted; any other
            label raises an error naming the file and line. ``None`` accepts
            every label. Defaults to :data:`KAIST_LABELS`.

    Returns:
        list[dict]: One dict per box line, in file order, with keys
        ``label`` (str), ``bbox`` ([x, y, w, h]), ``occlusion`` (0, 1 or 2),
        ``visible_bbox`` ([vx, vy, vw, vh]), ``ign`` (0 or 1), ``angle`` and
        ``line`` (1-based line number in the file). A frame without people
        (header only) gives an empty list.

    Raises:
        ValueError: On a missing header, a line without exactly 12 fields,
            a non-numeric or non-finite (``nan``, ``inf``) field, an
            occlusion outside {0, 1, 2}, an ``ign`` outside {0, 1}, a
            negative width or height, or an unknown label.
            The message starts with ``path:line``.
    """
    with open(path, encoding='utf-8-sig') as f:
        lines = f.read().splitlines()
    if not lines or lines[0].strip() != BBGT_HEADER:
        found = repr(lines[0].strip()) if lines else 'an empty file'
        raise ValueError(
            f'{path}:1: expected the header {BBGT_HEADER!r}, found {found}')
    boxes = []
    for line_no, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        where = f'{path}:{line_no}'
        if len(fields) != _NUM_FIELDS:
            raise ValueError(
                f'{where}: expected {_NUM_FIELDS} fields '
                '"lbl x y w h occ vx vy vw vh ign ang", '
                f'got {len(fields)}: {line.strip()!r}')
        label = fields[0]
        if known_labels is not None and label not in known_labels:
            raise ValueError(
                f'{where}: unknown label {label!r}; known labels are '
                f'{tuple(known_labels)}')
        values = {
            name: _parse_number(text, where, name)
            for name, text in zip(_NUMERIC_FIELDS, fields[1:])
        }
        if values['w'] < 0 or values['h'] < 0:
            raise ValueError(
                f'{where}: negative box size w={values["w"]}, '
                f'h={values["h"]}')
        if values['occ'] not in (0, 1, 2):
            raise ValueError(
                f'{where}: occlusion must be 0, 1 or 2, got {values["occ"]}')
        if values['ign'] not in (0, 1):
            raise ValueError(
                f'{where}: ign must be 0 or 1, got {values["ign"]}')
        boxes.append(
            dict(
                label=label,
                bbox=[values[k] for k in ('x', 'y', 'w', 'h')],
                occlusion=values['occ'],
                visible_bbox=[values[k] for k in ('vx', 'vy', 'vw', 'vh')],
                ign=values['ign'],
                angle=values['ang'],
                line=line_no))
    return boxes


def is_kaist_night_set(set_id: int) -> bool:
    """Whether a KAIST set (0-11) was recorded at night."""
    if not 0 <= set_id < KAIST_NUM_SETS:
        raise ValueError(f'KAIST has sets 00-{KAIST_NUM_SETS - 1:02d}, '
                         f'got set {set_id:02d}')
    return set_id in KAIST_NIGHT_SETS


def read_kaist_split(split_file: str) -> List[str]:
    """Read a KAIST split file such as ``imageSets/test-all-20.txt``.

    Args:
        split_file (str): One frame ``setXX/VYYY/IZZZZZ`` per line; blank
            lines are skipped.

    Returns:
        list[str]: The frames, in file order.

    Raises:
        ValueError: On a line that is not a frame name, a set outside
            00-11 or a repeated frame, naming the file and line, or on a
            file that lists no frame, naming the file.
    """

    def parse_entry(frame: str, where: str) -> str:
        match = _FRAME_PATTERN.fullmatch(frame)
        if match is None:
            raise ValueError(
                f'{where}: expected a frame like "set06/V000/I00019", '
                f'got {frame!r}')
        if int(match.group(1)) >= KAIST_NUM_SETS:
            raise ValueError(
                f'{where}: KAIST has sets 00-{KAIST_NUM_SETS - 1:02d}, '
                f'got {frame!r}')
        return frame

    return read_split_file(split_file, parse_entry)


def find_kaist_annotation(ann_dir: str, frame: str,
                          layout: str = 'auto') -> str:
    """Locate the annotation file of one frame.

    Args:
        ann_dir (str): The annotation folder.
        frame (str): ``setXX/VYYY/IZZZZZ``.
        layout (str): ``'nested'`` (``ann_dir/setXX/VYYY/IZZZZZ.txt``, the
            original release), ``'flat'`` (``ann_dir/setXX_VYYY_IZZZZZ.txt``,
            as the sanitized and improved annotations are distributed) or
            ``'auto'`` (nested if it exists, else flat).

    Returns:
        str: The path of the annotation file.

    Raises:
        FileNotFoundError: If no candidate exists, naming the paths tried.
    """
    if layout not in ANNOTATION_LAYOUTS:
        raise ValueError(
            f'layout must be one of {ANNOTATION_LAYOUTS}, got {layout!r}')
    candidates = []
    if layout in ('auto', 'nested'):
        candidates.append(osp.join(ann_dir, frame + '.txt'))
    if layout in ('auto', 'flat'):
        candidates.append(osp.join(ann_dir, frame.replace('/', '_') + '.txt'))
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'no annotation file for frame {frame!r}; tried ' +
        ' and '.join(repr(p) for p in candidates))


def _read_image_size(path: str) -> Tuple[int, int]:
    """(width, height) of an image, from its header only."""
    with Image.open(path) as img:
        return img.size


def kaist_to_coco(root: str,
                  split_file: str,
                  ann_dir: str = 'annotations',
                  img_dir: str = 'images',
                  ann_layout: str = 'auto',
                  unknown_label: str = 'error',
                  image_size: Optional[Tuple[int, int]] = None,
                  show_progress: bool = True) -> Tuple[dict, Counter]:
    """Convert the frames of a KAIST split to one COCO-style dict.

    Relative ``split_file``, ``ann_dir`` and ``img_dir`` are resolved against
    ``root``. Image ids and annotation ids count from 1 in split-file order.

    Args:
        root (str): The dataset root.
        split_file (str): Split file, e.g. ``imageSets/test-all-20.txt``.
        ann_dir (str): Folder of the per-frame ``bbGt`` files.
            Defaults to ``'annotations'``.
        img_dir (str): Folder holding ``setXX/VYYY/{lwir,visible}/``.
            Defaults to ``'images'``.
        ann_layout (str): ``'auto'``, ``'nested'`` or ``'flat'``, see
            :func:`find_kaist_annotation`. Defaults to ``'auto'``.
        unknown_label (str): What to do with a label outside
            :data:`KAIST_LABELS`: ``'error'`` (raise, naming file and line),
            ``'ignore'`` (keep it as an ignore region) or ``'drop'`` (leave
            it out and count it). Defaults to ``'error'``.
        image_size (tuple[int, int], optional): ``(width, height)`` of every
            image, two positive ints. If given the images are not opened at
            all (annotations can be converted without them); otherwise each
            LWIR image header is read and the visible image must exist.
            Defaults to None.
        show_progress (bool): Show a tqdm progress bar. Defaults to True.

    Returns:
        tuple[dict, Counter]: The COCO dict and the counts of dropped
        labels (empty unless ``unknown_label='drop'``). Besides COCO's own
        fields, each image has ``rgb_file_name`` (the visible image, relative
        to the image root like ``file_name``), ``frame``
        (``'setXX/VYYY/IZZZZZ'``) and ``is_night`` (bool, from the set), and
        each annotation has ``occlusion`` (0, 1 or 2) and ``label`` (the
        KAIST label); ``iscrowd`` is 1 for ignore regions (every box that is
        not an unignored ``person``), all under the one ``person``
        category.
    """
    if unknown_label not in UNKNOWN_LABEL_POLICIES:
        raise ValueError(f'unknown_label must be one of '
                         f'{UNKNOWN_LABEL_POLICIES}, got {unknown_label!r}')
    if image_size is not None:
        if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2
                and all(
                    isinstance(v, numbers.Integral)
                    and not isinstance(v, bool) and v > 0
                    for v in image_size)):
            raise ValueError(
                'image_size must be (width, height), two positive ints, got '
                f'{image_size!r}')
        image_size = (int(image_size[0]), int(image_size[1]))
    split_file = osp.join(root, split_file)
    ann_dir = osp.join(root, ann_dir)
    img_dir = osp.join(root, img_dir)
    known_labels = KAIST_LABELS if unknown_label == 'error' else None

    images, annotations = [], []
    dropped = Counter()
    frames = read_kaist_split(split_file)
    for image_id, frame in enumerate(
            tqdm(frames, desc='KAIST frames', disable=not show_progress),
            start=1):
        set_name, video, image = frame.split('/')
        file_name = f'{set_name}/{video}/lwir/{image}.jpg'
        rgb_file_name = f'{set_name}/{video}/visible/{image}.jpg'
        if image_size is None:
            ir_path = osp.join(img_dir, file_name)
            rgb_path = osp.join(img_dir, rgb_file_name)
            if not (osp.isfile(ir_path) and osp.isfile(rgb_path)):
                raise FileNotFoundError(
                    f'frame {frame!r} of {split_file}: missing image pair '
                    f'(LWIR {ir_path!r} exists: {osp.isfile(ir_path)}, '
                    f'visible {rgb_path!r} exists: {osp.isfile(rgb_path)}); '
                    'pass image_size to convert annotations without images')
            width, height = _read_image_size(ir_path)
        else:
            width, height = image_size
        images.append(
            dict(
                id=image_id,
                file_name=file_name,
                rgb_file_name=rgb_file_name,
                frame=frame,
                width=width,
                height=height,
                is_night=is_kaist_night_set(int(set_name[3:]))))

        ann_file = find_kaist_annotation(ann_dir, frame, ann_layout)
        for box in parse_kaist_annotation(ann_file, known_labels):
            label = box['label']
            if label not in KAIST_LABELS and unknown_label == 'drop':
                dropped[label] += 1
                continue
            x, y, w, h = box['bbox']
            is_positive = label == KAIST_POSITIVE_LABEL and box['ign'] == 0
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=KAIST_CATEGORIES[0]['id'],
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0 if is_positive else 1,
                    occlusion=box['occlusion'],
                    label=label))
    coco = dict(
        images=images,
        annotations=annotations,
        categories=[dict(c) for c in KAIST_CATEGORIES])
    return coco, dropped

