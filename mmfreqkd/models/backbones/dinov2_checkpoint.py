"""Reading DINOv2 checkpoints of the official, timm and Hugging Face layouts.

Three layouts of the same weights are in circulation. This module detects
which one a state dict uses and converts it to the layout of
:class:`~mmfreqkd.models.backbones.DINOv2ViT` (timm's names, with the class
token's position embedding folded into ``cls_token``):

* official DINOv2 release (``dinov2_vitl14_reg4_pretrain.pth``):
  ``register_tokens`` becomes ``reg_token``; the class entry of
  ``pos_embed`` (1 + N entries) is folded into ``cls_token``;
  ``mask_token`` is dropped; the giant model's ``mlp.w12`` / ``mlp.w3``
  become ``mlp.fc1`` / ``mlp.fc2``; chunked blocks ``blocks.<chunk>.<i>.``
  become ``blocks.<i>.``. Every other name is already ours.
* timm (``vit_large_patch14_reg4_dinov2``): our names. Models without
  registers keep a class entry in ``pos_embed``, which is folded; a
  classifier ``head.*`` is dropped. This package's own state dicts have the
  same names but never a class entry; detection tells them apart by the
  ``pos_embed`` length (see :func:`convert_dinov2_state_dict`).
* Hugging Face (``Dinov2Model``, ``Dinov2WithRegistersModel``, possibly under
  ``dinov2.`` or ``dinov2_with_registers.``, as in their
  ``...ForImageClassification`` files): ``embeddings.{cls_token, register_tokens,
  position_embeddings, patch_embeddings.projection}`` become ``cls_token``,
  ``reg_token``, ``pos_embed`` (class entry folded), ``patch_embed.proj``;
  ``embeddings.mask_token`` and ``classifier.*`` are dropped;
  ``encoder.layer.<i>.`` becomes ``blocks.<i>.`` with
  ``attention.attention.{query,key,value}`` fused into ``attn.qkv``,
  ``attention.output.dense`` -> ``attn.proj``, ``layer_scale{1,2}.lambda1``
  -> ``ls{1,2}.gamma``, giant ``mlp.weights_in`` / ``mlp.weights_out`` ->
  ``mlp.fc1`` / ``mlp.fc2``; ``layernorm`` becomes ``norm``. These are the
  names of the released files and of transformers 4; the in-memory names of
  transformers 5 (``attention.{q,k,v,o}_proj``, ``mlp.{gate,up,down}_proj``)
  are read too.

:func:`load_dinov2_checkpoint` adds what loading into a given model needs:
unwrapping (``state_dict`` / ``model`` / ``teacher`` entries, ``module.``
and ``backbone.`` prefixes), position-embedding resampling, patch kernels
for single-channel models and a strict key check.
"""
import contextlib
import math
import re
from collections.abc import Mapping
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

from mmfreqkd.utils.checkpoint import key_problems, shape_mismatches
from mmfreqkd.utils.errors import with_prefix
from .pos_embed import resample_pos_embed

LAYOUTS = ('official', 'timm', 'hf')
# Entries that wrap the state dict in a checkpoint, tried in this order.
WRAPPER_KEYS = ('state_dict', 'model', 'teacher', 'module')
# Prefixes stripped from every key that has them (DDP, torch.compile).
WRAPPING_PREFIXES = ('module.', '_orig_mod.')
# Sub-model prefixes: when keys carry one, only those keys are kept
# (a detector's backbone, the DINOv2 training teacher, HF classifiers).
SUBMODEL_PREFIXES = ('backbone.', 'dinov2.', 'dinov2_with_registers.')

_CHUNKED_BLOCK = re.compile(r'^blocks\.\d+\.(\d+)\.')
_OFFICIAL_KEY = re.compile(r'^blocks\.\d+\.(\d+\.)?mlp\.w(12|3)\.|'
                           r'^blocks\.\d+\.\d+\.')
