"""Loading configs for the command-line tools, with checked overrides."""
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.config import Config


def _check_key_exists(cfg: Config, dotted_key: str) -> None:
    """Raise ``KeyError`` when ``dotted_key`` does not name an existing entry.

    Integer parts index lists (``train_dataloader.dataset.pipeline.2.scale``),
    as in :meth:`mmengine.config.Config.merge_from_dict`.
    """
    node: Any = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    walked = []
    for part in dotted_key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit():
            found = int(part) < len(node)
            node = node[int(part)] if found else None
        elif isinstance(node, dict):
            found = part in node
            node = node.get(part)
        else:
            found = False
        if not found:
            where = '.'.join(walked) or 'the top level'
            raise KeyError(
                f'--cfg-options key {dotted_key!r} does not exist in the '
                f'config: {part!r} is not found under {where}. Write a config '
                'that inherits from this one to add new keys.')
        walked.append(part)


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides.

    Unlike a plain :meth:`Config.merge_from_dict`, an override whose key does
    not exist in the config is an error (a typo would otherwise be added as a
    new, silently ignored key).

    Args:
        path (str): Config file path.
        cfg_options (dict, optional): Dotted keys to values, as parsed by
            :class:`mmengine.config.DictAction`.

    Returns:
        Config: The loaded config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        for key in cfg_options:
            _check_key_exists(cfg, key)
        cfg.merge_from_dict(cfg_options)
    return cfg
