"""Paired RGB-infrared transforms."""
from .crop_paired_box import CropPairedBox
from .formatting import PackPairedDetInputs, PackPairedSegInputs
from .loading import LoadPairedImageFromFile
from .loading_rgbt import LoadRGBTFromPNG
from .pack_paired_cls_inputs import PackPairedClsInputs
from .wrappers import ApplyToModality, PairedGeometric

__all__ = [
    'CropPairedBox', 'PackPairedClsInputs',
    'ApplyToModality', 'LoadPairedImageFromFile', 'LoadRGBTFromPNG',
    'PackPairedDetInputs', 'PackPairedSegInputs', 'PairedGeometric'
]
