"""Converters of the original KAIST and FLIR annotations to COCO JSON.

The command-line tools in ``tools/dataset_converters/`` are thin wrappers
around these functions.
"""
from .coco_json import save_coco_json, summarize_coco
from .flir_aligned import (FLIR_ALIGNED_CATEGORIES, flir_aligned_to_coco,
                           parse_voc_xml, read_flir_split)
from .kaist import (KAIST_CATEGORIES, KAIST_LABELS, find_kaist_annotation,
                    is_kaist_night_set, kaist_to_coco, parse_kaist_annotation,
                    read_kaist_split)

__all__ = [
    'save_coco_json', 'summarize_coco', 'FLIR_ALIGNED_CATEGORIES',
    'flir_aligned_to_coco', 'parse_voc_xml', 'read_flir_split',
    'KAIST_CATEGORIES', 'KAIST_LABELS', 'find_kaist_annotation',
    'is_kaist_night_set', 'kaist_to_coco', 'parse_kaist_annotation',
    'read_kaist_split'
]