_HF_LAYER = re.compile(r'^encoder\.layer\.(\d+)\.(.+)\.(weight|bias|lambda1)$')
_HF_BLOCK_RENAMES = (
    ('attention.output.dense', 'attn.proj'),
    ('attention.o_proj', 'attn.proj'),
    ('layer_scale1', 'ls1'),
    ('layer_scale2', 'ls2'),
    ('mlp.weights_in', 'mlp.fc1'),
    ('mlp.weights_out', 'mlp.fc2'),
    ('mlp.down_proj', 'mlp.fc2'),
)
# Hugging Face modules whose outputs are concatenated into one of ours, in
# order, under the names of transformers 4 (also those of the released
# files) and transformers >= 5.
_HF_FUSED = {
    'attn.qkv': (('attention.attention.query', 'attention.attention.key',
                  'attention.attention.value'),
                 ('attention.q_proj', 'attention.k_proj', 'attention.v_proj')),
    'mlp.fc1': (('mlp.gate_proj', 'mlp.up_proj'), ),
}
_HF_PARTS = {
    name: (target, naming, position)
    for target, namings in _HF_FUSED.items() for naming in namings
    for position, name in enumerate(naming)
}
_HF_EMBEDDINGS = {
    'embeddings.cls_token': 'cls_token',
    'embeddings.register_tokens': 'reg_token',
    'embeddings.position_embeddings': 'pos_embed',
    'embeddings.patch_embeddings.projection.weight': 'patch_embed.proj.weight',
    'embeddings.patch_embeddings.projection.bias': 'patch_embed.proj.bias',
}


@contextlib.contextmanager
def naming_checkpoint(checkpoint: str) -> Iterator[None]:
    """Prefix ``KeyError``, ``ValueError`` and ``TypeError`` raised inside
    with the checkpoint's file name (same error types).

    Args:
        checkpoint (str): The checkpoint path or URI.
    """
    try:
        yield
    except (KeyError, ValueError, TypeError) as error:
        renamed = with_prefix(error, str(checkpoint))
        if renamed is error:
            raise
        raise renamed from None


def load_checkpoint_file(filename: str, map_location: str = 'cpu') -> dict:
    """Read a checkpoint file.

    Args:
        filename (str): ``.safetensors`` files are read with the
            ``safetensors`` package; anything else (``.pth``, ``.pt``,
            ``.bin``, URIs) with :class:`mmengine.runner.CheckpointLoader`.
        map_location (str): Device for the tensors.

    Returns:
        dict: The stored object (a state dict or a dict wrapping one).
    """
    if filename.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError as error:
            raise ImportError(
                f'{filename} is a safetensors file; install the '
                '"safetensors" package to read it') from error
        return load_file(filename, device=str(map_location))
    return CheckpointLoader.load_checkpoint(filename, map_location)


