"""Feature maps of both sides of paired RGB / infrared batches.

Two comparisons are supported, both built from a FreqKD Stage-1 config (its
``model`` is a :class:`~mmfreqkd.models.distillers.FreqKDDistiller` with
``teacher``, ``student`` and ``data_preprocessor``):

- ``'same-model'``: one model (the teacher by default, or the student) is fed
  the RGB image on one side and the IR image on the other. This is the
  paper's spectral-divergence setting: pretrained DINOv2 seeing both
  modalities. The blocks are the model's ``out_indices``, named
  ``block<n>``.
- ``'teacher-student'``: the teacher fed RGB against the student fed IR,
  i.e. what the distillation loss compares. The blocks are the config's
  ``distill_pairs`` (named by their ``name``); a student map goes through
  the pair's connector (or a bilinear resize) exactly as in training.

The first map of every pair is the *reference* (RGB side / teacher), the
second the *compared* one (IR side / student).
"""
import copy
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import CheckpointLoader, load_state_dict

from mmfreqkd.models.distillers.feature_pairs import (project_student_feature,
                                                      select_feature)
from mmfreqkd.utils import (check_stage1_model, seed_like_runner,
                            without_parameter_init_report)
from mmfreqkd.utils.checkpoint import key_roots

ANALYSIS_MODES = ('same-model', 'teacher-student')
EXPORTED_PREFIX = 'backbone.'


class PairedFeatureExtractor(nn.Module):
    """Reference and compared maps of a paired batch, per analysed block.

    Args:
        distiller (nn.Module): A built ``FreqKDDistiller`` with its weights.
        mode (str): ``'same-model'`` or ``'teacher-student'``.
        model (str): In same-model mode, the model fed both modalities:
            ``'teacher'`` or ``'student'``. Ignored otherwise.
        blocks (Sequence[int], optional): Keep only these blocks, given as
            0-based block numbers, i.e. values of the ``out_indices`` of the
            analysed model (same-model) or of the teacher (teacher-student:
            the distill pairs whose teacher map comes from a listed block).
            None keeps all.
    """

    def __init__(self,
                 distiller: nn.Module,
                 mode: str = 'same-model',
                 model: str = 'teacher',
                 blocks: Optional[Sequence[int]] = None):
        super().__init__()
        _check_choice('mode', mode, ANALYSIS_MODES)
        _check_choice('model', model, ('teacher', 'student'))
        self.distiller = distiller
        self.mode = mode
        self.model = model
        self.taps = self._make_taps(blocks)

    def _block_numbers(self, backbone: nn.Module, role: str) -> List[int]:
        numbers = getattr(backbone, 'out_indices', None)
        if numbers is None:
            raise AttributeError(
                f'the {role} ({type(backbone).__name__}) has no out_indices '
                'attribute, so its output maps cannot be named by block')
        return [int(n) for n in numbers]

    def _make_taps(self, blocks: Optional[Sequence[int]]) -> List[dict]:
        if self.mode == 'same-model':
            numbers = self._block_numbers(
                getattr(self.distiller, self.model), self.model)
            taps = [
                dict(name=f'block{n}', block=n, index=i, pair=None)
                for i, n in enumerate(numbers)
            ]
        else:
            numbers = self._block_numbers(self.distiller.teacher, 'teacher')
            taps = []
            for pair in self.distiller.distill_pairs:
                index = pair['teacher_index']
                if not -len(numbers) <= index < len(numbers):
                    raise IndexError(
                        f'distill pair {pair["name"]!r}: teacher_index='
                        f'{index} but the teacher returns {len(numbers)} '
                        'maps (check its out_indices)')
                taps.append(
                    dict(name=pair['name'], block=numbers[index], index=None,
                         pair=pair))
        if blocks is not None:
            available = [tap['block'] for tap in taps]
            unknown = [b for b in blocks if b not in available]
            if unknown:
                raise ValueError(
                    f'blocks {unknown} are not analysed in {self.mode} mode; '
                    f'available blocks: {available}')
            taps = [tap for tap in taps if tap['block'] in blocks]
        if not taps:
            raise ValueError(f'no block to analyse in {self.mode} mode')
        return taps

    @property
    def names(self) -> Tuple[str, ...]:
        """Names of the analysed blocks, in output order."""
        return tuple(tap['name'] for tap in self.taps)

    @property
    def block_numbers(self) -> Dict[str, int]:
        """Block number (reference side) of every analysed block name."""
        return {tap['name']: tap['block'] for tap in self.taps}

    def preprocess(self, data_batch: dict) -> Tuple[torch.Tensor,
                                                   torch.Tensor]:
        """Collated batch -> normalised ``(rgb, ir)`` tensors on the device.

        Args:
            data_batch (dict): Output of ``pseudo_collate`` on samples of
                a paired pipeline (``inputs = dict(rgb=..., ir=...)``).

        Returns:
            tuple[Tensor, Tensor]: RGB (B, 3, H, W) and IR (B, C_ir, H, W).
        """
        data = self.distiller.data_preprocessor(data_batch, False)
        return data['inputs']['rgb'], data['inputs']['ir']

    @torch.no_grad()
    def forward(self, data_batch: dict
                ) -> 'OrderedDict[str, Tuple[torch.Tensor, torch.Tensor]]':
        """Maps of one batch.

        Args:
            data_batch (dict): A collated batch, see :meth:`preprocess`.

        Returns:
            OrderedDict[str, tuple[Tensor, Tensor]]: Per block name the
            reference and compared maps, float32, (B, C, h, w) each (in
            teacher-student mode the compared map is projected to the
            teacher's shape).
        """
        rgb, ir = self.preprocess(data_batch)
        if self.mode == 'same-model':
            backbone = getattr(self.distiller, self.model)
            reference, compared = backbone(rgb), backbone(ir)
        else:
            reference = self.distiller.teacher(rgb)
            compared = self.distiller.student(ir)
        maps = OrderedDict()
        for tap in self.taps:
            if tap['pair'] is None:
                ref = reference[tap['index']].float()
                cmp = compared[tap['index']].float()
            else:
                # the maps the distillation loss compares
                ref = select_feature(reference, tap['pair'], 'teacher').float()
                cmp = project_student_feature(
                    tap['pair'], self.distiller.connectors,
                    select_feature(compared, tap['pair'], 'student').float(),
                    ref)
            maps[tap['name']] = (ref, cmp)
        return maps


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f'{name} must be one of {list(choices)}, got '
                         f'{value!r}')


