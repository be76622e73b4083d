"""FreqKD Stage 1: a frozen RGB teacher distils its features into an IR student."""
import copy
import os.path as osp
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.registry import MODELS

from ..lora import inject_lora, mark_only_lora_trainable, merge_lora

ForwardResults = Union[Dict[str, torch.Tensor], List[Dict[str, torch.Tensor]],
                       Tuple[torch.Tensor, ...]]


def _has_pretrained_weights(cfg: dict) -> bool:
    init_cfg = cfg.get('init_cfg')
    if isinstance(init_cfg, (list, tuple)):
        return any(_has_pretrained_weights(dict(init_cfg=c)) for c in init_cfg)
    return (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'
            and bool(init_cfg.get('checkpoint')))


@MODELS.register_module()
class FreqKDDistiller(BaseModel):
    """Feature distillation from a frozen teacher to a student backbone.

    The paired data preprocessor hands over ``inputs = dict(rgb=..., ir=...)``;
    the teacher sees the RGB batch and the student the IR batch. For every
    entry of ``distill_pairs`` the student map is brought to the teacher's
    shape by a :class:`FeatureConnector` when needed and compared with the
    teacher map by ``loss`` (any feature loss of the library, by default the
    band-split :class:`FreqDecoupledLoss`). Each term the loss returns is
    scaled by the pair weight and logged as ``loss_<pair name>_<term>``, e.g.
    ``loss_block7_low``.

    Checkpoints hold only what training changes: the trainable student
    parameters (its LoRA adapters when LoRA is used), its buffers (e.g.
    BatchNorm statistics) and the connectors. The teacher, and the frozen
    base weights of a LoRA student, come from their own ``init_cfg``.

    Args:
        teacher (dict): Config of the teacher backbone, built from the root
            ``MODELS`` registry (any scope). It is frozen: no gradients, eval
            mode through :meth:`train`, run under ``torch.no_grad()``. Its
            weights must come from ``init_cfg=dict(type='Pretrained',
            checkpoint=...)`` unless ``allow_random_teacher`` is set.
        student (dict): Config of the student backbone (``DINOv2ViT``,
            mmdet's ``ResNet``, ...). Its ``forward`` returns a tuple of maps.
        distill_pairs (Sequence[dict]): One dict per distilled layer pair
            with keys ``name`` (str, used in loss names), ``teacher_index``
            and ``student_index`` (positions in the teacher's and student's
            output tuples), ``weight`` (float, default 1.0) and optionally
            ``connector`` (a config, e.g. ``dict(type='FeatureConnector',
            in_channels=512, out_channels=1024)``). Without a connector the
            student map must have the teacher's channels; its grid is resized
            bilinearly if it differs.
        loss (dict): Config of the feature loss. It must accept
            ``(student, teacher)`` maps of shape (B, C, H, W), return a dict
            of ``loss_*`` terms, and take a ``reduction`` argument
            (``'mean'`` for training, ``'none'`` for per-sample validation).
        student_lora (dict, optional): LoRA for the student, passed to
            :func:`inject_lora` (``rank``, ``alpha``, ``dropout``,
            ``target_modules``). With LoRA only the adapters (and connectors)
            train; without it the whole student trains.
        teacher_dtype (str): Precision of the teacher forward: ``'auto'``
            (bfloat16 autocast on CUDA, float32 elsewhere), ``'bfloat16'``,
            ``'float16'`` or ``'float32'``. Teacher maps are returned in
            float32 either way.
        allow_random_teacher (bool): Accept a teacher without pretrained
            weights (tests and the CPU quick start only); a warning is logged.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='PairedDataPreprocessor')``.
        init_cfg (dict, optional): Initialisation config of the distiller.
    """

    def __init__(self,
                 teacher: dict,
                 student: dict,
                 distill_pairs: Sequence[dict],
                 loss: dict = dict(type='FreqDecoupledLoss'),
                 student_lora: Optional[dict] = None,
                 teacher_dtype: str = 'auto',
                 allow_random_teacher: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PairedDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._check_teacher_weights(teacher, allow_random_teacher)
        if teacher_dtype not in ('auto', 'bfloat16', 'float16', 'float32'):
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

        if not distill_pairs:
            raise ValueError('model.distill_pairs is empty: name at least one '
                             'teacher/student layer pair')
        self.distill_pairs = [self._parse_pair(i, p)
                              for i, p in enumerate(distill_pairs)]
        self.connectors = nn.ModuleDict({
            pair['name']: MODELS.build(pair['connector'])
            for pair in self.distill_pairs if pair['connector'] is not None
        })
        self.loss = MODELS.build({**loss, 'reduction': 'mean'})
        self.per_sample_loss = MODELS.build({**loss, 'reduction': 'none'})

        self._register_state_dict_hook(self._drop_untrained_state)
        self.register_load_state_dict_post_hook(self._check_loaded_keys)

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _check_teacher_weights(teacher: dict, allow_random: bool) -> None:
        if not _has_pretrained_weights(teacher):
            if not allow_random:
                raise ValueError(
                    'The FreqKD teacher has no pretrained weights. Point '
                    'model.teacher.init_cfg at a local DINOv2 checkpoint, e.g. '
                    "--cfg-options model.teacher.init_cfg.checkpoint="
                    'checkpoints/dinov2_vitl14_reg4_pretrain.pth (official, '
                    'timm or Hugging Face layout), or set '
                    'model.allow_random_teacher=True for a smoke test.')
            MMLogger.get_current_instance().warning(
                'model.allow_random_teacher=True: the teacher keeps its random '
                'initialisation. The distilled student is meaningless; use '
                'this for tests and the quick start only.')
            return
        init_cfg = teacher['init_cfg']
        checkpoint = init_cfg['checkpoint'] if isinstance(init_cfg, dict) \
            else None
        if (isinstance(checkpoint, str) and '://' not in checkpoint
                and not osp.isfile(osp.expanduser(checkpoint))):
            raise FileNotFoundError(
                f'model.teacher.init_cfg.checkpoint not found: {checkpoint}')

    @staticmethod
    def _parse_pair(position: int, pair: dict) -> dict:
        unknown = set(pair) - {
            'name', 'teacher_index', 'student_index', 'weight', 'connector'
        }
        missing = {'name', 'teacher_index', 'student_index'} - set(pair)
        if unknown or missing:
            raise KeyError(
                f'model.distill_pairs[{position}]: '
                + (f'unknown keys {sorted(unknown)} ' if unknown else '')
                + (f'missing keys {sorted(missing)}' if missing else ''))
        weight = float(pair.get('weight', 1.0))
        if weight < 0:
            raise ValueError(f'model.distill_pairs[{position}].weight must be '
                             f'>= 0, got {weight}')
        return dict(
            name=str(pair['name']),
            teacher_index=int(pair['teacher_index']),
            student_index=int(pair['student_index']),
            weight=weight,
            connector=pair.get('connector'))

    def train(self, mode: bool = True) -> 'FreqKDDistiller':
        """Set train mode everywhere except in the frozen teacher."""
        super().train(mode)
        self.teacher.eval()
        return self

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
        trained_missing = [k for k in missing if 'num_batches_tracked' not in k]
        if trained_missing or incompatible_keys.unexpected_keys:
            raise RuntimeError(
                'The checkpoint does not match this FreqKDDistiller. '
                f'Missing trained keys: {trained_missing or "none"}. '
                'Unexpected keys: '
                f'{incompatible_keys.unexpected_keys or "none"}. Check that '
                'the config (student arch, LoRA, distill_pairs) is the one the '
                'checkpoint was trained with.')

    def export_student(self, lora_scale: float = 0.5) -> Dict[str, torch.Tensor]:
        """State dict of the student alone, ready for a Stage-2 model.

        Args:
            lora_scale (float): Scale of the LoRA update merged into the base
                weights, ``W + lora_scale * (alpha / rank) * B A`` (the paper
                uses 0.5). Ignored for a student without LoRA.

        Returns:
            dict[str, Tensor]: The student's weights with plain ``nn.Linear``
            keys, on the CPU; the distiller itself is left unchanged.
        """
        student = copy.deepcopy(self.student)
        if self.uses_lora:
            merge_lora(student, scale=lora_scale)
        return {k: v.detach().cpu() for k, v in student.state_dict().items()}

    # ---------------------------------------------------------------- forward
    def _teacher_autocast(self, device: torch.device):
        dtype = self.teacher_dtype
        if dtype == 'auto':
            dtype = 'bfloat16' if device.type == 'cuda' else 'float32'
        if dtype == 'float32':
            return nullcontext()
        return torch.autocast(device.type, dtype=getattr(torch, dtype))

    def extract_teacher_feats(self, rgb: torch.Tensor) -> Tuple[torch.Tensor]:
        """Teacher maps of the RGB batch (B, 3, H, W), in float32."""
        with torch.no_grad(), self._teacher_autocast(rgb.device):
            feats = self.teacher(rgb)
        return tuple(f.float() for f in feats)

    def extract_student_feats(self, ir: torch.Tensor) -> Tuple[torch.Tensor]:
        """Student maps of the IR batch (B, C_ir, H, W)."""
        return tuple(self.student(ir))

    def _project(self, pair: dict, student_feat: torch.Tensor,
                 teacher_feat: torch.Tensor) -> torch.Tensor:
        name = pair['name']
        if name in self.connectors:
            return self.connectors[name](student_feat, teacher_feat.shape[-2:])
        if student_feat.shape[1] != teacher_feat.shape[1]:
            raise ValueError(
                f'distill pair {name!r}: student map {tuple(student_feat.shape)}'
                f' and teacher map {tuple(teacher_feat.shape)} differ in '
                'channels; add a connector, e.g. dict(type='
                f"'FeatureConnector', in_channels={student_feat.shape[1]}, "
                f'out_channels={teacher_feat.shape[1]})')
        if student_feat.shape[-2:] != teacher_feat.shape[-2:]:
            student_feat = nn.functional.interpolate(
                student_feat, size=teacher_feat.shape[-2:], mode='bilinear',
                align_corners=False)
        return student_feat

    def compute_losses(self, inputs: Dict[str, torch.Tensor],
                       per_sample: bool = False) -> Dict[str, torch.Tensor]:
        """Distillation losses of a paired batch.

        Args:
            inputs (dict): ``rgb`` (B, 3, H, W) and ``ir`` (B, C_ir, H, W).
            per_sample (bool): Return (B,) losses instead of scalars.

        Returns:
            dict[str, Tensor]: ``loss_<pair>_<term>`` for every pair and term.
        """
        teacher_feats = self.extract_teacher_feats(inputs['rgb'])
        student_feats = self.extract_student_feats(inputs['ir'])
        loss_fn = self.per_sample_loss if per_sample else self.loss
        losses = {}
        for pair in self.distill_pairs:
            t_feat = self._select(teacher_feats, pair, 'teacher')
            s_feat = self._project(pair, self._select(student_feats, pair,
                                                      'student'), t_feat)
            for term, value in loss_fn(s_feat, t_feat).items():
                suffix = term[len('loss_'):] if term.startswith('loss_') \
                    else term
                losses[f'loss_{pair["name"]}_{suffix}'] = pair['weight'] * value
        return losses

    @staticmethod
    def _select(feats: Tuple[torch.Tensor], pair: dict, side: str):
        index = pair[f'{side}_index']
        if not -len(feats) <= index < len(feats):
            raise IndexError(
                f'distill pair {pair["name"]!r}: {side}_index={index} but the '
                f'{side} returns {len(feats)} maps (check its out_indices)')
        return feats[index]

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> ForwardResults:
        """Run the distiller.

        Args:
            inputs (dict): ``rgb`` (B, 3, H, W) and ``ir`` (B, C_ir, H, W)
                from :class:`PairedDataPreprocessor`.
            data_samples (list, optional): Unused, kept for the runner.
            mode (str): ``'loss'``: dict of scalar losses for training;
                ``'predict'``: one dict of per-sample losses for each image,
                consumed by :class:`DistillationLossMetric` in validation;
                ``'tensor'``: the student's maps of the IR batch.
        """
        if mode == 'loss':
            return self.compute_losses(inputs)
        if mode == 'predict':
            losses = self.compute_losses(inputs, per_sample=True)
            batch_size = inputs['ir'].shape[0]
            return [{k: v[i].detach() for k, v in losses.items()}
                    for i in range(batch_size)]
        if mode == 'tensor':
            return self.extract_student_feats(inputs['ir'])
        raise ValueError(f"Invalid mode {mode!r}: use 'loss', 'predict' or "
                         "'tensor'")
