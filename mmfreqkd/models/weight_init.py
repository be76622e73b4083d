"""``CheckedPretrained``: mmengine's ``Pretrained`` initialiser, checked.

mmengine's ``Pretrained`` initialiser loads its checkpoint non-strictly: a
file of another model (e.g. the ViT student export given to a ResNet-50)
only logs a warning and leaves the module random. ``CheckedPretrained``
takes the same arguments and loads the same way (any path or URI mmengine
reads, ``state_dict`` entry, ``module.`` stripped, ``prefix`` selected and
stripped) but requires every parameter and buffer of the module from the
file::

    backbone=dict(init_cfg=dict(
        type='CheckedPretrained',
        checkpoint='checkpoints/freqkd_kaist_r50_student.pth',
        prefix='backbone.'))

A missing key (BatchNorm's ``num_batches_tracked`` and LoRA adapter keys
aside) or a shape that differs is an error naming the file and the prefix;
keys of the file that the module does not have (e.g. torchvision's ``fc.``
classifier for an mmdet ``ResNet``) are skipped with a warning.
"""
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Optional, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule, is_model_wrapper
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner import CheckpointLoader

from ..utils.checkpoint import (CheckpointMismatchError, checked_loading,
                                key_roots)


def read_pretrained_state_dict(checkpoint: str,
                               prefix: Optional[str] = None,
                               map_location: str = 'cpu') -> Tuple[dict, list]:
    """Read a checkpoint as mmengine's ``Pretrained`` initialiser does.

    The file is read with :class:`mmengine.runner.CheckpointLoader` (paths
    and URIs), its ``state_dict`` entry is used when it has one, ``module.``
    key prefixes are stripped and, with ``prefix``, only the keys under it
    are kept, stripped of it (with the load metadata, e.g. BatchNorm
    versions, following them).

    Args:
        checkpoint (str): Path or URI of the checkpoint.
        prefix (str, optional): Prefix of the wanted keys, e.g.
            ``'backbone.'`` (the trailing dot may be left out).
        map_location (str): Device of the loaded tensors. Default: 'cpu'.

    Returns:
        tuple[OrderedDict, list[str]]: The tensors by module key, and all
        the keys of the file before selection.

    Raises:
        CheckpointMismatchError: When the file holds no state dict, or no
            key under ``prefix``; the message names the file.
    """
    loaded = CheckpointLoader.load_checkpoint(
        checkpoint, map_location=map_location)
    state_dict = loaded.get('state_dict', loaded) \
        if isinstance(loaded, Mapping) else None
    if not isinstance(state_dict, Mapping):
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint} holds no state dict '
            f'(got {type(loaded).__name__})')
    metadata = getattr(state_dict, '_metadata', None) or {}
    state_dict = {
        re.sub(r'^module\.', '', k): v
        for k, v in state_dict.items()
    }
    all_keys = list(state_dict)
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
        if not state_dict:
            raise CheckpointMismatchError(
                f'checkpoint {checkpoint}: no key starts with prefix '
                f'{prefix!r}; its keys start with {key_roots(all_keys)}. '
                'Set init_cfg.prefix to the prefix of the weights to load, '
                'or None when they have none.')
        # module versions (e.g. of BatchNorm) follow the keys
        metadata = {
            ('' if k == prefix[:-1] else k[len(prefix):]): v
            for k, v in metadata.items()
            if k == prefix[:-1] or k.startswith(prefix)
        }
    state_dict = OrderedDict(state_dict)
    state_dict._metadata = metadata
    return state_dict, all_keys


def _is_lora_key(key: str) -> bool:
    # adapters injected after the model was built (lora_A, lora_B,
    # lora_scaling): they start fresh, the checkpoint has the base weights
    return key.rsplit('.', 1)[-1].startswith('lora_')


def _init_children_first(module: nn.Module) -> None:
    """Run the children's ``init_weights`` now, as mmengine does before a
    ``Pretrained`` entry (which therefore wins over the children's own
    initialisers); the parent's ``init_weights`` skips them afterwards."""
    if not isinstance(module, BaseModule) or module.is_init:
        return
    for child in module.children():
        if is_model_wrapper(child) and not hasattr(child, 'init_weights'):
            child = child.module
        if hasattr(child, 'init_weights') and not getattr(
                child, 'is_init', False):
            child.init_weights()
            update_init_info(
                child,
                init_info=f'Initialized by user-defined `init_weights` in '
                f'{type(child).__name__} ')


@WEIGHT_INITIALIZERS.register_module(name='CheckedPretrained')
class CheckedPretrainedInit(PretrainedInit):
    """Initialise a module from a checkpoint, refusing one that lacks any
    of its parameters or buffers.

    Use ``type='CheckedPretrained'`` in an ``init_cfg``. Put it last in a
    list of initialisers: mmengine runs the initialisers of a list in
    order and gives the plain ``'Pretrained'`` type alone the last word.
    The children's ``init_weights`` run before the load, as for
    ``'Pretrained'``.

    Args:
        checkpoint (str): Path or URI (``torchvision://``, ``http(s)://``,
            ...) of the checkpoint.
        prefix (str, optional): Prefix of the module's keys in the file,
            e.g. ``'backbone.'``: only the keys under it are loaded,
            stripped of it.
        map_location (str): Device of the loaded tensors.

    Raises:
        CheckpointMismatchError: When the file (under ``prefix``) lacks a
            parameter or buffer of the module, holds one with another
            shape, or has no key under ``prefix``; the message names the
            file, the prefix and the keys.
    """

    def __call__(self, module: nn.Module) -> None:
        _init_children_first(module)
        where = f' (prefix {self.prefix!r})' if self.prefix else ''
        print_log(f'load {type(module).__name__}{where} from '
                  f'{self.checkpoint}, checked', logger='current')
        state_dict, all_keys = read_pretrained_state_dict(
            self.checkpoint, self.prefix, self.map_location)
        with checked_loading(
                module, self.checkpoint, prefix=self.prefix,
                allow_unexpected=True, allow_missing=_is_lora_key,
                checkpoint_keys=all_keys):
            incompatible = module.load_state_dict(state_dict, strict=False)
        adapters = [k for k in incompatible.missing_keys if _is_lora_key(k)]
        if adapters:
            print_log(
                f'{len(adapters)} LoRA adapter tensors keep their fresh '
                f'initialisation (not in {self.checkpoint})',
                logger='current', level=logging.INFO)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        where = f' (prefix {self.prefix!r})' if self.prefix else ''
        return (f'{type(self).__name__}: load from {self.checkpoint}{where}, '
                'checked')
