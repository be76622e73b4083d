"""Loading configs for the command-line tools, with checked overrides."""
import ast
import difflib
import inspect
import logging
import os.path as osp
from typing import Any, Dict, Iterable, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, set_random_seed

from .constructor_arguments import constructor_arguments, registered_targets


def _check_override_key(cfg: Config, dotted_key: str,
                        keys: Iterable[str]) -> Optional[str]:
    """Refuse an override key that would be silently ignored or misread.

    A key may name an existing entry, or a new named argument of a
    constructor call (below a dict with a ``type``:
    ``optim_wrapper.clip_grad.max_norm``, ``model.allow_random_teacher``;
    see :func:`_check_new_argument`), or a Runner argument at the top
    level. A new key anywhere else (other top-level keys, ``randomness``, a
    ``train_cfg`` without ``type``) is read with ``.get`` or not at all, so
    a typo would be ignored: ``KeyError``. Integer parts index lists
    (``train_dataloader.dataset.pipeline.2.scale``), as in
    :meth:`mmengine.config.Config.merge_from_dict`, which cannot index into
    tuples: their items are refused with the whole-value form to use.

    Args:
        cfg (Config): The loaded config.
        dotted_key (str): One ``--cfg-options`` key.
        keys (Iterable[str]): All the ``--cfg-options`` keys.

    Returns:
        str | None: The dotted path of an entry that is ``None`` in the
        config and that the key fills in (``model.backbone.init_cfg`` for
        ``model.backbone.init_cfg.type``), else None.
    """
    node: Any = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    walked = []
    for part in dotted_key.split('.'):
        where = '.'.join(walked) or 'the top level'
        if node is None and walked:
            # an unset entry (init_cfg=None) filled in from the command
            # line: it becomes a constructor call, so it needs a type
            if f'{where}.type' not in keys:
                raise KeyError(
                    f'--cfg-options key {dotted_key!r}: {where} is None in '
                    f'the config; give its type too, e.g. {where}.type=... '
                    f'{dotted_key}=...')
            return where
        if isinstance(node, tuple) and part.isdigit():
            raise KeyError(
                f'--cfg-options key {dotted_key!r}: '
                f'{where} is a tuple, whose items cannot be set '
                'one by one; set the whole value instead, e.g. '
                f'{where}="{tuple(node)}"')
        if isinstance(node, list) and part.isdigit():
            found = int(part) < len(node)
            why = f'{where} has {len(node)} items'
            node = node[int(part)] if found else None
        elif isinstance(node, dict):
            found = part in node
            if not found and not walked and _read_by_runner(part):
                return None  # a new argument of the Runner
            if not found and 'type' in node:
                # a new argument of a constructor call
                _check_new_argument(node, part, where, dotted_key,
                                    cfg.get('default_scope'))
                return None
            why = (f'{part!r} is not found under {where}, which has no '
                   '`type` (new keys are accepted only as arguments of a '
                   'dict with one)')
            node = node.get(part)
        else:
            found = False
            why = f'{where} is {node!r}, not a dict'
        if not found:
            raise KeyError(
                f'--cfg-options key {dotted_key!r} does not exist in the '
                f'config: {why}. Write a config that inherits from this one '
                'to add other keys.')
        walked.append(part)
    return None


def _check_new_argument(node: dict, name: str, where: str,
                        dotted_key: str, scope: Optional[str]) -> None:
    """Refuse ``name`` as a new key of the constructor call ``node`` unless
    the class its ``type`` names takes an argument of that name.

    A type found in no registry passes: building it will say so.
    """
    targets = registered_targets(node['type'], node.get('_scope_', scope))
    if not targets:
        return
    known, passed_on = set(), False
    for target in targets:
        names, open_kwargs = constructor_arguments(target)
        known |= names
        passed_on |= open_kwargs
    if name in known:
        return
    type_name = getattr(node['type'], '__name__', node['type'])
    close = difflib.get_close_matches(name, sorted(known), n=3)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" \
        if close else ''
    later = (f'; {type_name} passes other keyword arguments on at run '
             'time, where a misspelt one fails late or is ignored'
             if passed_on else '')
    raise KeyError(
        f'--cfg-options key {dotted_key!r}: {type_name} ({where}) takes no '
        f'argument {name!r}{hint}{later}. Write a config that inherits '
        'from this one to add other keys.')


#: Top-level keys read from the config besides Runner's own arguments.
RUN_CONFIG_KEYS = frozenset({
    'runner_type', 'custom_imports', 'compile', 'strategy',
    'model_wrapper_cfg', 'find_unused_parameters', 'activation_checkpointing',
    'efficient_conv_bn_eval'
})


def _read_by_runner(name: str) -> bool:
    """Whether the top-level config key ``name`` is read by the Runner."""
    return name in RUN_CONFIG_KEYS or \
        name in inspect.signature(Runner.__init__).parameters


