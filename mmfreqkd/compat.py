"""Compatibility of mmengine 0.10.7 with torch >= 2.6.

torch 2.6 changed the default of ``torch.load(weights_only=...)`` to ``True``.
mmengine 0.10.7 loads local checkpoints with a bare ``torch.load``, so it can
no longer read its own checkpoints (they hold ``HistoryBuffer`` objects, numpy
arrays and config dicts), and ``--resume`` fails.

This module re-registers mmengine's loader for local paths (the ``''`` scheme
of :class:`mmengine.runner.CheckpointLoader`, its documented extension point)
with one that passes ``weights_only=False``. Nothing else of torch or mmengine
is touched: remote schemes (http, s3, ...) keep mmengine's loaders. Load only
checkpoints you trust, exactly as with torch < 2.6.
"""
import os.path as osp

import torch
from mmengine.runner import CheckpointLoader


def load_local_checkpoint(filename, map_location=None):
    """Load a local checkpoint file with full unpickling.

    Args:
        filename (str): Path of the checkpoint; ``~`` is expanded.
        map_location (str | torch.device | None): As in :func:`torch.load`.

    Returns:
        dict: The object stored in the file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


CheckpointLoader.register_scheme(
    prefixes='', loader=load_local_checkpoint, force=True)
