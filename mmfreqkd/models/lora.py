"""Low-rank adaptation (LoRA) of the linear layers of a model.

A :class:`LoRALinear` is an ``nn.Linear`` whose output gains a trainable
low-rank term: ``y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T`` with
``A`` of shape (rank, in) and ``B`` of shape (out, rank). ``B`` starts at
zero, so an injected model computes exactly what it computed before. The
base ``weight`` and ``bias`` keep their names, so pretrained weights load
into an injected model unchanged, and adapter keys all contain ``lora_``.
Each layer also saves its scale ``alpha / rank`` (``lora_scaling``), and
loading adapters trained at another scale is an error: the same ``A`` and
``B`` at another scale are another model.

Use outside a distiller (the FreqKD distillers do the same through their
``lora`` argument, and their checkpoints keep only the adapters because the
frozen base weights are left out)::

    names = inject_lora(model, ('attn.qkv', 'mlp.fc1', 'mlp.fc2'),
                        rank=64, alpha=64, dropout=0.05)
    mark_only_lora_trainable(model)
    ...  # train; torch.save(lora_state_dict(model), path)
    load_lora_state_dict(other, torch.load(path))  # same base, same LoRA
    merge_lora(model, scale=0.5)  # plain nn.Linear layers again
"""
import math
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmfreqkd.utils.checkpoint import key_problems, shape_mismatches


#: State-dict name of the saved adapter scale (see :class:`LoRALinear`).
SCALE_KEY = 'lora_scaling'


class LoRALinear(nn.Linear):
    """``nn.Linear`` with a low-rank adapter.

    Args:
        in_features (int): Input channels.
        out_features (int): Output channels.
        bias (bool): Whether the base layer has a bias.
        rank (int): Rank r of the adapter.
        alpha (float): The adapter output is scaled by ``alpha / rank``.
        dropout (float): Dropout on the adapter input (training only).
        device, dtype: As for ``nn.Linear``.

    The scale is also a persistent 0-dim buffer ``lora_scaling`` (float32,
    written as ``alpha / rank`` in every state dict whatever casts the
    module went through). The forward uses ``alpha / rank`` itself; the
    buffer records the scale in checkpoints, and loading a state dict whose
    ``lora_scaling`` differs from this layer's scale raises an error (also
    through a non-strict load, e.g. mmengine's ``load_checkpoint``), since
    ``load_state_dict`` would otherwise overwrite the value silently.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rank: int = 64, alpha: float = 64., dropout: float = 0.,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
            raise ValueError(f'LoRA rank must be a positive int, got {rank!r}')
        if isinstance(alpha, bool) or not isinstance(
                alpha, (int, float)) or not 0 < alpha < math.inf:
            raise ValueError(
                f'LoRA alpha must be a finite number > 0, got {alpha!r}')
        if isinstance(dropout, bool) or not isinstance(
                dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(
                f'LoRA dropout must be in [0, 1), got {dropout!r} (1 would '
                'zero every adapter input)')
        self.rank = rank
        self.alpha = alpha
        self.lora_A = nn.Parameter(
            torch.empty(rank, in_features, device=device, dtype=dtype))
        self.lora_B = nn.Parameter(
            torch.zeros(out_features, rank, device=device, dtype=dtype))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 \
            else nn.Identity()
        self.register_buffer(
            SCALE_KEY,
            torch.tensor(alpha / rank, dtype=torch.float32, device=device),
            persistent=True)
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    @property
    def scaling(self) -> float:
        """Scale ``alpha / rank`` of the adapter term."""
        return self.alpha / self.rank

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int, alpha: float,
                    dropout: float = 0.) -> 'LoRALinear':
        """Wrap an existing layer; its weight and bias are shared, not copied.

        Args:
            linear (nn.Linear): Base layer.
            rank (int): Adapter rank.
            alpha (float): Adapter scale numerator.
            dropout (float): Adapter input dropout.

        Returns:
            LoRALinear: Layer computing ``linear(x)`` until ``lora_B`` moves.
        """
        weight = linear.weight
        layer = cls(linear.in_features, linear.out_features,
                    linear.bias is not None, rank, alpha, dropout,
                    device=weight.device, dtype=weight.dtype)
        layer.weight = weight
        layer.bias = linear.bias
        layer.train(linear.training)
        return layer

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Save as ``nn.Linear`` does, with ``lora_scaling`` written as the
        float32 value of ``alpha / rank`` (not the buffer, which ``.half()``
        or ``.to(dtype)`` may have rounded)."""
        super()._save_to_state_dict(destination, prefix, keep_vars)
        key = prefix + SCALE_KEY
        if key in destination:
            destination[key] = torch.tensor(
                self.scaling, dtype=torch.float32,
                device=self.lora_scaling.device)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        """Load as ``nn.Linear`` does after checking ``lora_scaling``.

        Raises:
            RuntimeError: When the state dict's ``lora_scaling`` differs
                from this layer's ``alpha / rank``; the message names the
                key and both values. Raised directly (not collected), so a
                non-strict load refuses it too.
        """
        key = prefix + SCALE_KEY
        if key in state_dict:
            problem = _scaling_mismatch(key, state_dict[key], self)
            if problem:
                raise RuntimeError(problem)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def delta_weight(self) -> torch.Tensor:
        """(out, in) weight change ``(alpha / rank) * B @ A`` at scale 1."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out).

        The adapter's second product, its scale and the sum with the base
        output are one ``addmm`` (no separate elementwise passes over the
        (..., out) output).
        """
        base = F.linear(x, self.weight, self.bias)
        hidden = F.linear(self.lora_dropout(x), self.lora_A)
        out = torch.addmm(
            base.reshape(-1, self.out_features),
            hidden.reshape(-1, self.rank),
            self.lora_B.t(),
            alpha=self.scaling)
        return out.view(base.shape)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, rank={self.rank}, '
                f'alpha={self.alpha}')


