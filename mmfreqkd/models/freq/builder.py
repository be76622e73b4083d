"""Build a band splitter from a config or pass an instance through."""
from typing import Union

from mmengine.registry import MODELS

from .base import BaseBandSplitter


def build_splitter(cfg: Union[dict, BaseBandSplitter]) -> BaseBandSplitter:
    """Return a band splitter.

    Args:
        cfg (dict | BaseBandSplitter): A config such as
            ``dict(type='FFTRectSplitter', cutoff=0.5)``, built with the
            mmengine ``MODELS`` registry, or a splitter instance, returned
            as is.

    Returns:
        BaseBandSplitter: The splitter.
    """
    if isinstance(cfg, BaseBandSplitter):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError('a splitter must be a BaseBandSplitter or a config '
                        f"dict with a 'type' key, got {cfg!r}")
    splitter = MODELS.build(cfg)
    if not isinstance(splitter, BaseBandSplitter):
        raise TypeError(f'splitter config {cfg!r} built a '
                        f'{type(splitter).__name__}, not a band splitter')
    return splitter