def _initialise(module: nn.Module) -> None:
    """Run ``init_cfg`` (e.g. load pretrained weights) when there is one;
    a module without keeps the initialisation of its constructor."""
    if getattr(module, 'init_cfg', None):
        with without_parameter_init_report():
            module.init_weights()


def _read_checkpoint(path: str) -> Tuple[dict, bool]:
    """State dict of a checkpoint and whether it is an exported student."""
    try:
        checkpoint = CheckpointLoader.load_checkpoint(path,
                                                      map_location='cpu')
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f'--checkpoint {path} is not a readable checkpoint '
                         f'({type(error).__name__}: {error})') from error
    state_dict = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f'{path}: no state dict found in the checkpoint')
    exported = all(k.startswith(EXPORTED_PREFIX) for k in state_dict)
    if not exported and not any(k.startswith('student.') for k in state_dict):
        raise ValueError(
            f'--checkpoint {path} is neither a Stage-1 checkpoint (student.* '
            f'keys) nor an export of export_student.py (every key '
            f'{EXPORTED_PREFIX}*): its keys start with '
            f'{key_roots(state_dict)}. An export written with another '
            f'--prefix must be written again with the default '
            f'{EXPORTED_PREFIX!r}')
    return state_dict, exported


def build_paired_feature_extractor(cfg: Config,
                                   mode: str = 'same-model',
                                   model: str = 'teacher',
                                   checkpoint: Optional[str] = None,
                                   blocks: Optional[Sequence[int]] = None
                                   ) -> PairedFeatureExtractor:
    """Build the models of a Stage-1 config and load their weights.

    The teacher gets its weights from ``model.teacher.init_cfg`` (the
    pretrained DINOv2 file); it is only built with weights when it is
    analysed. The student gets them from ``checkpoint`` when given:

    - a Stage-1 checkpoint (keys ``student.*``, ``connectors.*``; only the
      trained tensors): the student's base weights come first from
      ``model.student.init_cfg``, then the checkpoint is loaded strictly.
      LoRA adapters stay separate and act at their training scale.
    - a checkpoint written by ``tools/model_converters/export_student.py``
      (all keys prefixed ``backbone.``): loaded strictly into a student
      built without LoRA (the adapters were merged at the export's
      ``--lora-scale``). It holds no connectors, so teacher-student pairs
      that need one require the Stage-1 checkpoint.

    Without ``checkpoint`` the student is initialised from its ``init_cfg``.

    Args:
        cfg (Config): A Stage-1 config.
        mode (str): ``'same-model'`` or ``'teacher-student'``.
        model (str): Model fed both modalities in same-model mode:
            ``'teacher'`` or ``'student'``.
        checkpoint (str, optional): Student weights, see above.
        blocks (Sequence[int], optional): Block numbers to analyse. In
            same-model mode they replace the analysed model's
            ``out_indices`` (any block of the model can be listed); in
            teacher-student mode they select distill pairs by teacher block.

    Returns:
        PairedFeatureExtractor: In eval mode, on the CPU.
    """
    _check_choice('mode', mode, ANALYSIS_MODES)
    _check_choice('model', model, ('teacher', 'student'))
    model_cfg = copy.deepcopy(cfg.model)
    check_stage1_model(model_cfg)
    uses_teacher = mode == 'teacher-student' or model == 'teacher'
    uses_student = mode == 'teacher-student' or model == 'student'
    if checkpoint is None and mode == 'teacher-student':
        print_log(
            'teacher-student mode without a checkpoint: the student keeps '
            'the weights of model.student.init_cfg (no distillation); pass '
            'a Stage-1 checkpoint or an export (--checkpoint) to analyse a '
            'distilled student', logger='current', level=logging.WARNING)
    if checkpoint is not None and not uses_student:
        raise ValueError('--checkpoint holds student weights but same-model '
                         'mode with the teacher never uses the student; pass '
                         "model='student' (--model student) or drop it")
    if blocks is not None and mode == 'same-model':
        model_cfg[model]['out_indices'] = tuple(int(b) for b in blocks)
    if not uses_teacher:
        # The teacher is built (the distiller needs one) but never run.
        model_cfg.teacher.init_cfg = None
        model_cfg.allow_random_teacher = True

    state_dict, exported = (None, False)
    if checkpoint is not None:
        state_dict, exported = _read_checkpoint(checkpoint)
        if exported:
            model_cfg.student_lora = None

    seed_like_runner(cfg)  # random weights as in training, if seeded
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        try:
            distiller = MODELS.build(model_cfg)
        except IndexError as error:
            if blocks is None or mode != 'same-model':
                raise
            raise ValueError(f'--blocks {list(blocks)}: {error}') from error
    extractor = PairedFeatureExtractor(distiller, mode, model, blocks)

    if uses_teacher:
        _initialise(distiller.teacher)
        # the Pretrained entries the distiller took over, loaded strictly
        distiller.load_teacher_checkpoints()
    if uses_student:
        if exported:
            needs_connector = [
                tap['name'] for tap in extractor.taps
                if tap['pair'] is not None
                and tap['pair']['name'] in distiller.connectors
            ]
            if needs_connector:
                raise ValueError(
                    f'{checkpoint} is an exported student without the '
                    f'connectors that pairs {needs_connector} need; pass the '
                    'Stage-1 checkpoint instead')
            load_state_dict(
                distiller.student, {
                    k[len(EXPORTED_PREFIX):]: v
                    for k, v in state_dict.items()
                },
                strict=True)
        else:
            _initialise(distiller.student)
            if state_dict is not None:
                load_state_dict(distiller, state_dict, strict=True)
    return extractor.eval()
