"""Datasets of paired RGB-infrared frames and their transforms."""
from . import transforms  # noqa: F401
from .flir import FLIRAlignedDataset
from .kaist import KAISTDataset
from .mfnet import MFNetDataset
from .paired_coco import PairedCocoDataset
from .paired_object_crops import PairedObjectCropDataset

__all__ = [
    'PairedObjectCropDataset',
    'FLIRAlignedDataset', 'KAISTDataset', 'MFNetDataset', 'PairedCocoDataset'
]
