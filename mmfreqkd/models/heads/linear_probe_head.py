"""Linear-probe segmentation head over several backbone levels."""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class LinearProbeHead(BaseDecodeHead):
    """Light segmentation head of the FreqKD MFNet linear probe.

    Each selected level is projected by a 1x1 convolution (with bias, no
    norm or activation) to ``proj_channels`` and resized bilinearly to the
    size of the first selected level; the projections are concatenated, fused
    by a 1x1 conv-BN-ReLU to ``channels`` and classified by a 1x1 convolution
    (``conv_seg`` of :class:`BaseDecodeHead`, after its optional dropout).
    The backbone is meant to stay frozen (e.g. ``frozen=True`` on the
    backbone), so only this head learns.

    Shapes: inputs ``N`` maps ``(B, in_channels[i], H_i, W_i)``; output
    logits ``(B, num_classes, H_0, W_0)``; mmseg's segmentors resize them to
    the input image.

    Args:
        in_channels (Sequence[int]): Channels of each selected level,
            e.g. ``[1024] * 5`` for five ViT-L blocks.
        in_index (Sequence[int]): Indices of the selected backbone outputs,
            same length as ``in_channels``. Defaults to ``(0, 1, 2, 3, 4)``.
        proj_channels (int): Channels of each level's projection.
            Defaults to 256.
        channels (int): Channels of the fusion conv-BN-ReLU. Defaults to 256.
        norm_cfg (dict): Norm of the fusion layer.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``dropout_ratio``, ``loss_decode``, ``align_corners``, ...).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 in_index: Sequence[int] = (0, 1, 2, 3, 4),
                 proj_channels: int = 256,
                 channels: int = 256,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 **kwargs) -> None:
        if not isinstance(in_channels, (list, tuple)) or \
                not isinstance(in_index, (list, tuple)) or \
                len(in_channels) != len(in_index):
            raise ValueError(
                'LinearProbeHead needs in_channels and in_index as sequences '
                f'of equal length, got in_channels={in_channels}, '
                f'in_index={in_index}')
        super().__init__(
            in_channels=list(in_channels),
            channels=channels,
            in_index=list(in_index),
            input_transform='multiple_select',
            norm_cfg=norm_cfg,
            **kwargs)
        self.projections = nn.ModuleList(
            nn.Conv2d(c, proj_channels, kernel_size=1)
            for c in self.in_channels)
        self.fusion = ConvModule(
            proj_channels * len(self.in_channels),
            channels,
            kernel_size=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Segmentation logits from the backbone outputs.

        Args:
            inputs (list[Tensor]): All backbone outputs; the levels of
                ``in_index`` are used, each ``(B, C_i, H_i, W_i)``.

        Returns:
            Tensor: Logits of shape ``(B, num_classes, H_0, W_0)``.
        """
        levels = self._transform_inputs(inputs)
        size = levels[0].shape[2:]
        projected = [
            resize(
                projection(level),
                size=size,
                mode='bilinear',
                align_corners=self.align_corners)
            for projection, level in zip(self.projections, levels)
        ]
        return self.cls_seg(self.fusion(torch.cat(projected, dim=1)))
