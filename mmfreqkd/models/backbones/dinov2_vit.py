"""DINOv2 Vision Transformer backbone returning dense patch-token maps.

The file reads top to bottom like a ViT: the building blocks (layer scale,
stochastic depth, attention, feed-forward networks, the transformer block,
the patch embedding), then the backbone: tokens, blocks, outputs.

Parameter names follow timm's ``vit_*_patch14[_reg4]_dinov2`` models
(``cls_token``, ``reg_token``, ``pos_embed``, ``patch_embed.proj``,
``blocks.{i}.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.fc1,mlp.fc2,
ls2.gamma}``, ``norm``), so LoRA targets such as ``attn.qkv`` match by
suffix. Two layout decisions differ from some of the checkpoints it reads
(:mod:`.dinov2_checkpoint` converts them):

* ``pos_embed`` covers the patch tokens only, (1, grid_h * grid_w, C). The
  class token's position embedding is a constant, so it is folded into
  ``cls_token`` at conversion, like timm does for the register models.
* the SwiGLU feed-forward of the giant model keeps its packed input
  projection as ``mlp.fc1`` (2 * hidden outputs, first half gated by SiLU)
  and its output projection as ``mlp.fc2``, as timm's ``SwiGLUPacked``.
"""
import math
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule, initialize
from mmengine.registry import MODELS

from .dinov2_checkpoint import load_dinov2_checkpoint
from .pos_embed import resample_pos_embed

# Feed-forward width is the hidden width after gating for SwiGLU.
ARCH_SETTINGS: Dict[str, dict] = {
    'small': dict(embed_dims=384, num_layers=12, num_heads=6,
                  feedforward_channels=1536, ffn_type='mlp'),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12,
                 feedforward_channels=3072, ffn_type='mlp'),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16,
                  feedforward_channels=4096, ffn_type='mlp'),
    'giant': dict(embed_dims=1536, num_layers=40, num_heads=24,
                  feedforward_channels=4096, ffn_type='swiglu'),
}
ARCH_ALIASES = {'s': 'small', 'b': 'base', 'l': 'large', 'g': 'giant'}
_ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')


def drop_path(x: torch.Tensor, drop_prob: float,
              training: bool) -> torch.Tensor:
    """Zero the residual branch of whole samples (stochastic depth).

    Args:
        x (Tensor): (B, ...) residual branch output.
        drop_prob (float): Probability of dropping a sample's branch.
        training (bool): Identity when False.

    Returns:
        Tensor: ``x`` with dropped samples zeroed and kept ones scaled by
        ``1 / (1 - drop_prob)``.
    """
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1. - drop_prob
    mask = x.new_empty((x.shape[0], ) + (1, ) * (x.dim() - 1))
    return x * mask.bernoulli_(keep_prob).div_(keep_prob)


class DropPath(nn.Module):
    """Stochastic depth as a module, see :func:`drop_path`."""

    def __init__(self, drop_prob: float = 0.):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class LayerScale(nn.Module):
    """Learned per-channel scale of a residual branch, ``x * gamma``.

    Args:
        dims (int): Number of channels C.
        init_value (float): Initial value of every entry of ``gamma``.
    """

    def __init__(self, dims: int, init_value: float = 1e-5):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dims, ), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Attention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection.

    Args:
        dims (int): Token channels C.
        num_heads (int): Number of heads; must divide ``dims``.
    """

    def __init__(self, dims: int, num_heads: int):
        super().__init__()
        if dims % num_heads:
            raise ValueError(
                f'embed_dims={dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.head_dims = dims // num_heads
        self.qkv = nn.Linear(dims, 3 * dims)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) tokens -> (B, N, C) attended tokens."""
        batch, length, dims = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads,
                                  self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, heads, N, head_dims)
        x = F.scaled_dot_product_attention(q, k, v)
        x = x.transpose(1, 2).reshape(batch, length, dims)
        return self.proj(x)


