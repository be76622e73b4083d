"""A multi-scale pyramid built from one single-scale ViT feature map."""
import math
from typing import List, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor


def _log2_of_scale(scale: float) -> int:
    """Exponent k of a scale factor ``2 ** k``; other factors raise."""
    exponent = math.log2(scale) if scale > 0 else math.nan
    if not math.isfinite(exponent) or exponent != round(exponent):
        raise ValueError(
            f'SimpleFeaturePyramid scale_factors must be powers of two '
            f'(..., 0.25, 0.5, 1, 2, 4, ...), got {scale!r}')
    return int(round(exponent))


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """ViTDet-style simple feature pyramid over one plain-ViT map.

    A plain ViT has a single resolution (stride 14 for DINOv2). This neck
    turns one of its maps into a pyramid: every entry ``s`` of
    ``scale_factors`` makes one output level at ``s`` times the input
    resolution, i.e. at stride ``14 / s``:

    * ``s = 2 ** k > 1``: ``k`` stride-2 2x2 transposed convolutions, each
      halving the channels, with a norm and an activation between two of
      them;
    * ``s = 1``: the map itself;
    * ``s = 2 ** -k < 1``: a ``2 ** k`` x ``2 ** k`` max pooling of stride
      ``2 ** k`` (sides rounded down).

    Each level then goes through a 1x1 and a 3x3 convolution, both followed
    by the norm and no activation, to ``out_channels``. With the default
    ``scale_factors=(4, 2, 1, 0.5, 0.25)`` a DINOv2 map gives five levels of
    strides 3.5, 7, 14, 28 and 56; an input whose grid sides are multiples
    of 4 (image sides multiples of 56) keeps every level exactly aligned.

    Args:
        in_channels (int): Channels C of the selected backbone map.
        out_channels (int): Channels of every output level.
        scale_factors (Sequence[float]): Powers of two, one per output level,
            in output order. Defaults to ``(4, 2, 1, 0.5, 0.25)``.
        in_index (int): Which backbone output to use; negatives count from
            the end. Defaults to -1 (the last one).
        norm_cfg (dict): Norm after the upsampling steps and in the output
            convolutions. Defaults to ``dict(type='GN', num_groups=32)``.
        act_cfg (dict): Activation between two upsampling steps.
            Defaults to ``dict(type='GELU')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 scale_factors: Sequence[float] = (4, 2, 1, 0.5, 0.25),
                 in_index: int = -1,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not scale_factors:
            raise ValueError('SimpleFeaturePyramid needs at least one scale '
                             'factor')
        exponents = [_log2_of_scale(scale) for scale in scale_factors]
        if in_channels % 2**max(max(exponents), 0):
            raise ValueError(
                f'SimpleFeaturePyramid: in_channels={in_channels} must be '
                f'divisible by {2**max(exponents)} (channels halve at each '
                f'of the {max(exponents)} upsampling steps)')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale_factors = tuple(float(s) for s in scale_factors)
        self.in_index = in_index
        self.resamplers = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for exponent in exponents:
            resampler, channels = self._make_resampler(
                in_channels, exponent, norm_cfg, act_cfg)
            self.resamplers.append(resampler)
            self.output_convs.append(
                nn.Sequential(
                    ConvModule(channels, out_channels, 1, norm_cfg=norm_cfg,
                               act_cfg=None),
                    ConvModule(out_channels, out_channels, 3, padding=1,
                               norm_cfg=norm_cfg, act_cfg=None)))

    @staticmethod
    def _make_resampler(channels: int, exponent: int, norm_cfg: dict,
                        act_cfg: dict) -> Tuple[nn.Module, int]:
        """Module resampling by ``2 ** exponent`` and its output channels."""
        if exponent == 0:
            return nn.Identity(), channels
        if exponent < 0:
            size = 2**-exponent
            return nn.MaxPool2d(kernel_size=size, stride=size), channels
        layers: List[nn.Module] = []
        for step in range(exponent):
            if step > 0:
                layers.append(build_norm_layer(norm_cfg, channels)[1])
                layers.append(build_activation_layer(act_cfg))
            layers.append(
                nn.ConvTranspose2d(
                    channels, channels // 2, kernel_size=2, stride=2))
            channels //= 2
        return nn.Sequential(*layers), channels

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Pyramid levels of the selected backbone map.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs; ``inputs[in_index]``
                has shape (B, in_channels, H, W).

        Returns:
            tuple[Tensor]: One (B, out_channels, H_i, W_i) map per scale
            factor ``s_i``: ``H_i = H * s_i`` for ``s_i >= 1``,
            ``floor(H * s_i)`` below.
        """
        x = inputs[self.in_index]
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'SimpleFeaturePyramid built for in_channels='
                f'{self.in_channels} got a map of shape {tuple(x.shape)} '
                f'(backbone output {self.in_index})')
        return tuple(
            convs(resampler(x))
            for resampler, convs in zip(self.resamplers, self.output_convs))
