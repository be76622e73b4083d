"""A frozen teacher and a trainable student: what every distiller shares."""
import copy
import itertools
import os.path as osp
from collections.abc import Mapping
from typing import ContextManager, Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.model import BaseModel
from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import MODELS

from ..lora import inject_lora, mark_only_lora_trainable, merge_lora
from ...utils.checkpoint import (checked_loading, shape_mismatches,
                                 summarize_keys)
from ...utils.errors import with_prefix
from ..precision import autocast_disabled
from ..weight_init import CheckedPretrainedInit, read_pretrained_state_dict

TEACHER_DTYPES = ('auto', 'bfloat16', 'float16', 'float32')
# The arguments of mmengine's ``Pretrained`` initialiser.
PRETRAINED_KEYS = ('type', 'checkpoint', 'prefix', 'map_location')
# Advice closing every error about a checkpoint that does not fit.
CONFIG_HINT = ('Check that the config (student architecture, LoRA, distilled '
               'layer pairs and connectors) is the one the checkpoint was '
               'trained with.')


def pretrained_init_cfgs(init_cfg: Union[dict, list, None]) -> List[dict]:
    """The ``Pretrained`` and ``CheckedPretrained`` entries of an
    ``init_cfg``.

    Args:
        init_cfg (dict | list[dict] | None): An ``init_cfg``: one
            initialiser config, a list of them, or None.

    Returns:
        list[dict]: The entries of either type, in order.
    """
    cfgs = [init_cfg] if isinstance(init_cfg, Mapping) else init_cfg or []
    return [
        cfg for cfg in cfgs
        if cfg.get('type') in ('Pretrained', PretrainedInit,
                               'CheckedPretrained', CheckedPretrainedInit)
    ]


def has_pretrained_weights(cfg: dict) -> bool:
    """Whether a model config loads weights through a ``Pretrained``
    ``init_cfg`` (alone or in a list) that names a checkpoint."""
    return any(
        cfg.get('checkpoint')
        for cfg in pretrained_init_cfgs(cfg.get('init_cfg')))


def load_pretrained_strictly(module: nn.Module,
                             checkpoint: str,
                             prefix: Optional[str] = None,
                             map_location: str = 'cpu') -> None:
    """Load a checkpoint into a module as mmengine's ``Pretrained``
    initialiser reads it (:func:`~mmfreqkd.models.weight_init.
    read_pretrained_state_dict`), but strictly: a missing or unexpected key,
    or a shape that differs, is an error (the module's own load hooks, e.g.
    key renaming, run first).

    Args:
        module (nn.Module): The module to load into.
        checkpoint (str): Checkpoint path or URI.
        prefix (str, optional): Prefix of the module's keys in the file,
            e.g. ``'backbone.'``.
        map_location (str): Device for the loaded tensors.

    Raises:
        CheckpointMismatchError: The message names the file and counts the
            missing, unexpected and mis-shaped keys.
    """
    state_dict, all_keys = read_pretrained_state_dict(checkpoint, prefix,
                                                      map_location)
    with checked_loading(module, checkpoint, prefix=prefix,
                         checkpoint_keys=all_keys):
        module.load_state_dict(state_dict, strict=False)


