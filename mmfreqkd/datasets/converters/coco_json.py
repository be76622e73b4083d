"""Writing and summarising the COCO-style JSON files made by the converters."""
import json
import os
import os.path as osp
from collections import Counter
from typing import Mapping, Optional


def save_coco_json(coco: dict, out_file: str) -> str:
    """Write a COCO dict as JSON, creating the parent folder if needed.

    Args:
        coco (dict): A dict with ``images``, ``annotations`` and
            ``categories``.
        out_file (str): Path of the JSON file to write.

    Returns:
        str: The absolute path written.
    """
    out_file = osp.abspath(out_file)
    os.makedirs(osp.dirname(out_file), exist_ok=True)
    with open(out_file, 'w') as f:
        json.dump(coco, f)
    return out_file


def summarize_coco(coco: dict,
                   dropped: Optional[Mapping[str, int]] = None) -> str:
    """Describe a converted annotation file in a few human-readable lines.

    Args:
        coco (dict): The COCO dict returned by a converter. Images may carry
            ``is_night``; annotations may carry the source ``label`` (else
            the category name is used) and ``iscrowd``.
        dropped (Mapping[str, int], optional): Source labels that were left
            out of ``coco``, with their counts.

    Returns:
        str: The summary, one fact per line.
    """
    images = coco['images']
    annotations = coco['annotations']
    category_names = {c['id']: c['name'] for c in coco['categories']}
    lines = [f'images: {len(images)}']
    if any('is_night' in img for img in images):
        night = sum(bool(img.get('is_night', False)) for img in images)
        lines.append(f'  day: {len(images) - night}, night: {night}')
    with_boxes = len({ann['image_id'] for ann in annotations})
    lines.append(f'  without any box: {len(images) - with_boxes}')
    per_label = Counter(
        ann.get('label', category_names[ann['category_id']])
        for ann in annotations)
    lines.append(f'boxes: {len(annotations)}')
    for label, count in sorted(per_label.items()):
        lines.append(f'  {label}: {count}')
    ignored = sum(int(ann.get('iscrowd', 0)) for ann in annotations)
    lines.append(f'ignore regions (iscrowd=1): {ignored}')
    if dropped:
        lines.append(f'dropped boxes: {sum(dropped.values())}')
        for label, count in sorted(dropped.items()):
            lines.append(f'  {label}: {count}')
    return '\n'.join(lines)
