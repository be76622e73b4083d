"""Object and background crops of registered IR / RGB frames, as a
classification dataset."""
import math
import numbers
import os.path as osp
from typing import List, Sequence

import numpy as np
from mmengine.fileio import load
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .coco_checks import check_coco_dict

#: Name of the class of the background crops.
BACKGROUND = 'background'
#: Placements tried for one background crop before it is given up.
_BACKGROUND_TRIES = 50


def overlap_fraction(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Fraction of ``box`` covered by each of ``others``.

    Args:
        box (np.ndarray): (4,) box ``x1, y1, x2, y2``.
        others (np.ndarray): (N, 4) boxes, same format.

    Returns:
        np.ndarray: (N,) intersection area / area of ``box``.
    """
    width = np.clip(
        np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]),
        0, None)
    height = np.clip(
        np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]),
        0, None)
    return width * height / ((box[2] - box[0]) * (box[3] - box[1]))


@DATASETS.register_module()
class PairedObjectCropDataset(BaseDataset):
    """Crops of the annotated objects of paired IR / RGB frames, plus
    background crops: a small RGB-IR classification task.

    Reads a COCO-style detection file with the RGB twin of every image in
    ``rgb_file_name`` (the files written by
    ``tools/dataset_converters/{kaist,flir_aligned}_to_coco.py`` and by the
    synthetic data generator). Every box whose category is one of
    ``object_classes`` (matched by name) and whose sides are at least
    ``min_size`` pixels is one sample, labelled with the index of its
    category in ``object_classes``; ignore regions (``iscrowd: 1``) are left
    out. With ``num_background > 0`` the class ``'background'`` is added
    last and every image gives up to ``num_background`` background crops,
    placed at random (seeded, so the samples are the same every run) where
    they cover at most ``max_background_overlap`` of their area with any
    annotated box, ignore regions included. Their sizes are drawn from the
    object boxes of the whole file, so the crop size tells nothing about the
    class.

    The file is checked as by :class:`PairedCocoDataset` (see
    :func:`check_coco_dict`: unique image ids, file names and annotation
    ids, known image and category ids, 4 finite numbers per box, a positive
    ``width`` and ``height`` per image ...); an object box that does not
    overlap its image, and a file that gives no sample at all, are errors
    naming the file (and the image and annotation ids).

    A sample's data info holds ``img_path`` (the IR frame), ``rgb_path``,
    ``crop_bbox`` (float32 ``x1, y1, x2, y2`` in pixels), ``gt_label`` and
    ``img_id``; :class:`CropPairedBox` cuts the crops after
    :class:`LoadPairedImageFromFile` has read the frames.

    Args:
        ann_file (str): The COCO-style annotation file.
        object_classes (Sequence[str]): Category names of the file that
            become classes ``0 .. K-1``, in this order.
        num_background (int): Background crops per image; 0 for none (then
            there is no background class). Defaults to 1.
        min_size (float): Minimum box width and height in pixels, a finite
            number > 0. Defaults to 8.
        max_background_overlap (float): Largest fraction of a background
            crop that any annotated box may cover, in ``[0, 1)``. Defaults
            to 0.
        seed (int): Seed of the background placement, an int >= 0.
            Defaults to 0.
        **kwargs: Arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``test_mode``,
            ...). The image folder, relative to ``data_root``, is
            ``data_prefix`` given as a string (mmpretrain stores it as
            ``dict(img_path=...)``), ``dict(img_path=...)`` or
            ``dict(img=...)`` (the mmdet spelling); by default ``data_root``
            itself. The classes are set from ``object_classes`` and
            ``num_background``.
    """

    def __init__(self,
                 ann_file: str,
                 object_classes: Sequence[str],
                 num_background: int = 1,
                 min_size: float = 8,
                 max_background_overlap: float = 0.0,
                 seed: int = 0,
                 **kwargs):
        if isinstance(object_classes, str) or not object_classes:
            raise ValueError('PairedObjectCropDataset: object_classes must be '
                             'a non-empty sequence of category names, got '
                             f'{object_classes!r}')
        if BACKGROUND in object_classes:
            raise ValueError(f'PairedObjectCropDataset: {BACKGROUND!r} is the '
                             'class of the background crops, not an object '
                             'class; use num_background')
        if not isinstance(num_background, int) or num_background < 0:
            raise ValueError('PairedObjectCropDataset: num_background must be '
                             f'an int >= 0, got {num_background!r}')
        if isinstance(min_size, bool) or not isinstance(
                min_size, numbers.Real) or not (math.isfinite(min_size)
                                                and min_size > 0):
            raise ValueError('PairedObjectCropDataset: min_size must be a '
                             f'finite number > 0, got {min_size!r}')
        if isinstance(seed, bool) or not isinstance(
                seed, numbers.Integral) or seed < 0:
            raise ValueError('PairedObjectCropDataset: seed must be an int '
                             f'>= 0, got {seed!r}')
        if not 0 <= max_background_overlap < 1:
            raise ValueError(
                'PairedObjectCropDataset: max_background_overlap must be in '
                f'[0, 1), got {max_background_overlap}')
        if 'metainfo' in kwargs or 'classes' in kwargs:
            raise ValueError('PairedObjectCropDataset: the classes come from '
                             'object_classes and num_background; do not set '
                             'metainfo / classes')
        self.object_classes = tuple(object_classes)
        self.num_background = num_background
        self.min_size = float(min_size)
        self.max_background_overlap = float(max_background_overlap)
        self.seed = int(seed)
        classes = self.object_classes + ((BACKGROUND, )
                                         if num_background else ())
        super().__init__(
            ann_file=ann_file, metainfo=dict(classes=classes), **kwargs)

    def _category_labels(self, categories: List[dict]) -> dict:
        """Map the file's category ids to labels, by category name."""
        label_of_name = {name: i for i, name in enumerate(self.object_classes)}
        names = [category['name'] for category in categories]
        absent = [name for name in self.object_classes if name not in names]
        if absent:
            raise ValueError(
                f'{self.ann_file}: object_classes {absent} are not category '
                f'names of the file, which has {names}')
        return {
            category['id']: label_of_name[category['name']]
            for category in categories if category['name'] in label_of_name
        }

    def load_data_list(self) -> List[dict]:
        """Read the annotation file and lay out the object and background
        crops.

        Returns:
            list[dict]: One data info per crop: all object crops of an image,
            then its background crops, image after image.

        Raises:
            ValueError: On an inconsistent file (see
                :func:`check_coco_dict`), an object box that does not
                overlap its image, or a file that gives no sample, naming
                the file (and the image and annotation ids).
        """
        coco = load(self.ann_file)
        check_coco_dict(coco, self.ann_file)
        labels = self._category_labels(coco['categories'])
        images = {image['id']: image for image in coco['images']}
        boxes_of_image = {img_id: [] for img_id in images}
        for ann in coco['annotations']:
            x, y, w, h = ann['bbox']
            box = (x, y, x + w, y + h, labels.get(ann['category_id'], -1),
                   bool(ann.get('iscrowd', 0)))
            image = images[ann['image_id']]
            if self._is_object(box) and not (
                    x < image['width'] and y < image['height']
                    and x + w > 0 and y + h > 0):
                raise ValueError(
                    f'{self.ann_file}: annotation id {ann["id"]!r} (image id '
                    f'{image["id"]!r}, {image["file_name"]!r}): bbox '
                    f'{ann["bbox"]} does not overlap the '
                    f'{image["width"]}x{image["height"]} image, so its crop '
                    'would be empty; check the box or the image\'s width and '
                    'height')
            boxes_of_image[ann['image_id']].append(box)

        object_sizes = np.array(
            [(box[2] - box[0], box[3] - box[1])
             for boxes in boxes_of_image.values() for box in boxes
             if self._is_object(box)], dtype=np.float32).reshape(-1, 2)
        image_dir = self._image_dir()
        data_list = []
        for index, image in enumerate(coco['images']):
            if 'rgb_file_name' not in image:
                raise KeyError(
                    f'{self.ann_file}: image id {image["id"]} '
                    f'({image.get("file_name")!r}) has no rgb_file_name; '
                    'write the file with the converters in '
                    'tools/dataset_converters/')
            frame = dict(
                img_path=osp.join(image_dir, image['file_name']),
                rgb_path=osp.join(image_dir, image['rgb_file_name']),
                img_id=image['id'])
            boxes = boxes_of_image[image['id']]
            for box in boxes:
                if self._is_object(box):
                    data_list.append(
                        dict(frame, crop_bbox=np.array(box[:4], np.float32),
                             gt_label=box[4]))
            rng = np.random.default_rng([self.seed, index])
            for crop in self._background_boxes(rng, image, boxes,
                                               object_sizes):
                data_list.append(
                    dict(frame, crop_bbox=crop,
                         gt_label=len(self.object_classes)))
        if not data_list:
            raise ValueError(
                f'{self.ann_file}: no samples: none of its '
                f'{len(coco["images"])} images has a box of object_classes '
                f'{self.object_classes} that is not an ignore region and at '
                f'least min_size={self.min_size} pixels wide and high, and '
                f'num_background={self.num_background}')
        return data_list

    def _image_dir(self) -> str:
        """The image folder, joined with ``data_root``.

        Returns:
            str: ``data_prefix['img_path']`` (mmpretrain's key, which the
            string form and the default ``''`` fill) or
            ``data_prefix['img']``; ``data_root`` when neither is set.
        """
        keys = [key for key in ('img_path', 'img') if key in self.data_prefix]
        if len(keys) > 1:
            raise ValueError(
                f'{type(self).__name__}: data_prefix {self.data_prefix} '
                'names the image folder twice, as img_path and as img; '
                'keep one')
        return self.data_prefix[keys[0]] if keys else self.data_root

    def _is_object(self, box: tuple) -> bool:
        x1, y1, x2, y2, label, iscrowd = box
        return (label >= 0 and not iscrowd and x2 - x1 >= self.min_size
                and y2 - y1 >= self.min_size)

    def _background_boxes(self, rng: np.random.Generator, image: dict,
                          boxes: List[tuple],
                          object_sizes: np.ndarray) -> List[np.ndarray]:
        """Up to ``num_background`` boxes of one image that no annotated box
        covers by more than ``max_background_overlap``.

        Args:
            rng (np.random.Generator): Randomness of this image.
            image (dict): The ``images`` entry (``width``, ``height``).
            boxes (list[tuple]): Annotated boxes ``x1, y1, x2, y2, label,
                iscrowd`` of the image.
            object_sizes (np.ndarray): (N, 2) widths and heights of all
                object boxes of the file.

        Returns:
            list[np.ndarray]: float32 ``x1, y1, x2, y2`` boxes.
        """
        if not self.num_background:
            return []
        width, height = image['width'], image['height']
        if len(object_sizes):
            sizes = object_sizes
        else:
            side = max(self.min_size, min(width, height) / 4)
            sizes = np.array([[side, side]], dtype=np.float32)
        annotated = np.array([box[:4] for box in boxes],
                             dtype=np.float32).reshape(-1, 4)
        crops = []
        for _ in range(self.num_background * _BACKGROUND_TRIES):
            if len(crops) == self.num_background:
                break
            w, h = np.minimum(sizes[rng.integers(len(sizes))],
                              (width, height))
            x = rng.uniform(0, width - w)
            y = rng.uniform(0, height - h)
            crop = np.array([x, y, x + w, y + h], dtype=np.float32)
            taken = np.concatenate([annotated, np.array(crops).reshape(-1, 4)])
            if not len(taken) or overlap_fraction(
                    crop, taken).max() <= self.max_background_overlap:
                crops.append(crop)
        return crops
