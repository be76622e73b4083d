"""A frozen teacher and a trainable student: what every distiller shares."""
import copy
import os.path as osp
from typing import ContextManager, Dict, List, Optional

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.registry import MODELS

from ..lora import inject_lora, mark_only_lora_trainable, merge_lora
from ..precision import autocast_disabled

TEACHER_DTYPES = ('auto', 'bfloat16', 'float16', 'float32')


def has_pretrained_weights(cfg: dict) -> bool:
    """Whether a model config loads weights through a ``Pretrained``
    ``init_cfg`` (alone or in a list) that names a checkpoint."""
    init_cfg = cfg.get('init_cfg')
    if isinstance(init_cfg, (list, tuple)):
        return any(has_pretrained_weights(dict(init_cfg=c)) for c in init_cfg)
    return (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'
            and bool(init_cfg.get('checkpoint')))


class BaseDistiller(BaseModel):
    """Base class of the distillers: a frozen teacher and a student.

    It builds both models, freezes the teacher (no gradients, eval mode
    through :meth:`train`, forward under ``torch.no_grad()`` in the
    subclasses through :meth:`teacher_autocast`) and keeps checkpoints small
    and honest: a state-dict hook drops every key that training never
    changes (the whole teacher, frozen student parameters such as the base
    weights of a LoRA student), and a load post-hook accepts exactly those
    keys as missing while any other missing or unexpected key raises an
    error. The teacher therefore always comes from its own ``init_cfg``.

    Subclasses implement :meth:`forward` and may set
    :attr:`teacher_weights_hint`, the advice given when the teacher config
    loads no weights.

    Args:
        teacher (dict): Config of the teacher, built from the root
            ``MODELS`` registry (any scope). Its weights must come from
            ``init_cfg=dict(type='Pretrained', checkpoint=...)`` unless
            ``allow_random_teacher`` is set.
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
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._check_teacher_weights(teacher, allow_random_teacher)
        if teacher_dtype not in TEACHER_DTYPES:
            raise ValueError(
                "model.teacher_dtype must be 'auto', 'bfloat16', 'float16' or "
                f"'float32', got {teacher_dtype!r}")
        self.teacher_dtype = teacher_dtype
        self.uses_lora = student_lora is not None

        self.teacher = MODELS.build(teacher)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.student = MODELS.build(student)
        if student_lora is not None:
            inject_lora(self.student, **student_lora)
            mark_only_lora_trainable(self.student)

        self._register_state_dict_hook(self._drop_untrained_state)
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
        init_cfg = teacher['init_cfg']
        checkpoint = init_cfg['checkpoint'] if isinstance(init_cfg, dict) \
            else None
        if (isinstance(checkpoint, str) and '://' not in checkpoint
                and not osp.isfile(osp.expanduser(checkpoint))):
            raise FileNotFoundError(
                f'model.teacher.init_cfg.checkpoint not found: {checkpoint}')

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set train mode everywhere except in the frozen teacher."""
        super().train(mode)
        self.teacher.eval()
        return self

    def teacher_autocast(self, device: torch.device) -> ContextManager:
        """Autocast context of the teacher forward on ``device``, following
        ``teacher_dtype``; float32 disables autocast, so that the teacher
        stays in float32 inside a mixed-precision region of the student."""
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
    def _check_loaded_keys(module, incompatible_keys):
        untrained = set(module._untrained_keys())
        missing = incompatible_keys.missing_keys
        missing[:] = [k for k in missing if k not in untrained]
        trained_missing = [
            k for k in missing if 'num_batches_tracked' not in k
        ]
        if trained_missing or incompatible_keys.unexpected_keys:
            raise RuntimeError(
                f'The checkpoint does not match this {type(module).__name__}. '
                f'Missing trained keys: {trained_missing or "none"}. '
                'Unexpected keys: '
                f'{incompatible_keys.unexpected_keys or "none"}. Check that '
                'the config (student architecture, LoRA, distilled layer '
                'pairs and connectors) is the one the checkpoint was trained '
                'with.')

    def export_student(self,
                       lora_scale: float = 0.5) -> Dict[str, torch.Tensor]:
        """State dict of the student alone, ready for a downstream model.

        Args:
            lora_scale (float): Scale of the LoRA update merged into the base
                weights, ``W + lora_scale * (alpha / rank) * B A`` (the FreqKD
                paper uses 0.5). Ignored for a student without LoRA.

        Returns:
            dict[str, Tensor]: The student's weights with plain ``nn.Linear``
            keys, on the CPU; the distiller itself is left unchanged.
        """
        student = copy.deepcopy(self.student)
        if self.uses_lora:
            merge_lora(student, scale=lora_scale)
        return {k: v.detach().cpu() for k, v in student.state_dict().items()}
