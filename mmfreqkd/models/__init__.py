"""Models: backbones, LoRA, band splitters, losses, distillers."""
from . import backbones, data_preprocessors, distillers, heads, losses  # noqa: F401,E501