def _scaling_mismatch(key: str, value, layer: LoRALinear) -> Optional[str]:
    """Why a saved ``lora_scaling`` does not fit a layer, or None.

    The values are compared in float64 with a relative tolerance of twice
    the machine epsilon of the saved tensor's dtype (float32 at least), so
    a scale saved in half precision still matches its layer.

    Args:
        key (str): State-dict key of the saved value (named in the message).
        value (Tensor): The saved ``lora_scaling``; anything but a
            one-element floating-point tensor with data (not on ``meta``) is
            left to the shape and type checks of ``load_state_dict``.
        layer (LoRALinear): The layer loading it.

    Returns:
        str | None: The error message, naming the key and both scales.
    """
    if not isinstance(value, torch.Tensor) or value.numel() != 1 \
            or not value.is_floating_point() or value.is_meta:
        return None
    saved = float(value.detach().reshape(()).double().cpu())
    eps = max(torch.finfo(value.dtype).eps, torch.finfo(torch.float32).eps)
    if math.isclose(saved, layer.scaling, rel_tol=2 * eps):
        return None
    return (f'{key}: the checkpoint\'s adapters were trained at scale '
            f'alpha / rank = {saved:g}, this layer has {layer.scaling:g} '
            f'(alpha={layer.alpha:g}, rank={layer.rank}). Loading them would '
            'change what they compute; build the model with the LoRA alpha '
            'and rank they were trained with.')


def _matches(name: str, targets: Sequence[str]) -> bool:
    return any(name == t or name.endswith('.' + t) for t in targets)


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition('.')
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def inject_lora(model: nn.Module,
                target_modules: Union[str, Sequence[str]] = (
                    'attn.qkv', 'mlp.fc1', 'mlp.fc2'),
                rank: int = 64,
                alpha: float = 64.,
                dropout: float = 0.05) -> List[str]:
    """Replace the targeted ``nn.Linear`` layers by :class:`LoRALinear`.

    A module is targeted when its qualified name equals a target or ends
    with ``'.' + target`` (``'attn.qkv'`` matches ``blocks.3.attn.qkv``).
    The base weights are shared with the new layers, so the model output is
    unchanged right after injection.

    Args:
        model (nn.Module): Model modified in place.
        target_modules (str | Sequence[str]): Name suffixes to adapt.
        rank (int): Adapter rank.
        alpha (float): Adapter scale numerator (scale ``alpha / rank``).
        dropout (float): Adapter input dropout.

    Returns:
        list[str]: Qualified names of the replaced layers.

    Raises:
        ValueError: When a target matches no module (the message names
            every such target and the name suffixes of the model's
            ``nn.Linear`` layers), or a match is not an ``nn.Linear`` or
            already has an adapter.
    """
    targets = (target_modules, ) if isinstance(target_modules, str) \
        else tuple(target_modules)
    modules = [(name, module) for name, module in model.named_modules()
               if name]
    matched = [(name, module) for name, module in modules
               if _matches(name, targets)]
    unmatched = [t for t in targets
                 if not any(_matches(name, (t, )) for name, _ in modules)]
    if unmatched or not targets:
        suffixes = list(OrderedDict.fromkeys(
            '.'.join(name.split('.')[-2:]) for name, module in modules
            if isinstance(module, nn.Linear)))
        raise ValueError(
            f'inject_lora: target_modules {unmatched} match no module of '
            f'{type(model).__name__} (target_modules={list(targets)}), so '
            'those layers would get no adapter. The names of its nn.Linear '
            f'layers end with {suffixes or "(none)"}; a target matches a '
            "module whose name equals it or ends with '.' + target.")
    for name, module in matched:
        if isinstance(module, LoRALinear):
            raise ValueError(f'inject_lora: {name} already has a LoRA adapter')
        if type(module) is not nn.Linear:
            raise ValueError(f'inject_lora: {name} matches {list(targets)} '
                             f'but is a {type(module).__name__}, not an '
                             'nn.Linear')
    for name, module in matched:
        _set_submodule(model, name,
                       LoRALinear.from_linear(module, rank, alpha, dropout))
    return [name for name, _ in matched]


