"""Projection of a student feature map onto a teacher feature map's shape."""
import numbers
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS


@MODELS.register_module()
class FeatureConnector(BaseModule):
    """1x1 convolution to the teacher's channels, bilinear resize to its grid.

    Used where a student layer and its teacher layer differ in shape, for
    example ResNet-50 stage C3 (512 channels, stride 8) paired with a ViT-L/14
    block (1024 channels, stride 14).

    A 1x1 convolution and bilinear interpolation are both linear, the first
    acting on channels at each position and the second mixing positions with
    weights that sum to one, so they commute (the bias included). The map is
    therefore resized *first*, which costs less whenever the student grid is
    finer than the teacher's.

    Args:
        in_channels (int): Channels of the student map.
        out_channels (int): Channels of the teacher map. When equal to
            ``in_channels`` and ``always_project`` is False, no convolution is
            made.
        always_project (bool): Learn a 1x1 convolution even when the channel
            counts match. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 always_project: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        for key, value in (('in_channels', in_channels),
                           ('out_channels', out_channels)):
            if isinstance(value, bool) \
                    or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError('FeatureConnector channels must be positive '
                                 f'ints, got {key}={value!r}')
        if not isinstance(always_project, bool):
            raise TypeError('FeatureConnector: always_project must be a bool, '
                            f'got {always_project!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        if always_project or in_channels != out_channels:
            self.proj = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            self.proj = nn.Identity()

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """Project ``x`` to the teacher's shape.

        Args:
            x (Tensor): Student map of shape (B, in_channels, H_s, W_s).
            size (Sequence[int]): Teacher grid (H_t, W_t).

        Returns:
            Tensor: Map of shape (B, out_channels, H_t, W_t).
        """
        if x.shape[1] != self.in_channels:
            raise ValueError(f'FeatureConnector expects {self.in_channels} '
                             f'input channels, got a map of shape '
                             f'{tuple(x.shape)}')
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(
                x, size=tuple(size), mode='bilinear', align_corners=False)
        return self.proj(x)
