"""Checked checkpoint loading: a checkpoint that does not fit is an error.

mmengine loads checkpoints non-strictly (``load_from``, ``tools/test.py``,
the ``Pretrained`` initialiser): a checkpoint of another model only logs a
warning and leaves the model's weights random. :func:`checked_loading`
turns such a load into a :class:`CheckpointMismatchError` that names the
file and the missing, unexpected and mis-shaped keys, whoever performs the
load (mmengine's loaders or ``Module.load_state_dict``), so the checkpoint
is still read once, by the usual loader.
"""
import contextlib
import itertools
import logging
from collections.abc import Mapping
from typing import Callable, Iterator, List, Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log

#: Keys named in an error, per kind (missing, unexpected, mis-shaped).
SHOWN_KEYS = 5


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is loaded into."""


def summarize_keys(keys: Sequence[str], limit: int = SHOWN_KEYS) -> str:
    """``'3 (a, b, c)'`` or ``'120 (a, b, c, d, e, ...)'``.

    Args:
        keys (Sequence[str]): The keys.
        limit (int): How many keys to name.

    Returns:
        str: The count and the first ``limit`` keys.
    """
    keys = list(keys)
    shown = ', '.join(keys[:limit]) + (', ...' if len(keys) > limit else '')
    return f'{len(keys)} ({shown})'


def key_roots(keys: Sequence[str]) -> List[str]:
    """The distinct first components of state-dict keys, e.g.
    ``['backbone.', 'neck.']``."""
    return sorted({key.split('.')[0] + '.' for key in keys})


def key_problems(missing: Sequence[str] = (),
                 unexpected: Sequence[str] = (),
                 mis_shaped: Sequence[str] = ()) -> str:
    """``'missing keys: 2 (a, b); unexpected keys: 1 (c)'``: the non-empty
    kinds, counted, with their first keys (three for shapes).

    Args:
        missing (Sequence[str]): Keys of the model the checkpoint lacks.
        unexpected (Sequence[str]): Keys of the checkpoint the model lacks.
        mis_shaped (Sequence[str]): ``'key: checkpoint (..) vs model (..)'``.

    Returns:
        str: The description, ``''`` when all are empty.
    """
    problems = []
    if missing:
        problems.append(f'missing keys: {summarize_keys(missing)}')
    if unexpected:
        problems.append(f'unexpected keys: {summarize_keys(unexpected)}')
    if mis_shaped:
        problems.append('keys whose shape differs: '
                        + summarize_keys(mis_shaped, limit=3))
    return '; '.join(problems)


def mismatch_message(checkpoint: str,
                     model: str,
                     missing: Sequence[str] = (),
                     unexpected: Sequence[str] = (),
                     mis_shaped: Sequence[str] = (),
                     prefix: Optional[str] = None,
                     checkpoint_keys: Sequence[str] = ()) -> str:
    """The message of a :class:`CheckpointMismatchError`.

    The first line names the file, the model, and counts and a few of the
    missing, unexpected and mis-shaped keys (the one line the command-line
    tools print last); the following lines give advice.

    Args:
        checkpoint (str): Checkpoint path or URI.
        model (str): What it is loaded into, e.g. ``'FasterRCNN'``.
        missing (Sequence[str]): Keys of the model the checkpoint lacks.
        unexpected (Sequence[str]): Keys of the checkpoint the model lacks.
        mis_shaped (Sequence[str]): ``'key: checkpoint (..) vs model (..)'``.
        prefix (str, optional): The key prefix selected in the checkpoint.
        checkpoint_keys (Sequence[str]): The keys read (their roots are
            named, a hint at what the file holds).

    Returns:
        str: The message.
    """
    where = f' (keys under prefix {prefix!r})' if prefix else ''
    message = (f'checkpoint {checkpoint}{where} does not fit the {model}: '
               + key_problems(missing, unexpected, mis_shaped))
    if checkpoint_keys:
        message += (f'\nThe keys read start with '
                    f'{key_roots(checkpoint_keys)}.')
    message += ('\nCheck that the file holds this model (same architecture '
                'and widths)' + (', and the prefix' if prefix else '') + '.')
    return message


def shape_mismatches(expected: Mapping, loaded: Mapping) -> List[str]:
    """The keys of ``loaded`` whose tensor shape differs from ``expected``.

    Args:
        expected (Mapping[str, Tensor]): Tensors of the model, by key.
        loaded (Mapping[str, Tensor]): Tensors of a checkpoint, by key; keys
            unknown to ``expected`` and values without a shape are skipped.

    Returns:
        list[str]: ``'key: checkpoint (shape) vs model (shape)'`` per
        mismatch.
    """
    return [
        f'{key}: checkpoint {tuple(value.shape)} vs model '
        f'{tuple(expected[key].shape)}' for key, value in loaded.items()
        if key in expected and hasattr(value, 'shape')
        and tuple(value.shape) != tuple(expected[key].shape)
    ]


def _is_batch_count(key: str) -> bool:
    # BatchNorm's counter: absent from old checkpoints, unused at test time
    # (mmengine ignores it too)
    return key.rsplit('.', 1)[-1] == 'num_batches_tracked'


@contextlib.contextmanager
def checked_loading(module: nn.Module,
                    checkpoint: str,
                    *,
                    prefix: Optional[str] = None,
                    allow_unexpected: bool = False,
                    allow_missing: Optional[Callable[[str], bool]] = None,
                    checkpoint_keys: Sequence[str] = ()) -> Iterator[None]:
    """Make every state-dict load into ``module`` inside the block strict.

    Hooks on ``module`` check each load, whoever performs it (mmengine's
    ``load_checkpoint`` / ``Runner.load_checkpoint``, which load
    non-strictly, or ``module.load_state_dict``): a tensor whose shape
    differs from the model's raises before anything is copied; after the
    load a missing key (BatchNorm's ``num_batches_tracked`` and the keys
    ``allow_missing`` accepts aside) or, unless ``allow_unexpected``, an
    unexpected key raises. Unexpected keys that are allowed are logged as a
    warning. The hooks are removed when the block ends.

    Args:
        module (nn.Module): The model loaded into (not a model wrapper).
        checkpoint (str): The checkpoint's path or URI, for the messages.
        prefix (str, optional): The key prefix selected in the checkpoint,
            for the messages.
        allow_unexpected (bool): Warn about unexpected keys instead of
            raising.
        allow_missing (callable, optional): ``key -> bool``: missing keys it
            accepts are not an error.
        checkpoint_keys (Sequence[str]): The keys of the file as read, for
            the messages; by default the keys of the loaded state dict.

    Raises:
        CheckpointMismatchError: Inside the block, from the load; the
            message names the file and the keys at fault.
    """
    model = type(module).__name__
    seen = {}

    def check_shapes(mod, state_dict, prefix_, *args):
        if prefix_ or mod is not module:
            return  # only the outermost load
        seen['keys'] = list(checkpoint_keys) or list(state_dict)
        seen['errors'] = args[-1]  # torch's error_msgs of this load
        mis_shaped = shape_mismatches(
            dict(
                itertools.chain(mod.named_parameters(),
                                mod.named_buffers())), state_dict)
        if mis_shaped:
            # raised before anything is copied; the other keys as the
            # names stand (a module may rename some on load)
            own = mod.state_dict(keep_vars=True)
            missing = [
                key for key in own if key not in state_dict
                and not _is_batch_count(key)
                and not (allow_missing and allow_missing(key))
            ]
            unexpected = [key for key in state_dict if key not in own]
            raise CheckpointMismatchError(
                mismatch_message(checkpoint, model, missing=missing,
                                 unexpected=unexpected,
                                 mis_shaped=mis_shaped, prefix=prefix,
                                 checkpoint_keys=seen['keys']))

    def check_keys(mod, incompatible_keys):
        if 'keys' not in seen:
            return
        keys = seen.pop('keys')
        errors = seen.pop('errors', [])
        missing = [
            key for key in incompatible_keys.missing_keys
            if not _is_batch_count(key)
            and not (allow_missing and allow_missing(key))
        ]
        unexpected = list(incompatible_keys.unexpected_keys)
        # e.g. a shape that differs after a module renamed the key on load
        mis_shaped = [str(e).strip() for e in errors if 'size mismatch' in
                      str(e)]
        if missing or mis_shaped or (unexpected and not allow_unexpected):
            raise CheckpointMismatchError(
                mismatch_message(
                    checkpoint, model, missing=missing,
                    unexpected=unexpected,
                    mis_shaped=mis_shaped, prefix=prefix,
                    checkpoint_keys=keys))
        if unexpected:
            where = f' (prefix {prefix!r})' if prefix else ''
            print_log(
                f'{checkpoint}{where}: keys the {model} does not have, not '
                f'loaded: {summarize_keys(unexpected)}',
                logger='current', level=logging.WARNING)
        # nothing left for a non-strict loader to warn about
        incompatible_keys.missing_keys[:] = [
            key for key in incompatible_keys.missing_keys
            if key not in missing]
        incompatible_keys.unexpected_keys.clear()

    pre = module.register_load_state_dict_pre_hook(check_shapes)
    post = module.register_load_state_dict_post_hook(check_keys)
    try:
        yield
    finally:
        pre.remove()
        post.remove()