class Mlp(nn.Module):
    """Feed-forward network ``fc2(GELU(fc1(x)))``.

    Args:
        dims (int): Token channels C.
        hidden_dims (int): Hidden width.
    """

    def __init__(self, dims: int, hidden_dims: int):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwiGLUFFN(nn.Module):
    """SwiGLU feed-forward network with a packed input projection.

    ``fc1`` maps C to 2 * hidden; with ``a, b`` its two halves the output is
    ``fc2(SiLU(a) * b)``. This is DINOv2's ``w12`` / ``w3``, timm's
    ``SwiGLUPacked`` and Hugging Face's ``weights_in`` / ``weights_out``.

    Args:
        dims (int): Token channels C.
        hidden_dims (int): Hidden width after gating.
    """

    def __init__(self, dims: int, hidden_dims: int):
        super().__init__()
        self.fc1 = nn.Linear(dims, 2 * hidden_dims)
        self.fc2 = nn.Linear(hidden_dims, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.fc1(x).chunk(2, dim=-1)
        return self.fc2(F.silu(gate) * value)


FFN_TYPES = {'mlp': Mlp, 'swiglu': SwiGLUFFN}


class Block(nn.Module):
    """Pre-norm transformer block with layer scale and stochastic depth.

    ``x = x + drop_path(ls1(attn(norm1(x))))`` then
    ``x = x + drop_path(ls2(mlp(norm2(x))))``.

    Args:
        dims (int): Token channels C.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the feed-forward network.
        ffn_type (str): ``'mlp'`` or ``'swiglu'``.
        layer_scale_init_value (float): Initial layer-scale value.
        drop_path_rate (float): Stochastic depth probability of this block.
    """

    def __init__(self, dims: int, num_heads: int, feedforward_channels: int,
                 ffn_type: str = 'mlp', layer_scale_init_value: float = 1e-5,
                 drop_path_rate: float = 0.):
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=1e-6)
        self.attn = Attention(dims, num_heads)
        self.ls1 = LayerScale(dims, layer_scale_init_value)
        self.norm2 = nn.LayerNorm(dims, eps=1e-6)
        self.mlp = FFN_TYPES[ffn_type](dims, feedforward_channels)
        self.ls2 = LayerScale(dims, layer_scale_init_value)
        self.drop_path = DropPath(drop_path_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        x = x + self.drop_path(self.ls1(self.attn(self.norm1(x))))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))


