"""Paired RGB-infrared transforms."""
from .loading_rgbt import LoadRGBTFromPNG

__all__ = ['LoadRGBTFromPNG']
