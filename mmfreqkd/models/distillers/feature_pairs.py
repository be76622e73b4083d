"""Teacher/student feature-map pairs: parsing, projection and their losses.

Shared by :class:`FreqKDDistiller` (its ``distill_pairs``) and
:class:`LogitDistiller` (its optional ``feature_pairs``). A pair is a dict
with keys ``name`` (str, used in loss names), ``teacher_index`` and
``student_index`` (positions in the teacher's and student's tuples of maps),
``weight`` (finite float >= 0, default 1.0) and optionally ``connector`` (a
config, e.g. ``dict(type='FeatureConnector', in_channels=512,
out_channels=1024)``).
"""
import numbers
from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS

from ..losses.argument_checks import check_weight

PAIR_KEYS = ('name', 'teacher_index', 'student_index', 'weight', 'connector')
REQUIRED_PAIR_KEYS = ('name', 'teacher_index', 'student_index')


def check_index(value: int, owner: str, key: str) -> int:
    """Return an index as an int, raising unless it is an integer (a float
    such as 1.9 is not truncated; a bool is no index).

    Args:
        value (int): The index as configured.
        owner (str): Config key of what it belongs to, for the message.
        key (str): Its own key, for the message.

    Returns:
        int: ``value``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{owner}: {key} must be an int, got {value!r}')
    return int(value)


def parse_feature_pair(position: int, pair: dict,
                       config_key: str = 'model.distill_pairs') -> dict:
    """Check one pair and fill in its defaults.

    Args:
        position (int): Index of the pair in its list (for error messages).
        pair (dict): The pair as written in the config.
        config_key (str): Config key of the list (for error messages).

    Returns:
        dict: ``name`` (str), ``teacher_index`` and ``student_index`` (int),
        ``weight`` (float) and ``connector`` (dict or None).
    """
    owner = f'{config_key}[{position}]'
    unknown = set(pair) - set(PAIR_KEYS)
    missing = set(REQUIRED_PAIR_KEYS) - set(pair)
    if unknown or missing:
        raise KeyError(
            f'{owner}: '
            + (f'unknown keys {sorted(unknown)} ' if unknown else '')
            + (f'missing keys {sorted(missing)}' if missing else ''))
    return dict(
        name=str(pair['name']),
        teacher_index=check_index(pair['teacher_index'], owner,
                                  'teacher_index'),
        student_index=check_index(pair['student_index'], owner,
                                  'student_index'),
        weight=check_weight(pair.get('weight', 1.0), owner, 'weight'),
        connector=pair.get('connector'))


def parse_feature_pairs(pairs: Sequence[dict],
                        config_key: str = 'model.distill_pairs') -> List[dict]:
    """Parse every pair (see :func:`parse_feature_pair`); names must be
    unique, as they name the losses and the connectors, and at least one
    weight must be > 0. None is no pair."""
    if pairs is None:
        pairs = ()
    if not isinstance(pairs, (list, tuple)) or not all(
            isinstance(pair, dict) for pair in pairs):
        raise TypeError(f'{config_key} must be a list of dicts, got '
                        f'{pairs!r}')
    parsed = [
        parse_feature_pair(i, pair, config_key) for i, pair in enumerate(pairs)
    ]
    names = [pair['name'] for pair in parsed]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f'{config_key}: pair names must be unique, '
                         f'{duplicates} appear more than once')
    layers = [(pair['teacher_index'], pair['student_index'])
              for pair in parsed]
    repeated = sorted({layer for layer in layers if layers.count(layer) > 1})
    if repeated:
        raise ValueError(
            f'{config_key}: (teacher_index, student_index) {repeated} appear '
            'in more than one pair, so those maps would be distilled twice; '
            'give one pair a larger weight instead')
    if parsed and not any(pair['weight'] for pair in parsed):
        raise ValueError(f'{config_key}: every pair has weight 0, so there '
                         'is nothing to distil; give at least one pair a '
                         'weight > 0')
    return parsed


def build_connectors(pairs: Sequence[dict]) -> nn.ModuleDict:
    """The connectors of the parsed pairs that have one, by pair name."""
    return nn.ModuleDict({
        pair['name']: MODELS.build(pair['connector'])
        for pair in pairs if pair['connector'] is not None
    })


def select_feature(feats: Sequence[torch.Tensor], pair: dict,
                   side: str) -> torch.Tensor:
    """The map of ``side`` (``'teacher'`` or ``'student'``) named by the
    pair, with an error naming the pair when the index is out of range."""
    index = pair[f'{side}_index']
    if not -len(feats) <= index < len(feats):
        raise IndexError(
            f'distill pair {pair["name"]!r}: {side}_index={index} but the '
            f'{side} returns {len(feats)} maps (check its out_indices)')
    return feats[index]


def project_student_feature(pair: dict, connectors: nn.ModuleDict,
                            student_feat: torch.Tensor,
                            teacher_feat: torch.Tensor) -> torch.Tensor:
    """Bring a student map (B, C_s, H_s, W_s) to the teacher map's shape.

    Through the pair's connector when it has one; otherwise the channels
    must match and the grid is resized bilinearly if it differs.

    Args:
        pair (dict): The distill pair (its ``name`` keys ``connectors``).
        connectors (nn.ModuleDict): Connectors by pair name.
        student_feat (Tensor): Student map (B, C_s, H_s, W_s).
        teacher_feat (Tensor): Teacher map (B, C_t, H_t, W_t).

    Returns:
        Tensor: (B, C_t, H_t, W_t).
    """
    name = pair['name']
    if name in connectors:
        return connectors[name](student_feat, teacher_feat.shape[-2:])
    if student_feat.shape[1] != teacher_feat.shape[1]:
        raise ValueError(
            f'distill pair {name!r}: student map {tuple(student_feat.shape)}'
            f' and teacher map {tuple(teacher_feat.shape)} differ in '
            'channels; add a connector, e.g. dict(type='
            f"'FeatureConnector', in_channels={student_feat.shape[1]}, "
            f'out_channels={teacher_feat.shape[1]})')
    if student_feat.shape[-2:] != teacher_feat.shape[-2:]:
        student_feat = F.interpolate(
            student_feat, size=teacher_feat.shape[-2:], mode='bilinear',
            align_corners=False)
    return student_feat


def feature_pair_losses(
    pairs: Sequence[dict], connectors: nn.ModuleDict,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], Dict[str, torch.Tensor]],
    student_feats: Tuple[torch.Tensor, ...],
    teacher_feats: Tuple[torch.Tensor, ...]
) -> Dict[str, torch.Tensor]:
    """Weighted feature losses of every pair.

    Args:
        pairs (Sequence[dict]): Parsed pairs.
        connectors (nn.ModuleDict): Connectors by pair name.
        loss_fn (callable): Feature loss: ``(student, teacher)`` maps of
            shape (B, C, H, W) to a dict of ``loss_*`` terms.
        student_feats (tuple[Tensor]): Student maps.
        teacher_feats (tuple[Tensor]): Teacher maps.

    Returns:
        dict[str, Tensor]: ``loss_<pair name>_<term>`` (the term without its
        ``loss_`` prefix, e.g. ``loss_block7_low``), scaled by the pair
        weight.
    """
    losses = {}
    for pair in pairs:
        t_feat = select_feature(teacher_feats, pair, 'teacher')
        s_feat = project_student_feature(
            pair, connectors, select_feature(student_feats, pair, 'student'),
            t_feat)
        for term, value in loss_fn(s_feat, t_feat).items():
            suffix = term[len('loss_'):] if term.startswith('loss_') else term
            losses[f'loss_{pair["name"]}_{suffix}'] = pair['weight'] * value
    return losses
