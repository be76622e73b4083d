"""Synthetic frames in the exact KAIST multispectral pedestrian layout."""
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from ..converters.coco_json import save_coco_json
from ..converters.kaist import BBGT_HEADER, is_kaist_night_set, kaist_to_coco
from .painter import PairedScenePainter

KAIST_SIZE = (640, 512)
# Frame order of the sets: day and night alternate.
_TRAIN_SETS = (0, 3, 1, 4, 2, 5)
_TEST_SETS = (6, 9, 7, 10, 8, 11)
SPLIT_FILES = dict(train='train-all-02', test='test-all-20')


def _frame_name(split: str, index: int) -> str:
    """``setXX/VYYY/IZZZZZ`` of the ``index``-th frame of a split.

    Training frames are every 2nd frame of a video, test frames every 20th
    (from frame 19), as in ``train-all-02`` and ``test-all-20``.
    """
    sets = _TRAIN_SETS if split == 'train' else _TEST_SETS
    set_id = sets[index % len(sets)]
    slot = index // len(sets)
    video, step = slot % 2, slot // 2
    image = 2 * step if split == 'train' else 20 * step + 19
    return f'set{set_id:02d}/V{video:03d}/I{image:05d}'


def _person_box(painter: PairedScenePainter, height: float) -> List[int]:
    return painter.ground_box(height, aspect=0.41)


def _union(boxes: List[List[int]]) -> List[int]:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return [x0, y0, x1 - x0, y1 - y0]


def render_kaist_frame(rng: np.random.Generator, width: int, height: int,
                       night: bool) -> Tuple[np.ndarray, np.ndarray, list]:
    """Paint one KAIST-like frame and its boxes.

    About 1 frame in 10 is empty. The others hold 1-4 ``person`` boxes
    (heights log-uniform over about 32-220 px at 512 px image height, so
    some below the 55 px of the "reasonable" setting; 30 % occluded, half
    of those heavily, by a bush or wall covering the lower part) and, now
    and then, a ``people`` group, a ``cyclist`` or a faint ``person?``.

    Args:
        rng (np.random.Generator): Randomness of this frame.
        width (int): Image width.
        height (int): Image height.
        night (bool): Night frame.

    Returns:
        tuple: RGB image (H, W, 3, BGR), thermal image (H, W), and the
        boxes as dicts with ``label``, ``bbox`` ([x, y, w, h], int),
        ``occlusion`` and ``visible_bbox``.
    """
    painter = PairedScenePainter(rng, width, height, night)
    scale = height / KAIST_SIZE[1]
    boxes = []
    if rng.random() >= 0.1:
        for _ in range(int(rng.integers(1, 5))):
            h = np.exp(rng.uniform(np.log(32 * scale), np.log(220 * scale)))
            occlusion = int(rng.choice(3, p=[0.7, 0.15, 0.15]))
            boxes.append(
                dict(label='person', bbox=_person_box(painter, h),
                     occlusion=occlusion))
        if rng.random() < 0.25:
            h = np.exp(rng.uniform(np.log(40 * scale), np.log(150 * scale)))
            first = _person_box(painter, h)
            members = [first]
            for _ in range(int(rng.integers(1, 3))):
                shifted = list(members[-1])
                shifted[0] = min(width - shifted[2],
                                 shifted[0] + int(0.7 * shifted[2]))
                members.append(shifted)
            boxes.append(dict(label='people', bbox=_union(members),
                              members=members, occlusion=0))
        if rng.random() < 0.15:
            h = np.exp(rng.uniform(np.log(50 * scale), np.log(160 * scale)))
            rider = _person_box(painter, 0.75 * h)
            bike_w = max(3, int(0.8 * h))
            bike_x = int(np.clip(rider[0] + rider[2] / 2 - bike_w / 2, 0,
                                 width - bike_w))
            bike_h = max(2, int(0.45 * h))
            bike_y = min(height - bike_h, rider[1] + int(0.55 * rider[3]))
            bike = [bike_x, bike_y, bike_w, bike_h]
            boxes.append(dict(label='cyclist', bbox=_union([rider, bike]),
                              rider=rider, bike=bike, occlusion=0))
        if rng.random() < 0.15:
            h = rng.uniform(18 * scale, 40 * scale)
            boxes.append(dict(label='person?',
                              bbox=_person_box(painter, h), occlusion=0))
    # Paint far (small bottom y) to near.
    for box in sorted(boxes, key=lambda b: b['bbox'][1] + b['bbox'][3]):
        x, y, w, h = box['bbox']
        box['visible_bbox'] = [0, 0, 0, 0]
        if box['label'] == 'people':
            for member in box.pop('members'):
                painter.person(member)
        elif box['label'] == 'cyclist':
            painter.bicycle(box.pop('bike'))
            painter.person(box.pop('rider'))
        elif box['label'] == 'person?':
            painter.person(box['bbox'], warmth=0.45, contrast=0.4)
        else:
            painter.person(box['bbox'])
        if box['occlusion']:
            low, high = (0.15, 0.35) if box['occlusion'] == 1 else (0.4, 0.75)
            hidden = max(1, int(round(h * rng.uniform(low, high))))
            painter.occluder((x - 0.15 * w, y + h - hidden, 1.3 * w,
                              hidden + 0.02 * h))
            box['visible_bbox'] = [x, y, w, h - hidden]
    rgb, ir = painter.finish()
    return rgb, ir, boxes