class PatchEmbed(nn.Module):
    """Non-overlapping patch embedding, optionally padding ragged inputs.

    Args:
        patch_size (int): Patch side P.
        in_channels (int): Input channels.
        dims (int): Token channels C.
        pad_to_patch (bool): Zero-pad the right and bottom edges up to a
            multiple of P. When False a ragged input raises ``ValueError``.
    """

    def __init__(self, patch_size: int, in_channels: int, dims: int,
                 pad_to_patch: bool = True):
        super().__init__()
        self.patch_size = patch_size
        self.pad_to_patch = pad_to_patch
        self.proj = nn.Conv2d(
            in_channels, dims, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Embed patches.

        Args:
            x (Tensor): (B, C_in, H, W) images.

        Returns:
            tuple: (B, h * w, C) tokens in row-major order and the grid
            (h, w) = (ceil(H / P), ceil(W / P)) with padding, else (H / P,
            W / P).
        """
        height, width = x.shape[-2:]
        pad_h = -height % self.patch_size
        pad_w = -width % self.patch_size
        if pad_h or pad_w:
            if not self.pad_to_patch:
                raise ValueError(
                    f'input size {height}x{width} is not divisible by the '
                    f'patch size {self.patch_size}; resize or crop it, or '
                    'build the backbone with pad_to_patch=True')
            x = F.pad(x, (0, pad_w, 0, pad_h))
        x = self.proj(x)
        grid = (x.shape[-2], x.shape[-1])
        return x.flatten(2).transpose(1, 2), grid


def _check_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, raising unless it is an integer (not a
    bool) >= ``minimum``; the message names the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < minimum:
        raise ValueError(f'DINOv2ViT: {name} must be an int >= {minimum}, '
                         f'got {value!r}')
    return int(value)


def _parse_arch(arch: Union[str, dict]) -> dict:
    """Resolve ``arch`` (a name, an alias or a dict) into its settings."""
    if isinstance(arch, str):
        name = ARCH_ALIASES.get(arch.lower(), arch.lower())
        if name not in ARCH_SETTINGS:
            raise ValueError(
                f'unknown DINOv2ViT arch {arch!r}; choose one of '
                f'{sorted(ARCH_SETTINGS)} or pass a dict with keys '
                f'{list(_ARCH_KEYS)} (+ optional ffn_type)')
        return dict(ARCH_SETTINGS[name])
    if isinstance(arch, dict):
        missing = [k for k in _ARCH_KEYS if k not in arch]
        unknown = sorted(set(arch) - set(_ARCH_KEYS) - {'ffn_type'})
        if missing or unknown:
            raise KeyError(
                f'DINOv2ViT arch dict: missing keys {missing}, unknown keys '
                f'{unknown}; expected {list(_ARCH_KEYS)} (+ optional '
                'ffn_type)')
        settings = {'ffn_type': 'mlp', **arch}
        if settings['ffn_type'] not in FFN_TYPES:
            raise ValueError(
                f"DINOv2ViT arch ffn_type must be one of {sorted(FFN_TYPES)}, "
                f"got {settings['ffn_type']!r}")
        for key in _ARCH_KEYS:
            settings[key] = _check_int(settings[key], f'arch[{key!r}]')
        if settings['embed_dims'] % settings['num_heads']:
            raise ValueError(
                f"DINOv2ViT: arch['embed_dims']={settings['embed_dims']} is "
                f"not divisible by arch['num_heads']={settings['num_heads']}")
        return settings
    raise TypeError(f'DINOv2ViT arch must be a str or dict, got {type(arch)}')


@MODELS.register_module()
class DINOv2ViT(BaseModule):
    """DINOv2 ViT/14 backbone returning patch-token maps of chosen blocks.

    Tokens are ``[cls, registers..., patches...]``; the patch tokens carry
    the (resampled) position embedding, the class token carries its own
    position embedding folded into ``cls_token``, register tokens carry
    none. Any input size works: the position embedding is resampled from
    the ``img_size`` grid (37x37 for the released models) to the input grid
    exactly as timm does (bicubic, anti-aliased, float32).

    Args:
        arch (str | dict): ``'small'``, ``'base'``, ``'large'``, ``'giant'``
            (or ``'s'``, ``'b'``, ``'l'``, ``'g'``), or a dict with keys
            ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` and optionally ``ffn_type``
            (``'mlp'`` or ``'swiglu'``; the giant model uses SwiGLU).
        img_size (int | tuple[int, int]): Image size the position
            embedding grid is laid out for: 518 gives the 37x37 grid of the
            released checkpoints. Inputs of other sizes are fine.
        patch_size (int): Patch side P (14 for DINOv2).
        in_channels (int): 3, or 1 for single-channel (e.g. infrared)
            inputs. With ``in_channels=1`` RGB checkpoints load with their
            patch-embedding kernels summed over the colour axis, which gives
            exactly the features of the grey image replicated to three
            channels. A 1-channel input to a 3-channel model is replicated
            to three channels on the fly, with the same result.
        num_register_tokens (int): 0, or 4 for the ``_reg4`` models.
        layer_scale_init_value (float): Initial layer-scale value.
        drop_path_rate (float): Stochastic depth rate of the last block,
            growing linearly from 0 over the blocks; in [0, 1) (at 1 the
            last block would keep no sample and divide by 0).
        out_indices (Sequence[int] | int): 0-based block indices whose
            outputs are returned, in this order; negatives count from the
            end. Blocks after the largest index are not run, so their
            parameters get no gradient.
        final_norm (bool): Apply the final LayerNorm ``norm`` to the
            returned maps (as timm's ``forward_intermediates(norm=True)``).
        pad_to_patch (bool): If True, inputs whose sides are not multiples
            of P are zero-padded on the right and bottom, so the grid is
            ceil(H / P) x ceil(W / P) (640x512 becomes 46x37). If False they
            raise ``ValueError``.
        frozen (bool): Freeze all parameters and keep the module in eval
            mode, whatever ``train()`` is called with (teachers).
        with_cp (bool): Gradient checkpointing of the blocks while training
            with gradients enabled: less memory, one extra block forward.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH, prefix=None)`` loads official DINOv2, timm or
            Hugging Face weights strictly (see :meth:`load_pretrained`).
            Other initialisers are applied by mmengine as usual. Without it
            the weights are initialised randomly as in timm.

    Example:
        >>> model = DINOv2ViT('small', out_indices=(3, 7, 11))
        >>> feats = model(torch.rand(2, 3, 224, 280))
        >>> [tuple(f.shape) for f in feats]
        [(2, 384, 16, 20), (2, 384, 16, 20), (2, 384, 16, 20)]
    """

    #: :meth:`init_weights` loads ``Pretrained`` entries strictly itself, so
    #: a distiller leaves them to it (see :class:`BaseDistiller`).
    loads_pretrained_strictly = True

    def __init__(self,
                 arch: Union[str, dict] = 'large',
                 img_size: Union[int, Tuple[int, int]] = 518,
                 patch_size: int = 14,
                 in_channels: int = 3,
                 num_register_tokens: int = 0,
                 layer_scale_init_value: float = 1e-5,
                 drop_path_rate: float = 0.,
                 out_indices: Union[int, Sequence[int]] = (-1, ),
                 final_norm: bool = False,
                 pad_to_patch: bool = True,
                 frozen: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        settings = _parse_arch(arch)
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        self.ffn_type = settings['ffn_type']
        if in_channels not in (1, 3) or isinstance(in_channels, bool):
            raise ValueError(f'in_channels must be 1 or 3, got {in_channels}')
        num_register_tokens = _check_int(num_register_tokens,
                                         'num_register_tokens', minimum=0)
        patch_size = _check_int(patch_size, 'patch_size')
        img_h, img_w = self._parse_img_size(img_size)
        if isinstance(drop_path_rate, bool) \
                or not isinstance(drop_path_rate, numbers.Real) \
                or not 0 <= drop_path_rate < 1:
            raise ValueError('DINOv2ViT: drop_path_rate must be a number in '
                             f'[0, 1), got {drop_path_rate!r}')
        if isinstance(layer_scale_init_value, bool) \
                or not isinstance(layer_scale_init_value, numbers.Real) \
                or not math.isfinite(layer_scale_init_value):
            raise ValueError('DINOv2ViT: layer_scale_init_value must be a '
                             f'finite number, got {layer_scale_init_value!r}')
        if img_h % patch_size or img_w % patch_size:
            raise ValueError(f'img_size {img_h}x{img_w} is not a multiple of '
                             f'patch_size {patch_size}')
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.num_register_tokens = num_register_tokens
        self.num_prefix_tokens = 1 + num_register_tokens
        self.grid_size = (img_h // patch_size, img_w // patch_size)
        self.out_indices = self._normalize_out_indices(out_indices)
        self.final_norm = final_norm
        self.frozen = frozen
        self.with_cp = with_cp

        dims = self.embed_dims
        self.patch_embed = PatchEmbed(patch_size, in_channels, dims,
                                      pad_to_patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.reg_token = nn.Parameter(
            torch.zeros(1, num_register_tokens, dims)) \
            if num_register_tokens else None
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.grid_size[0] * self.grid_size[1], dims))
        rates = [drop_path_rate * i / max(self.num_layers - 1, 1)
                 for i in range(self.num_layers)]
        self.blocks = nn.ModuleList([
            Block(dims, settings['num_heads'],
                  settings['feedforward_channels'], self.ffn_type,
                  layer_scale_init_value, rate) for rate in rates
        ])
        self.norm = nn.LayerNorm(dims, eps=1e-6)

        self._init_random_weights()
        if frozen:
            self.requires_grad_(False)
            self.train(False)

    @staticmethod
    def _parse_img_size(img_size) -> Tuple[int, int]:
        """``img_size`` (an int or an (H, W) pair) as (H, W) of positive
        ints."""
        if isinstance(img_size, numbers.Integral) \
                and not isinstance(img_size, bool):
            img_size = (img_size, img_size)
        if not isinstance(img_size, Sequence) or len(img_size) != 2:
            raise ValueError('DINOv2ViT: img_size must be an int or an (H, W) '
                             f'pair of ints, got {img_size!r}')
        return tuple(_check_int(side, 'img_size') for side in img_size)

    def _normalize_out_indices(self, out_indices) -> Tuple[int, ...]:
        if isinstance(out_indices, numbers.Integral):
            out_indices = (out_indices, )
        if not isinstance(out_indices, Sequence):
            raise TypeError('DINOv2ViT: out_indices must be an int or a '
                            f'sequence of ints, got {out_indices!r}')
        normalized = []
        for index in out_indices:
            if isinstance(index, bool) \
                    or not isinstance(index, numbers.Integral):
                raise TypeError('DINOv2ViT: out_indices entries must be '
                                f'ints, got {index!r} in {out_indices!r}')
            if not -self.num_layers <= index < self.num_layers:
                raise IndexError(
                    f'out_indices entry {index} is out of range for '
                    f'{self.num_layers} blocks')
            normalized.append(index % self.num_layers)
        if not normalized:
            raise ValueError('out_indices is empty')
        if len(set(normalized)) != len(normalized):
            raise ValueError(
                f'DINOv2ViT: out_indices {tuple(out_indices)} name a block '
                'more than once (negative entries count from the end); '
                'each output would repeat a map of another')
        return tuple(normalized)

    def _init_random_weights(self) -> None:
        """timm's ViT initialisation (the state before loading weights)."""
        nn.init.trunc_normal_(self.pos_embed, std=.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        if self.reg_token is not None:
            nn.init.normal_(self.reg_token, std=1e-6)
        for module in self.blocks.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=.02)
                nn.init.zeros_(module.bias)

    def train(self, mode: bool = True) -> 'DINOv2ViT':
        """Set the train mode; a frozen backbone always stays in eval mode."""
        return super().train(mode and not self.frozen)

    # ------------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Load ``Pretrained`` entries of ``init_cfg``; run the others.

        mmengine's own ``PretrainedInit`` loads non-strictly and knows no
        layout conversion, so ``Pretrained`` entries are handled here by
        :meth:`load_pretrained`; any other initialiser of ``init_cfg`` is
        applied first by :func:`mmengine.model.initialize`.
        """
        if self.is_init:
            return
        cfgs = self.init_cfg or []
        cfgs = [cfgs] if isinstance(cfgs, dict) else list(cfgs)
        pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
        if not pretrained:
            super().init_weights()
            return
        others = [c for c in cfgs if c.get('type') != 'Pretrained']
        if others:
            initialize(self, others)
        for cfg in pretrained:
            unknown = set(cfg) - {'type', 'checkpoint', 'prefix',
                                  'map_location', 'layout'}
            if unknown or 'checkpoint' not in cfg:
                raise KeyError(
                    f'DINOv2ViT init_cfg {cfg}: needs "checkpoint", accepts '
                    f'"prefix", "map_location", "layout"; unknown keys '
                    f'{sorted(unknown)}')
            self.load_pretrained(
                cfg['checkpoint'], prefix=cfg.get('prefix'),
                map_location=cfg.get('map_location', 'cpu'),
                layout=cfg.get('layout', 'auto'))
        self._is_init = True

    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None,
                        map_location: str = 'cpu',
                        layout: str = 'auto') -> dict:
        """Load DINOv2 weights of any supported layout, strictly.

        See :func:`~mmfreqkd.models.backbones.dinov2_checkpoint.
        load_dinov2_checkpoint`: layout detection and conversion, position
        embedding resampling to ``grid_size``, patch kernels summed for
        ``in_channels=1``; missing keys (other than LoRA adapters) or
        unexpected keys raise ``KeyError`` naming them.

        Args:
            checkpoint (str): Path (``.pth``, ``.pt``, ``.bin``,
                ``.safetensors``) or any URI mmengine can load.
            prefix (str, optional): Load only keys under this prefix
                (e.g. ``'backbone.'``), stripped.
            map_location (str): Device to load tensors to.
            layout (str): ``'auto'``, ``'official'``, ``'timm'`` or ``'hf'``.
                Give ``'timm'`` for a timm checkpoint without registers
                whose grid differs from ``grid_size``: its ``pos_embed``
                length alone does not tell it from one of this package.

        Returns:
            dict: Loading report (``layout``, ``dropped_keys``, ...).
        """
        return load_dinov2_checkpoint(
            self, checkpoint, prefix=prefix, map_location=map_location,
            layout=layout)

    # ------------------------------------------------------------- forward
    def _prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'DINOv2ViT expects (B, C, H, W) input, got '
                             f'shape {tuple(x.shape)}')
        channels = x.shape[1]
        if channels == self.in_channels:
            return x
        if channels == 1 and self.in_channels == 3:
            return x.expand(-1, 3, -1, -1)
        raise ValueError(
            f'DINOv2ViT built with in_channels={self.in_channels} got a '
            f'{channels}-channel input')

    def _pos_embed(self, grid: Tuple[int, int]) -> torch.Tensor:
        """(1, h * w, C) patch position embedding for an h x w grid."""
        return resample_pos_embed(self.pos_embed, self.grid_size, grid)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Patch-token maps of the blocks in ``out_indices``.

        Args:
            x (Tensor): (B, C_in, H, W) images, C_in = ``in_channels`` or 1.

        Returns:
            tuple[Tensor]: One (B, C, h, w) map per ``out_indices`` entry,
            h = H / 14 and w = W / 14 (rounded up with ``pad_to_patch``).
            Class and register tokens are dropped.
        """
        x = self._prepare_input(x)
        batch = x.shape[0]
        x, (grid_h, grid_w) = self.patch_embed(x)
        x = x + self._pos_embed((grid_h, grid_w))
        prefix = [self.cls_token.expand(batch, -1, -1)]
        if self.reg_token is not None:
            prefix.append(self.reg_token.expand(batch, -1, -1))
        x = torch.cat(prefix + [x], dim=1)

        use_cp = self.with_cp and self.training and torch.is_grad_enabled()
        maps = {}
        for index, block in enumerate(self.blocks[:max(self.out_indices) + 1]):
            if use_cp:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if index in self.out_indices:
                maps[index] = x[:, self.num_prefix_tokens:]

        outs = []
        for index in self.out_indices:
            tokens = maps[index]
            if self.final_norm:
                tokens = self.norm(tokens)
            outs.append(tokens.reshape(batch, grid_h, grid_w, -1).permute(
                0, 3, 1, 2).contiguous())
        return tuple(outs)