def unwrap_state_dict(checkpoint: Mapping,
                      prefix: Optional[str] = None
                      ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Extract the backbone's state dict from a checkpoint object.

    The object is descended through ``state_dict``, ``model``, ``teacher``
    and ``module`` entries until a flat dict of tensors remains; ``module.``
    and ``_orig_mod.`` key prefixes are stripped. Then either ``prefix``
    selects and strips the keys under it, or, without ``prefix``, keys under
    the first of ``backbone.``, ``dinov2.`` and ``dinov2_with_registers.``
    present are selected (the rest, e.g. heads, is dropped).

    Args:
        checkpoint (Mapping): Object read from a checkpoint file.
        prefix (str, optional): Prefix of the backbone's keys, e.g.
            ``'backbone.'`` or ``'student.'`` (the dot may be left out).

    Returns:
        tuple: The state dict, and the keys dropped by prefix selection.
    """
    state = checkpoint
    while isinstance(state, Mapping) and not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        wrapper = next((k for k in WRAPPER_KEYS
                        if isinstance(state.get(k), Mapping)), None)
        if wrapper is None:
            odd = [k for k, v in state.items()
                   if not isinstance(v, torch.Tensor)]
            raise TypeError(
                'checkpoint is not a state dict: entries '
                f'{odd[:8]} are not tensors and none of {list(WRAPPER_KEYS)} '
                'wraps one')
        state = state[wrapper]
    if not isinstance(state, Mapping) or not state:
        raise TypeError('checkpoint holds no tensors')

    stripped = {}
    for key, value in state.items():
        for wrapping in WRAPPING_PREFIXES:
            if key.startswith(wrapping):
                key = key[len(wrapping):]
        stripped[key] = value

    if prefix and not prefix.endswith('.'):
        prefix += '.'  # as mmengine's Pretrained reads 'backbone'
    prefixes = [prefix] if prefix else [
        p for p in SUBMODEL_PREFIXES if any(k.startswith(p) for k in stripped)
    ][:1]
    if not prefixes:
        return stripped, []
    selected = {k[len(prefixes[0]):]: v for k, v in stripped.items()
                if k.startswith(prefixes[0])}
    if not selected:
        roots = sorted({k.split('.')[0] + '.' for k in stripped})
        raise KeyError(f'no checkpoint key starts with prefix {prefix!r}; '
                       f'the keys start with {roots}')
    dropped = [k for k in stripped if not k.startswith(prefixes[0])]
    return selected, dropped


def detect_layout(state_dict: Mapping) -> str:
    """Name the layout of a DINOv2 state dict.

    Args:
        state_dict (Mapping): Unwrapped state dict (see
            :func:`unwrap_state_dict`).

    Returns:
        str: ``'hf'`` (``embeddings.`` / ``encoder.layer.`` keys),
        ``'official'`` (``register_tokens``, ``mask_token``, ``mlp.w12`` or
        chunked blocks) or ``'timm'`` (which includes this package's own
        layout).
    """
    keys = list(state_dict)
    layout = _recognised_layout(keys)
    if layout is None:
        raise KeyError('cannot tell the layout of this checkpoint (not '
                       'official DINOv2, timm or Hugging Face); its first '
                       f'keys: {keys[:8]}' + adapters_only_hint(keys)
                       + _prefix_hint(keys))
    return layout


def _recognised_layout(keys: List[str]) -> Optional[str]:
    """The layout :func:`detect_layout` names for ``keys``, or None."""
    if any(k.startswith(('embeddings.', 'encoder.layer.')) for k in keys):
        return 'hf'
    if any(k in ('register_tokens', 'mask_token') or _OFFICIAL_KEY.match(k)
           for k in keys):
        return 'official'
    if 'cls_token' in keys or any(k.startswith('blocks.') for k in keys):
        return 'timm'
    return None


def _prefix_hint(keys: List[str]) -> str:
    """A sentence naming the key prefixes under which a known layout lies
    (e.g. ``'student.'`` of a fully fine-tuned Stage-1 checkpoint), else
    ``''``; none when the file holds only adapters (see
    :func:`adapters_only_hint`)."""
    if adapters_only_hint(keys):
        return ''
    roots = sorted({k.split('.')[0] + '.' for k in keys if '.' in k})
    found = [
        root for root in roots if _recognised_layout(
            [k[len(root):] for k in keys if k.startswith(root)])
    ]
    if not found:
        return ''
    return (f'. DINOv2 weights lie under the prefix {found[0]!r}: select them '
            f"with prefix='{found[0]}' in the Pretrained init_cfg"
            + (' (a Stage-1 checkpoint\'s student; tools/model_converters/'
               'export_student.py writes it as a backbone file)'
               if found[0] == 'student.' else ''))


def adapters_only_hint(keys: List[str]) -> str:
    """A sentence for errors about a file that holds only what a Stage-1
    checkpoint keeps (LoRA adapters, connectors), else ``''``."""
    if keys and all('lora_' in k or k.startswith('connectors.')
                    for k in keys):
        return ('. It holds only LoRA adapters (and connectors), as a '
                'Stage-1 checkpoint does: export the student with '
                'tools/model_converters/export_student.py and load the '
                'exported file')
    return ''


def _is_square(number: int) -> bool:
    return number >= 0 and math.isqrt(number)**2 == number


def _fold_class_pos_embed(state_dict: dict, has_class_entry: bool) -> None:
    """Move the class entry of ``pos_embed`` into ``cls_token`` in place."""
    if 'pos_embed' not in state_dict or not has_class_entry:
        return
    if 'cls_token' not in state_dict:
        raise KeyError('checkpoint has a pos_embed with a class entry but '
                       'no class token')
    pos_embed = state_dict['pos_embed']
    state_dict['cls_token'] = state_dict['cls_token'] + pos_embed[:, :1]
    state_dict['pos_embed'] = pos_embed[:, 1:]


def _convert_official(state_dict: Mapping) -> Tuple[dict, List[str]]:
    converted, dropped = {}, []
    for key, value in state_dict.items():
        if key == 'mask_token':
            dropped.append(key)  # only used by masked-image pre-training
            continue
        key = _CHUNKED_BLOCK.sub(r'blocks.\1.', key)
        key = key.replace('.mlp.w12.', '.mlp.fc1.').replace(
            '.mlp.w3.', '.mlp.fc2.')
        converted['reg_token' if key == 'register_tokens' else key] = value
    _fold_class_pos_embed(converted, has_class_entry=True)
    return converted, dropped


def _has_timm_class_entry(state_dict: Mapping,
                          num_patches: Optional[int]) -> bool:
    """Whether the ``pos_embed`` of a state dict with timm's names starts
    with a class entry, as far as the tensors tell.

    timm's DINOv2 models without registers keep one, in front of their
    square grid (1 + s * s entries); timm's register models and this
    package keep patch entries only, on any grid, square or not. The key
    names are the same, so a length of 1 + s * s fits both: the 5x10 grid
    of this package has 50 = 1 + 7 * 7 entries. The target model's grid
    decides then (its patch count: no class entry; one more: a class
    entry); without such a match the length is ambiguous and an error.

    Args:
        state_dict (Mapping): State dict with timm's names and a
            ``pos_embed``.
        num_patches (int, optional): Patch count of the target model's
            grid, if known.

    Returns:
        bool: True when ``pos_embed`` has a class entry.

    Raises:
        ValueError: When the length fits no layout, or both and the model
            grid does not settle it.
    """
    if 'reg_token' in state_dict:
        return False
    length = state_dict['pos_embed'].shape[1]
    if length == num_patches or _is_square(length):
        return False
    grid = ('no model grid is given' if num_patches is None else
            f'the model grid ({num_patches} patches) fits neither')
    if not _is_square(length - 1):
        raise ValueError(
            f'pos_embed has {length} entries: not a square patch grid nor a '
            f'class entry plus a square grid, and {grid}')
    if num_patches is not None and length == num_patches + 1:
        return True
    side = math.isqrt(length - 1)
    raise ValueError(
        f'pos_embed has {length} entries and there are no register tokens: '
        f"timm's layout (a class entry and a {side}x{side} grid) or this "
        f"package's (a grid of {length} patches, e.g. a non-square one); "
        f'{grid}, so the layout is ambiguous. Pass layout=\'timm\' '
        '(converter: --layout timm) for a timm checkpoint; load a '
        'checkpoint of this package into a model built with its img_size '
        f'({length} patches).')


def _convert_timm(state_dict: Mapping, num_patches: Optional[int],
                  detected: bool) -> Tuple[dict, List[str]]:
    converted, dropped = {}, []
    for key, value in state_dict.items():
        if key.startswith('head.'):
            dropped.append(key)  # classifier of timm models with classes
            continue
        converted[key] = value
    if 'pos_embed' in converted:
        class_entry = _has_timm_class_entry(converted, num_patches) \
            if detected else 'reg_token' not in converted
        _fold_class_pos_embed(converted, class_entry)
    return converted, dropped


def _convert_hf(state_dict: Mapping) -> Tuple[dict, List[str]]:
    converted, dropped = {}, []
    fused: Dict[Tuple[str, str, str], dict] = {}
    for key, value in state_dict.items():
        if key == 'embeddings.mask_token' or key.startswith('classifier.'):
            dropped.append(key)
            continue
        if key in _HF_EMBEDDINGS:
            converted[_HF_EMBEDDINGS[key]] = value
            continue
        if key.startswith('layernorm.'):
            converted['norm.' + key[len('layernorm.'):]] = value
            continue
        layer = _HF_LAYER.match(key)
        if layer is None:
            converted[key] = value  # unknown: reported by the strict check
            continue
        block, module, kind = layer.groups()
        if module in _HF_PARTS:
            target, naming, position = _HF_PARTS[module]
            group = fused.setdefault((block, target, kind),
                                     dict(naming=naming))
            group[position] = value
            continue
        for old, new in _HF_BLOCK_RENAMES:
            if module == old:
                module = new
                break
        kind = 'gamma' if kind == 'lambda1' else kind
        converted[f'blocks.{block}.{module}.{kind}'] = value
    for (block, target, kind), group in sorted(fused.items()):
        naming = group['naming']
        missing = [f'encoder.layer.{block}.{name}.{kind}'
                   for position, name in enumerate(naming)
                   if position not in group]
        if missing:
            raise KeyError(f'{missing} missing: cannot build '
                           f'blocks.{block}.{target}.{kind}')
        converted[f'blocks.{block}.{target}.{kind}'] = torch.cat(
            [group[position] for position in range(len(naming))], dim=0)
    _fold_class_pos_embed(converted, has_class_entry=True)
    return converted, dropped


def convert_dinov2_state_dict(state_dict: Mapping,
                              layout: str = 'auto',
                              num_patches: Optional[int] = None
                              ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a DINOv2 state dict to the :class:`DINOv2ViT` layout.

    Args:
        state_dict (Mapping): Unwrapped state dict.
        layout (str): ``'auto'`` (see :func:`detect_layout`),
            ``'official'``, ``'timm'`` or ``'hf'``. A given ``'timm'``
            means a file written by timm: its ``pos_embed`` has a class
            entry unless there are register tokens. A detected ``'timm'``
            may also be a state dict of this package (same names, never a
            class entry): without registers the ``pos_embed`` length and
            ``num_patches`` decide, and an ambiguous length is an error
            (:func:`_has_timm_class_entry`).
        num_patches (int, optional): Patch count of the target model's
            position grid; needed to read a state dict with timm's names,
            no registers and a ``pos_embed`` that is not a square grid.

    Returns:
        tuple: The converted state dict, and a dict with ``layout`` (the
        layout read) and ``dropped_keys`` (unused entries removed:
        ``mask_token``, classifier heads).
    """
    detected = layout == 'auto'
    if detected:
        layout = detect_layout(state_dict)
    if layout == 'official':
        converted, dropped = _convert_official(state_dict)
    elif layout == 'timm':
        converted, dropped = _convert_timm(state_dict, num_patches, detected)
    elif layout == 'hf':
        converted, dropped = _convert_hf(state_dict)
    else:
        raise ValueError(f"layout must be 'auto' or one of {LAYOUTS}, "
                         f'got {layout!r}')
    return converted, dict(layout=layout, dropped_keys=dropped)


def infer_arch(state_dict: Mapping) -> dict:
    """Read the architecture of a converted state dict from its shapes.

    Args:
        state_dict (Mapping): State dict in the :class:`DINOv2ViT` layout.

    Returns:
        dict: ``embed_dims``, ``num_layers``, ``feedforward_channels``,
        ``ffn_type``, ``num_register_tokens``, ``patch_size``,
        ``in_channels`` and ``pos_embed_length``.
    """
    try:
        proj = state_dict['patch_embed.proj.weight']
        fc1 = state_dict['blocks.0.mlp.fc1.weight']
        fc2 = state_dict['blocks.0.mlp.fc2.weight']
        pos_embed = state_dict['pos_embed']
    except KeyError as error:
        raise KeyError(f'state dict lacks {error}, is it converted?') from None
    blocks = {int(k.split('.')[1]) for k in state_dict
              if k.startswith('blocks.')}
    swiglu = fc1.shape[0] == 2 * fc2.shape[1]
    reg_token = state_dict.get('reg_token')
    return dict(
        embed_dims=proj.shape[0],
        num_layers=max(blocks) + 1,
        feedforward_channels=fc2.shape[1],
        ffn_type='swiglu' if swiglu else 'mlp',
        num_register_tokens=0 if reg_token is None else reg_token.shape[1],
        patch_size=proj.shape[-1],
        in_channels=proj.shape[1],
        pos_embed_length=pos_embed.shape[1])


def _fit_to_model(state_dict: dict, model) -> dict:
    """Resample ``pos_embed`` and adapt patch kernels to ``model``."""
    notes = {}
    pos_embed = state_dict.get('pos_embed')
    grid = tuple(model.grid_size)
    if pos_embed is not None and pos_embed.shape[1] != grid[0] * grid[1]:
        length = pos_embed.shape[1]
        if not _is_square(length):
            raise ValueError(
                f'checkpoint pos_embed has {length} entries, not a square '
                f'grid; cannot resample it to the model grid {grid}')
        side = math.isqrt(length)
        state_dict['pos_embed'] = resample_pos_embed(pos_embed, (side, side),
                                                     grid)
        notes['pos_embed_resampled'] = ((side, side), grid)
    proj = state_dict.get('patch_embed.proj.weight')
    if proj is not None:
        if proj.shape[-1] != model.patch_size:
            raise ValueError(
                f'checkpoint patch size {proj.shape[-1]} differs from the '
                f'model patch_size {model.patch_size}')
        if proj.shape[1] != model.in_channels:
            if proj.shape[1] == 3 and model.in_channels == 1:
                # conv(grey, sum_c W_c) == conv(grey repeated 3 times, W)
                state_dict['patch_embed.proj.weight'] = proj.sum(
                    dim=1, keepdim=True)
                notes['patch_embed_summed_to_one_channel'] = True
            else:
                raise ValueError(
                    f'checkpoint patch embedding takes {proj.shape[1]} '
                    f'channels, the model in_channels={model.in_channels}')
    return notes


def check_converted_state_dict(model: torch.nn.Module,
                               state_dict: Mapping) -> None:
    """Raise unless a state dict fits a model exactly, except for missing
    LoRA adapters.

    Args:
        model (nn.Module): Target model (may live on the meta device).
        state_dict (Mapping): State dict in the model's layout.

    Raises:
        KeyError: When keys are missing (other than ``lora_`` ones) or
            unexpected; the message counts them and names the first ones.
        ValueError: When shapes differ; the message counts the keys and
            names the first ones.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict and 'lora_' not in k]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        raise KeyError(
            f'checkpoint does not match {type(model).__name__}: '
            + key_problems(missing, unexpected) + '. Check arch, '
            'num_register_tokens and the checkpoint layout or prefix'
            + adapters_only_hint(unexpected) + '.')
    mismatched = shape_mismatches(expected, state_dict)
    if mismatched:
        raise ValueError(f'checkpoint does not match {type(model).__name__}: '
                         + key_problems(mis_shaped=mismatched))


def load_converted_state_dict(model: torch.nn.Module,
                              state_dict: Mapping) -> None:
    """Load a state dict strictly, except for missing LoRA adapters
    (checked by :func:`check_converted_state_dict`).

    Args:
        model (nn.Module): Target model.
        state_dict (Mapping): State dict in the model's layout.
    """
    check_converted_state_dict(model, state_dict)
    model.load_state_dict(state_dict, strict=False)


def load_dinov2_checkpoint(model: torch.nn.Module,
                           checkpoint: str,
                           prefix: Optional[str] = None,
                           map_location: str = 'cpu',
                           layout: str = 'auto') -> dict:
    """Load DINOv2 weights of any supported layout into a DINOv2 ViT.

    Steps: read the file, unwrap it (:func:`unwrap_state_dict`), detect and
    convert the layout (:func:`convert_dinov2_state_dict`), resample the
    position embedding to ``model.grid_size`` when the grids differ, sum the
    RGB patch kernels for a model with ``in_channels=1``, then load with
    :func:`load_converted_state_dict`.

    Args:
        model (nn.Module): A :class:`DINOv2ViT` (anything with its state-dict
            names and ``grid_size``, ``patch_size``, ``in_channels``).
        checkpoint (str): Checkpoint path or URI.
        prefix (str, optional): Prefix of the backbone keys in the file.
        map_location (str): Device for the loaded tensors.
        layout (str): ``'auto'``, ``'official'``, ``'timm'`` or ``'hf'``,
            see :func:`convert_dinov2_state_dict`; the model's grid tells a
            timm checkpoint without registers from one of this package.

    Returns:
        dict: What was done: ``layout``, ``dropped_keys`` and, when they
        happened, ``pos_embed_resampled`` and
        ``patch_embed_summed_to_one_channel``.

    Raises:
        KeyError | ValueError | TypeError: When the file does not hold
            weights of this model (unknown layout, missing or unexpected
            keys, other shapes); the message starts with the file name.
    """
    loaded = load_checkpoint_file(checkpoint, map_location)
    grid = model.grid_size
    with naming_checkpoint(checkpoint):
        state_dict, unselected = unwrap_state_dict(loaded, prefix)
        state_dict, report = convert_dinov2_state_dict(
            state_dict, layout, num_patches=grid[0] * grid[1])
        report.update(_fit_to_model(state_dict, model))
        load_converted_state_dict(model, state_dict)
    report['keys_outside_prefix'] = len(unselected)
    print_log(
        f'Loaded {checkpoint} ({report["layout"]} layout) into '
        f'{type(model).__name__}: {len(state_dict)} tensors, dropped '
        f'{report["dropped_keys"] or "nothing"}, '
        f'{len(unselected)} keys outside the backbone prefix ignored'
        + (f', pos_embed resampled {report["pos_embed_resampled"]}'
           if 'pos_embed_resampled' in report else '')
        + (', RGB patch kernels summed for 1 input channel'
           if 'patch_embed_summed_to_one_channel' in report else ''),
        logger='current')
    return report