def write_kaist_layout(out_dir: str,
                       num: int,
                       seed: int,
                       size: Tuple[int, int] = KAIST_SIZE,
                       write_coco: bool = True) -> Dict[str, List[str]]:
    """Write a synthetic dataset in the KAIST layout.

    Files: ``images/setXX/VYYY/{visible,lwir}/IZZZZZ.jpg`` (LWIR as
    3-channel grey JPEG), ``annotations/setXX/VYYY/IZZZZZ.txt`` (bbGt
    version 3), ``imageSets/train-all-02.txt`` and
    ``imageSets/test-all-20.txt``, and with ``write_coco`` the converted
    ``annotations/train-all-02.json`` and ``annotations/test-all-20.json``.
    A quarter of the frames (at least one when ``num >= 2``) go to the test
    split; both splits alternate day and night sets.

    Args:
        out_dir (str): Dataset root to write.
        num (int): Number of frames over both splits.
        seed (int): Random seed; frame ``i`` of a split depends only on the
            seed and ``i``.
        size (tuple[int, int]): (width, height). Defaults to (640, 512).
        write_coco (bool): Also run the COCO converter. Defaults to True.

    Returns:
        dict[str, list[str]]: Frame names per split (``'train'``,
        ``'test'``).
    """
    width, height = size
    num_test = num // 4 if num >= 4 else min(1, num - 1)
    counts = dict(train=num - num_test, test=num_test)
    frames = {}
    for split_code, (split, count) in enumerate(counts.items()):
        frames[split] = []
        for index in range(count):
            frame = _frame_name(split, index)
            set_name, video, image = frame.split('/')
            rng = np.random.default_rng([seed, split_code, index])
            night = is_kaist_night_set(int(set_name[3:]))
            rgb, ir, boxes = render_kaist_frame(rng, width, height, night)
            img_dir = osp.join(out_dir, 'images', set_name, video)
            for modality, image_data in (('visible', rgb),
                                         ('lwir', cv2.cvtColor(
                                             ir, cv2.COLOR_GRAY2BGR))):
                os.makedirs(osp.join(img_dir, modality), exist_ok=True)
                cv2.imwrite(
                    osp.join(img_dir, modality, image + '.jpg'), image_data)
            ann_path = osp.join(out_dir, 'annotations', frame + '.txt')
            os.makedirs(osp.dirname(ann_path), exist_ok=True)
            with open(ann_path, 'w') as f:
                f.write(BBGT_HEADER + '\n')
                for box in boxes:
                    values = [*box['bbox'], box['occlusion'],
                              *box['visible_bbox'], 0, 0]
                    f.write(' '.join([box['label'], *map(str, values)]) +
                            '\n')
            frames[split].append(frame)
        split_file = osp.join(out_dir, 'imageSets',
                              SPLIT_FILES[split] + '.txt')
        os.makedirs(osp.dirname(split_file), exist_ok=True)
        with open(split_file, 'w') as f:
            f.writelines(frame + '\n' for frame in frames[split])
        if write_coco:
            coco, _ = kaist_to_coco(
                out_dir,
                osp.join('imageSets', SPLIT_FILES[split] + '.txt'),
                show_progress=False)
            save_coco_json(
                coco,
                osp.join(out_dir, 'annotations', f'{SPLIT_FILES[split]}.json'))
    return frames