class BaseDistiller(BaseModel):
    """Base class of the distillers: a frozen teacher and a student.

    It builds both models, freezes the teacher (no gradients, eval mode
    through :meth:`train`; the subclasses run its forward under
    ``torch.no_grad()`` and :meth:`teacher_autocast`) and keeps checkpoints
    small and honest: a state-dict hook drops every key that training never
    changes (the whole teacher, frozen student parameters such as the base
    weights of a LoRA student), and load hooks accept exactly those keys as
    missing while any other missing or unexpected key, or a tensor whose
    shape differs from the model's, raises an error, also when the
    checkpoint is loaded non-strictly (the Runner's ``load_from`` and
    ``resume``). The teacher therefore always comes from its own
    ``init_cfg``.

    The teacher's weights load strictly. A teacher class that loads its
    ``Pretrained`` entries itself, strictly, says so with a true
    ``loads_pretrained_strictly`` attribute (:class:`DINOv2ViT`, which also
    converts the checkpoint layouts) and keeps them. From any other teacher
    (e.g. an MMPretrain ``ImageClassifier``, whose ``Pretrained`` entries
    mmengine would load with a mere warning on a mismatch) the distiller
    takes them over and, in :meth:`init_weights`, loads them with
    :func:`load_pretrained_strictly`: a checkpoint of another model, width
    or key prefix is an error naming the file and the keys.

    Subclasses implement :meth:`forward` and may set
    :attr:`teacher_weights_hint`, the advice given when the teacher config
    loads no weights.

    Args:
        teacher (dict): Config of the teacher, built from the root
            ``MODELS`` registry (any scope). Its weights must come from
            ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (with
            ``prefix`` and ``map_location`` optional) unless
            ``allow_random_teacher`` is set; they load strictly.
        student (dict): Config of the student.
        student_lora (dict, optional): LoRA for the student, passed to
            :func:`~mmfreqkd.models.lora.inject_lora` (``rank``, ``alpha``,
            ``dropout``, ``target_modules``). With LoRA only the adapters of
            the student train; without it the whole student trains.
        teacher_dtype (str): Precision of the teacher forward: ``'auto'``
            (bfloat16 autocast on CUDA, float32 elsewhere), ``'bfloat16'``,
            ``'float16'`` or ``'float32'``.
        allow_random_teacher (bool): Accept a teacher without pretrained
            weights (tests and the quick start only); a warning is logged.
        allow_random_student (bool): Accept a LoRA student (``student_lora``
            set) without pretrained weights, whose adapters then train on
            frozen random weights (tests and the quick start only); a
            warning is logged. Without it such a student is an error, as a
            teacher without weights is. A student trained whole may start
            from random weights without it.
        data_preprocessor (dict, optional): Config of the data preprocessor.
        init_cfg (dict, optional): Initialisation config of the distiller.
    """

    #: Advice appended to the error raised when the teacher loads no weights.
    teacher_weights_hint = (
        'Point model.teacher.init_cfg at a local checkpoint, e.g. '
        '--cfg-options model.teacher.init_cfg.checkpoint=PATH,')

    def __init__(self,
                 teacher: dict,
                 student: dict,
                 student_lora: Optional[dict] = None,
                 teacher_dtype: str = 'auto',
                 allow_random_teacher: bool = False,
                 allow_random_student: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._check_teacher_weights(teacher, allow_random_teacher)
        self._check_student_weights(student, student_lora,
                                    allow_random_student)
        if teacher_dtype not in TEACHER_DTYPES:
            raise ValueError(
                "model.teacher_dtype must be 'auto', 'bfloat16', 'float16' or "
                f"'float32', got {teacher_dtype!r}")
        self.teacher_dtype = teacher_dtype
        self.uses_lora = student_lora is not None

        self.teacher = MODELS.build(teacher)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.teacher_pretrained = self._take_over_teacher_pretrained()
        self.student = MODELS.build(student)
        if student_lora is not None:
            try:
                inject_lora(self.student, **student_lora)
            except (TypeError, ValueError) as error:
                raise type(error)(f'model.student_lora: {error}') from error
            mark_only_lora_trainable(self.student)

        self._register_state_dict_hook(self._drop_untrained_state)
        self.register_load_state_dict_pre_hook(self._check_loaded_shapes)
        self.register_load_state_dict_post_hook(self._check_loaded_keys)

    # ------------------------------------------------------------------ setup
    def _check_teacher_weights(self, teacher: dict,
                               allow_random: bool) -> None:
        name = type(self).__name__
        if not has_pretrained_weights(teacher):
            if not allow_random:
                raise ValueError(
                    f'The {name} teacher has no pretrained weights. '
                    f'{self.teacher_weights_hint} or set '
                    'model.allow_random_teacher=True for a smoke test.')
            MMLogger.get_current_instance().warning(
                'model.allow_random_teacher=True: the teacher keeps its '
                'random initialisation. The distilled student is '
                'meaningless; use this for tests and the quick start only.')
            return
        for cfg in pretrained_init_cfgs(teacher['init_cfg']):
            checkpoint = cfg.get('checkpoint')
            if (isinstance(checkpoint, str) and '://' not in checkpoint
                    and not osp.isfile(osp.expanduser(checkpoint))):
                raise FileNotFoundError(
                    f'model.teacher.init_cfg.checkpoint not found: '
                    f'{checkpoint}')

    def _check_student_weights(self, student: dict,
                               student_lora: Optional[dict],
                               allow_random: bool) -> None:
        """Refuse a LoRA student without pretrained weights unless
        ``allow_random`` (its frozen base weights would stay random)."""
        if student_lora is None or has_pretrained_weights(student):
            return
        if not allow_random:
            raise ValueError(
                f'The {type(self).__name__} student is trained through LoRA '
                '(model.student_lora) but has no pretrained weights: its '
                'adapters would train on frozen random weights. Point '
                'model.student.init_cfg at the weights of its base model, '
                'e.g. --cfg-options model.student.init_cfg.type=Pretrained '
                'model.student.init_cfg.checkpoint=PATH, '
                'or set model.allow_random_student=True for a smoke test.')
        MMLogger.get_current_instance().warning(
            'model.allow_random_student=True: the LoRA student keeps random '
            'frozen base weights. The distilled student is meaningless; use '
            'this for tests and the quick start only.')

    def _take_over_teacher_pretrained(self) -> List[dict]:
        """Take the ``Pretrained`` entries out of the built teacher's
        ``init_cfg``, unless it loads them strictly itself.

        Returns:
            list[dict]: The entries, loaded by
            :meth:`load_teacher_checkpoints`.
        """
        init_cfg = getattr(self.teacher, 'init_cfg', None)
        pretrained = pretrained_init_cfgs(init_cfg)
        if not pretrained or getattr(self.teacher,
                                     'loads_pretrained_strictly', False):
            return []
        for cfg in pretrained:
            unknown = sorted(set(cfg) - set(PRETRAINED_KEYS))
            if unknown or not cfg.get('checkpoint'):
                raise KeyError(
                    f'model.teacher.init_cfg {dict(cfg)}: a Pretrained entry '
                    'needs "checkpoint" and accepts "prefix" and '
                    f'"map_location"; unknown keys {unknown}')
        others = [] if isinstance(init_cfg, Mapping) else [
            cfg for cfg in init_cfg if cfg not in pretrained
        ]
        self.teacher.init_cfg = others or None
        return [{k: v for k, v in cfg.items() if k != 'type'}
                for cfg in pretrained]

    def init_weights(self) -> None:
        """Initialise the models as mmengine does (their ``init_cfg``), then
        load the teacher's checkpoints strictly (see
        :meth:`load_teacher_checkpoints`).

        An error while the teacher or the student initialises (e.g. a
        checkpoint of another model) is raised again, same type, with
        ``model.teacher`` or ``model.student`` before its message.
        """
        first_call = not self.is_init
        try:
            super().init_weights()
        except (KeyError, ValueError, TypeError, RuntimeError,
                OSError) as error:
            role = self._role_being_initialised()
            renamed = error if role is None else with_prefix(
                error, f'model.{role}')
            if renamed is error:
                raise
            raise renamed from None
        if first_call:
            self.load_teacher_checkpoints()

    def _role_being_initialised(self) -> Optional[str]:
        """``'teacher'`` or ``'student'``: the one whose ``init_weights``
        failed, or None when it cannot be told.

        mmengine runs a distiller without ``init_cfg`` of its own by
        initialising its children in order (the teacher, then the student),
        marking each initialised when it is done: the first of them not
        marked is the one that raised.
        """
        if self.init_cfg:
            return None  # the distiller's own initialisers may have raised
        for role in ('teacher', 'student'):
            if not getattr(getattr(self, role), 'is_init', True):
                return role
        return None

    def load_teacher_checkpoints(self) -> None:
        """Load the ``Pretrained`` entries taken from the teacher's
        ``init_cfg`` into the teacher with :func:`load_pretrained_strictly`.

        :meth:`init_weights` calls it; call it after
        ``distiller.teacher.init_weights()`` when initialising the teacher
        alone.
        """
        for cfg in self.teacher_pretrained:
            load_pretrained_strictly(self.teacher, **cfg)
            print_log(
                f'Loaded the {type(self.teacher).__name__} teacher from '
                f'{cfg["checkpoint"]}'
                + (f' (prefix {cfg["prefix"]!r})' if cfg.get('prefix') else '')
                + ', strictly', logger='current')

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set train mode everywhere except in the frozen teacher."""
        super().train(mode)
        self.teacher.eval()
        return self

    def teacher_autocast(self, device: torch.device) -> ContextManager:
        """Autocast context of the teacher forward, following
        ``teacher_dtype``; float32 disables autocast, so that the teacher
        stays in float32 inside a mixed-precision region of the student.

        Args:
            device (torch.device): Device of the teacher's inputs; ``'auto'``
                means bfloat16 on CUDA and float32 elsewhere.

        Returns:
            ContextManager: The context to run the teacher in.
        """
        dtype = self.teacher_dtype
        if dtype == 'auto':
            dtype = 'bfloat16' if device.type == 'cuda' else 'float32'
        if dtype == 'float32':
            return autocast_disabled(device)
        return torch.autocast(device.type, dtype=getattr(torch, dtype))

    # ------------------------------------------------------------ checkpoints
    def _untrained_keys(self, prefix: str = '') -> List[str]:
        """State-dict keys that training never changes (not checkpointed)."""
        keys = [prefix + 'teacher.' + k for k in self.teacher.state_dict()]
        keys += [
            prefix + 'student.' + name
            for name, param in self.student.named_parameters()
            if not param.requires_grad
        ]
        return keys

    @staticmethod
    def _drop_untrained_state(module, state_dict, prefix, local_metadata):
        for key in module._untrained_keys(prefix):
            state_dict.pop(key, None)

    @staticmethod
    def _check_loaded_shapes(module, state_dict, prefix, *args) -> None:
        """Load pre-hook: initialise a distiller that was not initialised
        yet, then raise when a tensor of the checkpoint has another shape
        than the model's.

        A checkpoint leaves out what training never changes (the teacher,
        the base weights under LoRA): those come from the ``init_cfg``, so a
        model loaded before ``init_weights`` (``Runner.test`` / ``val`` of
        any OpenMMLab ``tools/test.py``, a script's ``load_checkpoint``)
        is initialised first instead of keeping random weights. mmengine's
        loader (``load_from``, ``resume``) loads non-strictly and would only
        log a warning on a shape mismatch, keeping e.g. the fresh adapters
        of a model whose LoRA rank differs from the checkpoint's.
        """
        if not module.is_init:
            print_log(
                f'{type(module).__name__}: initialising from the init_cfg '
                'before loading a checkpoint (it holds only the trained '
                'weights)', logger='current')
            module.init_weights()
        expected = {
            prefix + name: tensor
            for name, tensor in itertools.chain(module.named_parameters(),
                                                module.named_buffers())
        }
        mismatched = shape_mismatches(expected, state_dict)
        if mismatched:
            raise RuntimeError(
                f'The checkpoint does not match this {type(module).__name__}:'
                ' tensor shapes differ: ' + '; '.join(mismatched) + '. '
                + CONFIG_HINT)

    @staticmethod
    def _check_loaded_keys(module, incompatible_keys):
        untrained = set(module._untrained_keys())
        missing = incompatible_keys.missing_keys
        missing[:] = [k for k in missing if k not in untrained]
        trained_missing = [
            k for k in missing if 'num_batches_tracked' not in k
        ]
        if trained_missing or incompatible_keys.unexpected_keys:
            unexpected = incompatible_keys.unexpected_keys
            raise RuntimeError(
                f'The checkpoint does not match this {type(module).__name__}. '
                'Missing trained keys: '
                f'{summarize_keys(trained_missing) if trained_missing else 0}. '
                'Unexpected keys: '
                f'{summarize_keys(unexpected) if unexpected else 0}. '
                + CONFIG_HINT)

    def export_student(self,
                       lora_scale: float = 0.5) -> Dict[str, torch.Tensor]:
        """State dict of the student alone, ready for a downstream model.

        Args:
            lora_scale (float): Scale of the LoRA update merged into the base
                weights, ``W + lora_scale * (alpha / rank) * B A`` (the FreqKD
                paper uses 0.5), a finite number >= 0 (see
                :func:`~mmfreqkd.models.lora.merge_lora`). Ignored for a
                student without LoRA.

        Returns:
            dict[str, Tensor]: The student's weights with plain ``nn.Linear``
            keys, on the CPU; the distiller itself is left unchanged.
        """
        student = copy.deepcopy(self.student)
        if self.uses_lora:
            merge_lora(student, scale=lora_scale)
        return {k: v.detach().cpu() for k, v in student.state_dict().items()}
