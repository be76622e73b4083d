"""Regions of full precision inside mixed-precision code."""
from contextlib import nullcontext
from typing import ContextManager

import torch


def autocast_disabled(device: torch.device) -> ContextManager:
    """A region where autocast is off on ``device`` (float32 stays float32
    inside an enclosing mixed-precision region); a no-op on devices without
    autocast support."""
    if not torch.amp.is_autocast_available(device.type):
        return nullcontext()
    return torch.autocast(device.type, enabled=False)
