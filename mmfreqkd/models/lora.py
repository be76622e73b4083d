"""Low-rank adaptation (LoRA) of the linear layers of a model.

A :class:`LoRALinear` is an ``nn.Linear`` whose output gains a trainable
low-rank term: ``y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T`` with
``A`` of shape (rank, in) and ``B`` of shape (out, rank). ``B`` starts at
zero, so an injected model computes exactly what it computed before. The
base ``weight`` and ``bias`` keep their names, so pretrained weights load
into an injected model unchanged, and adapter keys all contain ``lora_``.

Typical use (FreqKD Stage 1, then Stage 2)::

    names = inject_lora(model, ('attn.qkv', 'mlp.fc1', 'mlp.fc2'),
                        rank=64, alpha=64, dropout=0.05)
    mark_only_lora_trainable(model)
    ...  # train; save lora_state_dict(model)
    merge_lora(model, scale=0.5)  # plain nn.Linear layers again
"""
import math
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F


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
        ValueError: When no module matches, or a match is not an
            ``nn.Linear`` or already has an adapter.
    """
    targets = (target_modules, ) if isinstance(target_modules, str) \
        else tuple(target_modules)
    matched = [(name, module) for name, module in model.named_modules()
               if name and _matches(name, targets)]
    if not matched:
        raise ValueError(
            f'inject_lora: no module of {type(model).__name__} matches '
            f'target_modules={list(targets)}')
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
    Stage 2 uses ``scale=0.5``; ``scale=0`` restores the base model.

    Args:
        model (nn.Module): Model modified in place.
        scale (float): Fraction of the adapter update to keep.

    Returns:
        list[str]: Qualified names of the merged layers.
    """
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
    """The adapter tensors of a model (keys containing ``lora_``).

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
        ValueError: When shapes differ (named).
    """
    own = {k: v for k, v in model.state_dict().items() if 'lora_' in k}
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing or unexpected:
        raise KeyError(f'load_lora_state_dict: missing keys '
                       f'{missing or "none"}; unexpected keys '
                       f'{unexpected or "none"}')
    mismatched = [f'{k}: {tuple(state_dict[k].shape)} vs {tuple(v.shape)}'
                  for k, v in own.items() if state_dict[k].shape != v.shape]
    if mismatched:
        raise ValueError('load_lora_state_dict: shape mismatch: '
                         + '; '.join(mismatched))
    model.load_state_dict(state_dict, strict=False)
