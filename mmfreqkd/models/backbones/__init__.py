"""backbones of mmfreqkd."""
from .dinov2_checkpoint import (convert_dinov2_state_dict, detect_layout,
                                load_dinov2_checkpoint)
from .dinov2_vit import DINOv2ViT

__all__ = [
    'DINOv2ViT', 'convert_dinov2_state_dict', 'detect_layout',
    'load_dinov2_checkpoint'
]
