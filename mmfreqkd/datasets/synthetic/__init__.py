"""Synthetic paired RGB-infrared data in the KAIST, FLIR and MFNet layouts.

The real datasets may not be redistributed; tests and the quick start use
these instead.
"""
from .generate import LAYOUTS, make_synthetic_dataset
from .painter import PairedScenePainter

__all__ = ['LAYOUTS', 'make_synthetic_dataset', 'PairedScenePainter']
