"""Synthetic frames in the exact MFNet RGB-thermal segmentation layout."""
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from ..mfnet import MFNET_CLASSES
from .painter import PairedScenePainter

MFNET_SIZE = (640, 480)
SPLITS = ('train', 'val', 'test')
_LABEL = {name: index for index, name in enumerate(MFNET_CLASSES)}


def render_mfnet_frame(
        rng: np.random.Generator, width: int, height: int,
        night: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint one MFNet-like street frame and its label map.

    The road is ``unlabelled``; kerbs (``curve``) line it, and a frame may
    hold a speed ``bump``, a ``car_stop`` bar, a ``guardrail``, cones
    (``color_cone``), cars, people and bikes.

    Args:
        rng (np.random.Generator): Randomness of this frame.
        width (int): Image width.
        height (int): Image height.
        night (bool): Night frame.

    Returns:
        tuple: RGB image (H, W, 3, BGR), thermal image (H, W) and label map
        (H, W) of class indices 0-8, all uint8.
    """
    painter = PairedScenePainter(rng, width, height, night)
    label = np.zeros((height, width), np.uint8)
    scale = height / MFNET_SIZE[1]
    horizon = painter.horizon

    def put(name, painted):
        (ya, yb, xa, xb), mask = painted
        label[ya:yb, xa:xb][mask] = _LABEL[name]

    vanish = width * rng.uniform(0.4, 0.6)
    kerb = max(2.0, rng.uniform(3, 8) * scale)
    kerb_colour = rng.uniform([150, 150, 150], [230, 230, 240])
    for end_x in (rng.uniform(-0.3, 0.1) * width,
                  rng.uniform(0.9, 1.3) * width):
        put('curve', painter.surface(
            [('line', vanish, horizon + 2, end_x, height - 1, kerb)],
            kerb_colour, rng.uniform(70, 90), stripes=0.5))
    ground = height - horizon
    if rng.random() < 0.4:
        top = horizon + ground * rng.uniform(0.02, 0.15)
        band = rng.uniform(8, 20) * scale
        end = width * rng.uniform(0.25, 0.6)
        x0, x1 = (0, end) if rng.random() < 0.5 else (width - end, width)
        put('guardrail', painter.surface(
            [('rect', x0, top, x1, top + band)],
            rng.uniform([140, 140, 140], [200, 200, 210]),
            rng.uniform(45, 60), stripes=0.3))
    if rng.random() < 0.35:
        y = horizon + ground * rng.uniform(0.4, 0.85)
        thick = rng.uniform(5, 14) * scale
        put('bump', painter.surface(
            [('rect', 0.15 * width, y, 0.85 * width, y + thick)],
            [0, 200, 230], rng.uniform(70, 85), stripes=0.8))
    if rng.random() < 0.35:
        y = horizon + ground * rng.uniform(0.3, 0.9)
        x = width * rng.uniform(0.05, 0.8)
        put('car_stop', painter.surface(
            [('rect', x, y, x + rng.uniform(30, 80) * scale,
              y + rng.uniform(4, 10) * scale)],
            rng.uniform([0, 150, 180], [60, 220, 240]), rng.uniform(65, 80)))

    objects = []
    sizes = dict(car=(1.8, 40, 170), person=(0.41, 40, 200),
                 bike=(1.6, 30, 90), color_cone=(0.6, 12, 35))
    counts = dict(car=int(rng.integers(0, 4)), person=int(rng.integers(0, 4)),
                  bike=int(rng.integers(0, 3)),
                  color_cone=int(rng.integers(0, 4)))
    for name, count in counts.items():
        aspect, low, high = sizes[name]
        for _ in range(count):
            h = rng.uniform(low, high) * scale
            objects.append((name, painter.ground_box(h, aspect)))
    objects.sort(key=lambda obj: obj[1][1] + obj[1][3])
    for name, (x, y, w, h) in objects:
        if name == 'car':
            put(name, painter.car((x, y, w, h)))
        elif name == 'person':
            put(name, painter.person((x, y, w, h)))
        elif name == 'bike':
            put(name, painter.bicycle((x, y, w, h)))
        else:
            put(name, painter.surface(
                [('poly', [(x, y + h), (x + w / 2, y), (x + w, y + h)])],
                [0, 110, 255], rng.uniform(70, 85), stripes=0.4))
    rgb, ir = painter.finish()
    return rgb, ir, label


def write_mfnet_layout(out_dir: str,
                       num: int,
                       seed: int,
                       size: Tuple[int, int] = MFNET_SIZE
                       ) -> Dict[str, List[str]]:
    """Write a synthetic dataset in the MFNet layout.

    Files: ``images/NNNNN{D,N}.png`` (4 channels: colour, then thermal as
    the 4th), ``labels/NNNNN{D,N}.png`` (class indices 0-8) and
    ``train.txt`` / ``val.txt`` / ``test.txt`` (one stem per line); a
    quarter of the frames each (at least one when possible) go to val and
    test. Day and night frames alternate.

    Args:
        out_dir (str): Dataset root to write.
        num (int): Number of frames over all splits.
        seed (int): Random seed.
        size (tuple[int, int]): (width, height). Defaults to (640, 480).

    Returns:
        dict[str, list[str]]: Stems per split.
    """
    width, height = size
    num_test = max(1, num // 4) if num >= 2 else 0
    num_val = max(1, num // 4) if num >= 3 else 0
    counts = dict(train=num - num_val - num_test, val=num_val, test=num_test)
    for folder in ('images', 'labels'):
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)
    stems = {}
    number = 0
    for split_code, split in enumerate(SPLITS):
        stems[split] = []
        for index in range(counts[split]):
            number += 1
            night = index % 2 == 1
            stem = f'{number:05d}{"N" if night else "D"}'
            rng = np.random.default_rng([seed, split_code, index])
            rgb, ir, label = render_mfnet_frame(rng, width, height, night)
            cv2.imwrite(
                osp.join(out_dir, 'images', stem + '.png'),
                np.dstack([rgb, ir]))
            cv2.imwrite(osp.join(out_dir, 'labels', stem + '.png'), label)
            stems[split].append(stem)
        with open(osp.join(out_dir, split + '.txt'), 'w') as f:
            f.writelines(stem + '\n' for stem in stems[split])
    return stems
