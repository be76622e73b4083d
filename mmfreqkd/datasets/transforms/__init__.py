"""Paired RGB-infrared transforms."""
from .crop_paired_box import CropPairedBox
from .formatting import (PackPairedClsInputs, PackPairedDetInputs,
                         PackPairedSegInputs)
from .loading import LoadPairedImageFromFile
from .loading_rgbt import LoadRGBTFromPNG
from .wrappers import ApplyToModality, PairedGeometric

__all__ = [
    'CropPairedBox', 'PackPairedClsInputs',
    'ApplyToModality', 'LoadPairedImageFromFile', 'LoadRGBTFromPNG',
    'PackPairedDetInputs', 'PackPairedSegInputs', 'PairedGeometric'
]