def mark_only_lora_trainable(model: nn.Module) -> List[str]:
    """Freeze every parameter except the LoRA adapters.

    Args:
        model (nn.Module): Model modified in place.

    Returns:
        list[str]: Names of the parameters left trainable.
    """
    trainable = []
    for name, param in model.named_parameters():
        param.requires_grad_('lora_' in name)
        if param.requires_grad:
            trainable.append(name)
    if not trainable:
        raise ValueError('mark_only_lora_trainable: the model has no LoRA '
                         'parameter; call inject_lora first')
    return trainable


def merge_lora(model: nn.Module, scale: float = 1.0) -> List[str]:
    """Fold the adapters into plain ``nn.Linear`` layers.

    Every :class:`LoRALinear` becomes an ``nn.Linear`` with weight
    ``W + scale * (alpha / rank) * B @ A`` and the same bias. FreqKD's
    Stage 2 uses ``scale=0.5``; ``scale=0`` restores the base model and
    ``scale=1`` gives the trained one. A scale above 1 extrapolates along
    the learned update; a negative one would reverse it, which no use
    intends, and is refused, as are NaN and infinity.

    Args:
        model (nn.Module): Model modified in place.
        scale (float): Fraction of the adapter update to keep, a finite
            number >= 0.

    Returns:
        list[str]: Qualified names of the merged layers.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) \
            or not 0 <= scale < math.inf:
        raise ValueError('merge_lora: scale must be a finite number >= 0, '
                         f'got {scale!r}')
    merged = [(name, module) for name, module in model.named_modules()
              if isinstance(module, LoRALinear)]
    if not merged:
        raise ValueError(f'merge_lora: {type(model).__name__} has no '
                         'LoRALinear layer')
    for name, module in merged:
        weight = module.weight
        linear = nn.Linear(module.in_features, module.out_features,
                           module.bias is not None, device=weight.device,
                           dtype=weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(weight + scale * module.delta_weight())
            if module.bias is not None:
                linear.bias.copy_(module.bias)
        linear.weight.requires_grad_(weight.requires_grad)
        if module.bias is not None:
            linear.bias.requires_grad_(module.bias.requires_grad)
        linear.train(module.training)
        _set_submodule(model, name, linear)
    return [name for name, _ in merged]


def lora_state_dict(model: nn.Module) -> Dict[str, torch.Tensor]:
    """The adapter tensors of a model (keys containing ``lora_``): ``lora_A``
    and ``lora_B`` of every :class:`LoRALinear`, and its scale
    ``lora_scaling`` (``alpha / rank``, checked on loading).

    Args:
        model (nn.Module): Model with injected adapters.

    Returns:
        OrderedDict[str, Tensor]: Detached adapter tensors by state-dict key.
    """
    state = OrderedDict((k, v.detach()) for k, v in model.state_dict().items()
                        if 'lora_' in k)
    if not state:
        raise ValueError(f'lora_state_dict: {type(model).__name__} has no '
                         'LoRA parameter')
    return state


def load_lora_state_dict(model: nn.Module,
                         state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load adapter tensors strictly.

    Args:
        model (nn.Module): Model with injected adapters.
        state_dict (Mapping[str, Tensor]): Output of :func:`lora_state_dict`.

    Raises:
        KeyError: When adapter keys are missing or unexpected (named).
        ValueError: When shapes differ, or a ``lora_scaling`` differs from
            the layer's ``alpha / rank`` (adapters trained at another scale);
            the message names the keys and values.
    """
    own = {k: v for k, v in model.state_dict().items() if 'lora_' in k}
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing or unexpected:
        raise KeyError('load_lora_state_dict: '
                       + key_problems(missing, unexpected))
    mismatched = shape_mismatches(own, state_dict)
    if mismatched:
        raise ValueError('load_lora_state_dict: '
                         + key_problems(mis_shaped=mismatched))
    keys = {(name + '.' if name else '') + SCALE_KEY: module
            for name, module in model.named_modules()
            if isinstance(module, LoRALinear)}
    scales = [_scaling_mismatch(key, state_dict[key], module)
              for key, module in keys.items() if key in state_dict]
    scales = [problem for problem in scales if problem]
    if scales:
        raise ValueError('load_lora_state_dict: adapter scale mismatch: '
                         + ' | '.join(scales))
    model.load_state_dict(state_dict, strict=False)