def _warn_if_file_variable(cfg: Config, dotted_key: str) -> None:
    """Warn that overriding a variable of the config file changes nothing.

    A top-level scalar or tuple (``data_root``, ``distill_blocks``,
    ``max_epochs``) that no Runner argument reads is a variable of the file:
    mmengine substituted its value where it is used when the file was read.
    """
    name = dotted_key.split('.')[0]
    if isinstance(cfg.get(name), (dict, list)) or _read_by_runner(name):
        return
    print_log(
        f'--cfg-options {dotted_key}: {name!r} is a variable of the config '
        'file, already written into the entries that use it when the file '
        'was read; this override changes none of them. Override those '
        'entries instead (e.g. train_dataloader.dataset.data_root, not '
        'data_root).',
        logger='current', level=logging.WARNING)


def _set_entry(cfg: Config, dotted_key: str, value: Any) -> None:
    """Set the existing entry ``dotted_key`` (integer parts index lists)."""
    *parents, last = dotted_key.split('.')
    node: Any = cfg
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value


def _syntax_error_in(path: str, seen: Optional[set] = None
                     ) -> Optional[SyntaxError]:
    """The syntax error of a config file or of one of its local
    ``_base_`` files, with the file named, or None.

    Args:
        path (str): Config file path.
        seen (set, optional): Files already parsed (inheritance cycles).

    Returns:
        SyntaxError | None: The first error found, its ``filename`` set.
    """
    seen = set() if seen is None else seen
    path = osp.abspath(path)
    if path in seen or not osp.isfile(path):
        return None
    seen.add(path)
    with open(path, encoding='utf-8') as file:
        source = file.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        return error
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == '_base_'
                for target in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return None
            for base in [bases] if isinstance(bases, str) else bases:
                if '::' in base:  # a package's config (mmdet::...)
                    continue
                error = _syntax_error_in(
                    osp.join(osp.dirname(path), base), seen)
                if error is not None:
                    return error
    return None


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides.

    Unlike a plain :meth:`Config.merge_from_dict`, an override of a key that
    does not exist in the config is an error unless it is a new argument of
    a constructor call (a typo would otherwise be added as a new, silently
    ignored key; see :func:`_check_override_key`), and the keys of an entry
    that is ``None`` in the config (``init_cfg=None``) may be set, its type
    among them.

    Args:
        path (str): Config file path.
        cfg_options (dict, optional): Dotted keys to values, as parsed by
            :class:`mmengine.config.DictAction`.

    Returns:
        Config: The loaded config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as error:
        # mmengine parses without a file name: find the file at fault
        culprit = _syntax_error_in(path)
        if culprit is None:
            raise
        raise culprit from error
    if cfg_options:
        unset = {_check_override_key(cfg, key, cfg_options)
                 for key in cfg_options} - {None}
        for key in cfg_options:
            _warn_if_file_variable(cfg, key)
        for entry in unset:  # merge_from_dict cannot merge into None
            _set_entry(cfg, entry, {})
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_run_config(path: str,
                    cfg_options: Optional[Dict[str, Any]] = None,
                    work_dir: Optional[str] = None,
                    launcher: str = 'none') -> Config:
    """Load a config for a train or test run of the command-line tools.

    Besides :func:`load_config`, sets the launcher and the work dir, taken
    from (in this order) ``work_dir``, the config, or
    ``./work_dirs/<config name>``.

    Args:
        path (str): Config file path.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        work_dir (str, optional): ``--work-dir`` of the command line.
        launcher (str): ``--launcher`` of the command line.

    Returns:
        Config: The config, ready for :func:`build_runner`.
    """
    cfg = load_config(path, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def build_runner(cfg: Config):
    """Build the config's runner: ``runner_type`` from the ``RUNNERS``
    registry when the config names one, mmengine's :class:`Runner`
    otherwise."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def seed_like_runner(cfg: Config) -> None:
    """Seed the random generators as the Runner does before its model.

    The Runner seeds from ``cfg.randomness`` and then builds the model, so
    the random weights of a model that has no pretrained ones (the quick
    start's ViT-S, whose checkpoints hold only LoRA adapters) follow from
    that seed alone. Tools that build the model without a Runner (export,
    analysis) call this first and rebuild the same weights. A config
    without a seed leaves the generators alone.

    Args:
        cfg (Config): The run's config.
    """
    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is not None:
        set_random_seed(
            randomness['seed'],
            deterministic=randomness.get('deterministic', False))


def check_stage1_model(model_cfg: dict) -> None:
    """Raise unless a model config is a distiller (a teacher and a student).

    Args:
        model_cfg (dict): The ``model`` entry of a config.

    Raises:
        KeyError: Naming the missing entries, for the tools that need a
            FreqKD Stage-1 config (export, analysis).
    """
    missing = [key for key in ('teacher', 'student') if key not in model_cfg]
    if missing:
        raise KeyError(f'config model has no {missing} entry: pass a FreqKD '
                       'Stage-1 config (model type FreqKDDistiller)')
