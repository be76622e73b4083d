"""MFNet RGB-thermal urban scene segmentation dataset."""
import os.path as osp
from typing import List, Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.fileio import get_text
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .nested_transforms import nested_transforms
from .split_file import parse_split_lines

MFNET_CLASSES = ('unlabelled', 'car', 'person', 'bike', 'curve', 'car_stop',
                 'guardrail', 'color_cone', 'bump')
MFNET_PALETTE = [[0, 0, 0], [64, 0, 128], [64, 64, 0], [0, 128, 192],
                 [0, 0, 192], [128, 128, 0], [64, 64, 128], [192, 128, 128],
                 [192, 64, 0]]


def is_night_frame(img_path: str) -> bool:
    """Day / night of an MFNet frame from its name (``00123N.png`` night).

    Args:
        img_path (str): Path of the MFNet image, ``.../NNNNN{D,N}.png``.

    Returns:
        bool: True for a name ending in ``N``, False for one ending in ``D``.
    """
    stem = osp.splitext(osp.basename(img_path))[0]
    if not stem or stem[-1] not in 'DN':
        raise ValueError(f'cannot tell day from night for {img_path}: MFNet '
                         'names end in "D" (day) or "N" (night)')
    return stem[-1] == 'N'


@DATASETS.register_module()
class MFNetDataset(BaseSegDataset):
    """MFNet: 4-channel RGB-thermal PNGs with 9-class label maps.

    Layout: ``images/{stem}.png`` (480 x 640 x 4, RGB plus thermal as the
    4th channel), ``labels/{stem}.png`` (class indices 0-8) and split files
    ``train.txt`` / ``val.txt`` / ``test.txt`` with one stem per line. A
    stem ends with ``D`` (day) or ``N`` (night), e.g. ``00001D``.

    Both modalities live in one file, so ``img_path`` and ``rgb_path`` are
    the same PNG; load it with ``LoadRGBTFromPNG``, which splits thermal
    (``img``) from RGB (``img_rgb``). A default image read would drop the
    thermal channel and train an "infrared" model on RGB: a pipeline whose
    loader is ``LoadImageFromFile`` (or a subclass), at any depth of
    wrapping, is refused. All 9 classes, ``unlabelled`` included, are
    evaluated; ``reduce_zero_label=True``, which would name every class's
    IoU after its neighbour, is refused.

    Each data info holds ``img_path``, ``rgb_path``, ``seg_map_path``,
    ``is_night`` and the keys mmseg's transforms expect (``label_map``,
    ``reduce_zero_label``, ``seg_fields``).

    Args:
        ann_file (str): The split file, e.g. ``'test.txt'``.
        data_prefix (dict, optional): ``img_path`` and ``seg_map_path``
            folders. Defaults to
            ``dict(img_path='images', seg_map_path='labels')``.
        **kwargs: Keyword arguments of :class:`BaseSegDataset`.
    """

    METAINFO = dict(classes=MFNET_CLASSES, palette=MFNET_PALETTE)

    def __init__(self,
                 ann_file: str,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if data_prefix is None:
            data_prefix = dict(img_path='images', seg_map_path='labels')
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        if kwargs.get('reduce_zero_label'):
            raise ValueError(
                f'MFNetDataset ({ann_file}): reduce_zero_label=True would '
                'shift every label down by one (car becomes 0) while the '
                "class names keep 'unlabelled' first, so every per-class "
                "IoU would be reported under the wrong name; to leave "
                "'unlabelled' out of the mean, keep reduce_zero_label=False "
                'and set ignore_unlabelled=True on MFNetIoUMetric')
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)
        loaders = [
            t for t in nested_transforms(self.pipeline)
            if isinstance(t, LoadImageFromFile)
        ]
        if loaders:
            raise ValueError(
                f'MFNetDataset ({self.ann_file}): the pipeline loads images '
                f'with {type(loaders[0]).__name__}, which reads the RGB '
                'channels of the 4-channel RGB-thermal PNGs and drops the '
                'thermal one; load them with LoadRGBTFromPNG (thermal as '
                'img; with_rgb=True adds the RGB image as img_rgb)')

    def load_data_list(self) -> List[dict]:
        """Read the split file.

        Returns:
            list[dict]: One data info per stem, in file order.

        Raises:
            ValueError: On a stem not ending with ``D`` or ``N`` or a
                repeated stem, naming the split file and line, or on a
                split file that lists no stem, naming the file.
        """
        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix['seg_map_path']
        text = get_text(self.ann_file, backend_args=self.backend_args)

        def check_stem(stem: str, where: str) -> str:
            if stem[-1] not in 'DN' or len(stem.split()) != 1:
                raise ValueError(
                    f'{where}: expected an MFNet stem ending with D (day) or '
                    f'N (night), e.g. "00001D", got {stem!r}')
            return stem

        data_list = []
        for stem in parse_split_lines(text.splitlines(), self.ann_file,
                                      check_stem, item='stem'):
            img_path = osp.join(img_dir, stem + self.img_suffix)
            data_list.append(
                dict(
                    img_path=img_path,
                    rgb_path=img_path,
                    seg_map_path=osp.join(seg_dir, stem + self.seg_map_suffix),
                    is_night=is_night_frame(img_path),
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[]))
        if not data_list:
            raise ValueError(f'{self.ann_file}: the split file lists no '
                             'stems (it is empty or holds only blank lines)')
        return data_list
