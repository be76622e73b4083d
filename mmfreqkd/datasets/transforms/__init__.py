"""Paired RGB-infrared transforms."""
from .formatting import PackPairedDetInputs, PackPairedSegInputs
from .loading import LoadPairedImageFromFile
from .loading_rgbt import LoadRGBTFromPNG
from .wrappers import ApplyToModality, PairedGeometric

__all__ = [
    'ApplyToModality', 'LoadPairedImageFromFile', 'LoadRGBTFromPNG',
    'PackPairedDetInputs', 'PackPairedSegInputs', 'PairedGeometric'
]
