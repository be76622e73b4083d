"""Consistency checks of the COCO-style JSON files the datasets read."""
import math

from mmfreqkd.utils.value_types import is_real_number


def check_coco_dict(coco: dict, ann_file: str) -> None:
    """Raise on a COCO-style detection dict that would load wrongly.

    mmdet's :class:`CocoDataset` (through the COCO API) and
    :class:`PairedObjectCropDataset` index the file by id and would, on an
    inconsistent file, silently merge, drop or duplicate frames and boxes.
    One pass over ``images`` and ``annotations`` checks that:

    - the file has the lists ``images`` (at least one), ``annotations``
      (``[]`` for a file without boxes) and ``categories``;
    - category ids, image ids, image ``file_name`` s and annotation ids are
      unique;
    - every image has ``width`` and ``height`` > 0, and ``is_night``, if
      present, is a JSON boolean (``"false"`` would read as True);
    - every annotation's ``image_id`` and ``category_id`` are listed, and
      its ``bbox`` is 4 finite numbers ``[x, y, w, h]`` with ``w, h >= 0``
      and its ``iscrowd``, if present, 0 or 1.

    Args:
        coco (dict): The loaded file.
        ann_file (str): Its path, for the messages.

    Raises:
        KeyError: On a missing list or a missing id or ``file_name``,
            naming ``ann_file`` (and the entry).
        ValueError: On any other violation, naming ``ann_file`` and the
            image or annotation id.
    """
    if not isinstance(coco, dict):
        raise ValueError(f'{ann_file}: expected a COCO-style JSON object, '
                         f'got a {type(coco).__name__}')
    for key in ('images', 'annotations', 'categories'):
        if key not in coco:
            hint = (' (write "annotations": [] for a file without boxes)'
                    if key == 'annotations' else '')
            raise KeyError(f'{ann_file}: no "{key}" list; expected a '
                           f'COCO-style detection file{hint}')
        if not isinstance(coco[key], list):
            raise ValueError(f'{ann_file}: {key!r} must be a list, got a '
                             f'{type(coco[key]).__name__}')
    if not coco['images']:
        raise ValueError(f'{ann_file}: no images (its "images" list is '
                         'empty); convert a split that lists frames')

    category_ids = set()
    for category in coco['categories']:
        if 'id' not in category:
            raise KeyError(f'{ann_file}: category {category!r} has no id')
        if category['id'] in category_ids:
            raise ValueError(f'{ann_file}: category id {category["id"]!r} '
                             'is listed twice')
        category_ids.add(category['id'])

    file_of_id, id_of_file = {}, {}
    for index, image in enumerate(coco['images']):
        for key in ('id', 'file_name'):
            if key not in image:
                raise KeyError(f'{ann_file}: image #{index} '
                               f'({image.get("file_name", image.get("id"))!r})'
                               f' has no {key!r}')
        img_id, file_name = image['id'], image['file_name']
        where = f'{ann_file}: image id {img_id!r} ({file_name!r})'
        if img_id in file_of_id:
            raise ValueError(f'{where}: the id is also that of image '
                             f'{file_of_id[img_id]!r}; image ids must be '
                             'unique')
        if file_name in id_of_file:
            raise ValueError(f'{where}: the file is listed twice, also as '
                             f'image id {id_of_file[file_name]!r}')
        file_of_id[img_id] = file_name
        id_of_file[file_name] = img_id
        for key in ('width', 'height'):
            value = image.get(key)
            if not (is_real_number(value) and math.isfinite(value)
                    and value > 0):
                raise ValueError(f'{where}: {key} must be a number > 0, got '
                                 f'{value!r}')
        if 'is_night' in image and not isinstance(image['is_night'], bool):
            raise ValueError(f'{where}: is_night must be true or false (a '
                             f'JSON boolean), got {image["is_night"]!r}')

    ann_ids = set()
    for index, ann in enumerate(coco['annotations']):
        if 'id' not in ann:
            raise KeyError(f'{ann_file}: annotation #{index} has no id')
        ann_id = ann['id']
        where = f'{ann_file}: annotation id {ann_id!r}'
        if ann_id in ann_ids:
            raise ValueError(f'{where} is listed twice; annotation ids must '
                             'be unique')
        ann_ids.add(ann_id)
        if ann.get('image_id') not in file_of_id:
            raise ValueError(f'{where}: image_id {ann.get("image_id")!r} is '
                             'not the id of any image of the file')
        if ann.get('category_id') not in category_ids:
            raise ValueError(
                f'{where} (image id {ann["image_id"]!r}): category_id '
                f'{ann.get("category_id")!r} is not one of the file\'s '
                f'category ids {sorted(category_ids, key=str)}')
        bbox = ann.get('bbox')
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(
                is_real_number(v) and math.isfinite(v) for v in bbox)):
            raise ValueError(
                f'{where} (image id {ann["image_id"]!r}): bbox must be 4 '
                f'finite numbers [x, y, w, h], got {bbox!r}')
        if bbox[2] < 0 or bbox[3] < 0:
            raise ValueError(
                f'{where} (image id {ann["image_id"]!r}): bbox {bbox} has a '
                'negative width or height')
        if ann.get('iscrowd', 0) not in (0, 1) or isinstance(
                ann.get('iscrowd'), str):
            raise ValueError(
                f'{where} (image id {ann["image_id"]!r}): iscrowd must be 0 '
                f'or 1, got {ann["iscrowd"]!r}')
