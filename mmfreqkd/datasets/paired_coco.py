"""COCO-style detection dataset of registered infrared / RGB image pairs."""
import os.path as osp
from typing import List, Sequence

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.fileio import exists, load

from .coco_checks import check_coco_dict


@DATASETS.register_module()
class PairedCocoDataset(CocoDataset):
    """A COCO-style dataset whose images each have a registered RGB twin.

    Every entry of ``images`` in the annotation file names the infrared
    image in ``file_name`` and its RGB twin in ``rgb_file_name``, both
    relative to ``data_prefix['img']``. The infrared image is the primary
    image: ``img_path`` points to it, so IR-only pipelines
    (``LoadImageFromFile`` ...) work unchanged, while paired pipelines read
    ``rgb_path`` too. Boxes with ``iscrowd: 1`` become ``ignore_flag=1``
    instances, which ``PackDetInputs`` puts in ``ignored_instances``.

    The dataset classes must be category names of the file, listed there in
    the same order: :class:`mmdet.datasets.CocoDataset` gives label ``i`` to
    the ``i``-th matching category *of the file* (and mmdet's ``CocoMetric``
    maps labels back the same way), so any other order would silently swap
    classes; it is an error naming both orders.

    The file is checked for what would otherwise load silently wrong (see
    :func:`check_coco_dict`): no images, a missing ``annotations`` list,
    repeated image ids, file names or annotation ids, annotations of unknown
    images or categories, boxes that are not 4 finite numbers with
    ``w, h >= 0``, images without a positive ``width`` / ``height`` and an
    ``is_night`` that is not a JSON boolean are errors naming the file and
    the image or annotation id.

    Boxes are filtered as by :class:`mmdet.datasets.CocoDataset`: a box
    with no overlap with the image, an area <= 0 or a side < 1 pixel is
    left out of ``instances`` (it stays in the annotation file, which the
    evaluation reads).

    Each data info holds, besides the :class:`CocoDataset` keys,
    ``rgb_path`` (str) and ``is_night`` (bool; the image entry's
    ``is_night``, False when the file has none).

    Args:
        *args: Positional arguments of :class:`CocoDataset`.
        check_pairs (bool): At load time, check that both images of every
            pair exist (one ``exists`` call each) and raise an error naming
            both paths if not. Defaults to True.
        required_image_keys (Sequence[str]): Keys every ``images`` entry must
            have besides the COCO ones. Defaults to ``('rgb_file_name',)``.
        **kwargs: Keyword arguments of :class:`CocoDataset`.
    """

    def __init__(self,
                 *args,
                 check_pairs: bool = True,
                 required_image_keys: Sequence[str] = ('rgb_file_name', ),
                 **kwargs) -> None:
        self.check_pairs = check_pairs
        self.required_image_keys = tuple(required_image_keys)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the annotation file after checking its contents and
        categories.

        Returns:
            list[dict]: One data info per image, see :meth:`parse_data_info`.
        """
        if 'img' not in self.data_prefix:
            raise KeyError(
                f'{type(self).__name__} ({self.ann_file}): data_prefix needs '
                "the image folder under MMDetection's key 'img', e.g. "
                f"data_prefix=dict(img='images/'); got {self.data_prefix}")
        coco = load(self.ann_file, backend_args=self.backend_args)
        check_coco_dict(coco, self.ann_file)
        self._check_categories(coco['categories'])
        del coco  # CocoDataset reads the file again through the COCO API
        return super().load_data_list()

    def filter_data(self) -> List[dict]:
        """Filter the images as :class:`CocoDataset` does, refusing to
        filter all of them away.

        Returns:
            list[dict]: The data infos kept by ``filter_cfg``.
        """
        data_list = super().filter_data()
        if self.data_list and not data_list:
            raise ValueError(
                f'{self.ann_file}: filter_cfg={self.filter_cfg} leaves none '
                f'of its {len(self.data_list)} images (no image has a box of '
                f'the classes {tuple(self.metainfo["classes"])}, or all are '
                'smaller than min_size)')
        return data_list

    def _check_categories(self, categories: List[dict]) -> None:
        """Raise unless the classes are the file's categories of those names,
        in the file's order (the labels :class:`CocoDataset` assigns).

        Args:
            categories (list[dict]): The ``categories`` of the file.
        """
        classes = tuple(self.metainfo['classes'])
        file_order = tuple(category['name'] for category in categories
                           if category['name'] in classes)
        if sorted(file_order) != sorted(classes):
            raise ValueError(
                f'{self.ann_file}: each dataset class of {classes} must be '
                'the name of exactly one category of the file, whose '
                f'categories of those names are {file_order}; set '
                'metainfo=dict(classes=...) to names the file uses')
        if file_order != classes:
            raise ValueError(
                f'{self.ann_file}: the dataset classes {classes} are not in '
                f'the order of the file\'s categories {file_order}; labels '
                'follow the file order, so set metainfo=dict(classes='
                f'{file_order}) or rewrite the file\'s categories')

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one image entry and its boxes.

        Args:
            raw_data_info (dict): ``raw_img_info`` (the ``images`` entry) and
                ``raw_ann_info`` (its annotations).

        Returns:
            dict: The :class:`CocoDataset` data info plus ``rgb_path`` and
            ``is_night``.
        """
        img_info = raw_data_info['raw_img_info']
        missing = [k for k in self.required_image_keys if k not in img_info]
        if missing:
            raise KeyError(
                f'{self.ann_file}: image id {img_info["img_id"]} '
                f'({img_info.get("file_name")!r}) has no {missing}; '
                f'{type(self).__name__} needs {self.required_image_keys} in '
                'every image entry (write the file with the converters in '
                'tools/dataset_converters/)')
        data_info = super().parse_data_info(raw_data_info)
        data_info['rgb_path'] = osp.join(self.data_prefix['img'],
                                         img_info['rgb_file_name'])
        # a JSON boolean, checked by check_coco_dict
        data_info['is_night'] = img_info.get('is_night', False)
        if self.check_pairs:
            self._check_pair(data_info['img_path'], data_info['rgb_path'])
        return data_info

    def _check_pair(self, ir_path: str, rgb_path: str) -> None:
        """Raise if either image of a pair is missing, naming both."""
        ir_ok = exists(ir_path, backend_args=self.backend_args)
        rgb_ok = exists(rgb_path, backend_args=self.backend_args)
        if not (ir_ok and rgb_ok):
            absent = [
                name for name, ok in (('IR', ir_ok), ('RGB', rgb_ok)) if not ok
            ]
            raise FileNotFoundError(
                f'{self.ann_file}: incomplete image pair, '
                f'{" and ".join(absent)} missing: IR image {ir_path!r} '
                f'(exists: {ir_ok}), RGB image {rgb_path!r} '
                f'(exists: {rgb_ok}); check data_root / '
                'data_prefix, or pass check_pairs=False')
