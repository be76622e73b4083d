"""Datasets of paired RGB-infrared frames and their transforms."""
from . import transforms  # noqa: F401
