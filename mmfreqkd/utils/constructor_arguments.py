"""What a config dict's ``type`` builds, and the arguments it takes."""
import inspect
from importlib import import_module
from typing import List, Optional, Set, Tuple

import mmengine.registry
from mmengine.registry import Registry


def constructor_arguments(target) -> Tuple[Set[str], bool]:
    """Names of the keyword arguments a class (or function) takes.

    A class whose ``__init__`` forwards ``**kwargs`` to its parent takes the
    parent's arguments too, so the walk goes up the MRO while ``**kwargs``
    is passed on.

    Args:
        target (type | callable): A registered class or function.

    Returns:
        tuple[set[str], bool]: The argument names, and whether ``**kwargs``
        reach past every named argument (to ``object`` or to a function's
        own ``**kwargs``): such keys are kept for later use (e.g.
        mmengine's ``CheckpointHook`` hands them to ``save_checkpoint``),
        not checked when the object is built.
    """
    if not inspect.isclass(target):
        return _named_parameters(target)
    names: Set[str] = set()
    for cls in target.__mro__:
        if '__init__' not in vars(cls) or cls is object:
            continue
        named, passes_kwargs = _named_parameters(cls.__init__)
        names |= named
        if not passes_kwargs:
            return names, False
    return names, True


def _named_parameters(function) -> Tuple[Set[str], bool]:
    """Named parameters of ``function`` (``self`` left out), and whether
    it takes ``**kwargs``."""
    params = inspect.signature(function).parameters.values()
    named = {
        p.name
        for p in params if p.name != 'self'
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    return named, any(p.kind == p.VAR_KEYWORD for p in params)


def _root_registries() -> List[Registry]:
    return [
        value for value in vars(mmengine.registry).values()
        if isinstance(value, Registry)
    ]


def registered_targets(type_name, scope: Optional[str]) -> list:
    """Everything a config's ``type`` may name, in any registry.

    Args:
        type_name (str | type): The ``type`` of a config dict; a string is
            looked up in every mmengine root registry under ``scope`` (a
            ``'mmdet.X'`` prefix picks the scope itself), a class is its
            own answer.
        scope (str, optional): The config's ``default_scope``.

    Returns:
        list: The distinct classes / functions found (names repeat across
        registries, e.g. a model and a transform), possibly none.
    """
    if not isinstance(type_name, str):
        return [type_name] if callable(type_name) else []
    if scope:
        try:  # a scope's registries exist once its registry module runs
            import_module(f'{scope}.registry')
        except ImportError:
            pass
    found = []
    for root in _root_registries():
        registry = root.children.get(scope, root) if scope else root
        target = registry.get(type_name)
        if target is not None and target not in found:
            found.append(target)
    return found
