"""Datasets of paired RGB-infrared frames and their transforms."""
from . import transforms  # noqa: F401
from .flir import FLIRAlignedDataset
from .kaist import KAISTDataset
from .mfnet import MFNetDataset
from .paired_coco import PairedCocoDataset

__all__ = [
    'FLIRAlignedDataset', 'KAISTDataset', 'MFNetDataset', 'PairedCocoDataset'
]
