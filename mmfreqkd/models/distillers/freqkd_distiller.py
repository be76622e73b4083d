"""FreqKD Stage 1: a frozen RGB teacher distils its features into an IR student."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.registry import MODELS

from ..precision import autocast_disabled
from .base_distiller import BaseDistiller
from .feature_pairs import (build_connectors, feature_pair_losses,
                            parse_feature_pairs)
from .teacher_feature_cache import TeacherFeatureCache

ForwardResults = Union[Dict[str, torch.Tensor], List[Dict[str, torch.Tensor]],
                       Tuple[torch.Tensor, ...]]


@MODELS.register_module()
class FreqKDDistiller(BaseDistiller):
    """Feature distillation from a frozen teacher to a student backbone.

    The paired data preprocessor hands over ``inputs = dict(rgb=..., ir=...)``;
    the teacher sees the RGB batch and the student the IR batch. For every
    entry of ``distill_pairs`` the student map is brought to the teacher's
    shape by a :class:`FeatureConnector` when needed and compared with the
    teacher map by ``loss`` (any feature loss of the library, by default the
    band-split :class:`FreqDecoupledLoss`). Each term the loss returns is
    scaled by the pair weight and logged as ``loss_<pair name>_<term>``, e.g.
    ``loss_block7_low``.

    Checkpoints hold only what training changes (see
    :class:`BaseDistiller`): the trainable student parameters (its LoRA
    adapters when LoRA is used), its buffers (e.g. BatchNorm statistics) and
    the connectors. The teacher, and the frozen base weights of a LoRA
    student, come from their own ``init_cfg``.

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
            in_channels=512, out_channels=1024)``); names must be unique.
            Without a connector the student map must have the teacher's
            channels; its grid is resized bilinearly if it differs.
        loss (dict): Config of the feature loss. It must accept
            ``(student, teacher)`` maps of shape (B, C, H, W), return a dict
            of ``loss_*`` terms, and take a ``reduction`` argument
            (``'mean'`` for training, ``'none'`` for per-sample validation),
            which the distiller sets: a ``reduction`` in the config other
            than ``'mean'`` is an error.
        student_lora (dict, optional): LoRA for the student, passed to
            :func:`inject_lora` (``rank``, ``alpha``, ``dropout``,
            ``target_modules``). With LoRA only the adapters (and connectors)
            train; without it the whole student trains.
        teacher_dtype (str): Precision of the teacher forward: ``'auto'``
            (bfloat16 autocast on CUDA, float32 elsewhere), ``'bfloat16'``,
            ``'float16'`` or ``'float32'``. Teacher maps are returned in
            float32 either way. The losses are always computed in float32,
            outside any autocast region (e.g. that of ``--amp``).
        teacher_feature_cache (dict, optional): Keep the teacher's maps of
            each sample and skip the teacher for samples seen before:
            keyword arguments of :class:`TeacherFeatureCache` (``max_items``
            required; ``device``, ``dtype``, ``extra_key_fields``,
            ``safe_transforms``). Only valid when the RGB image is a function
            of its file, size, scale, flip and batch padding: the pipelines
            must be checked first, by ``custom_hooks =
            [dict(type='TeacherFeatureCacheHook')]`` in a runner or by
            ``distiller.teacher_cache.check_pipeline(pipeline)``. Defaults to
            None (no cache).
        allow_random_teacher (bool): Accept a teacher without pretrained
            weights (tests and the CPU quick start only); a warning is logged.
        allow_random_student (bool): Accept a LoRA student without
            pretrained weights (its adapters then train on frozen random
            weights; tests and the CPU quick start only); a warning is
            logged. Without it a ``student_lora`` student whose config
            loads no ``Pretrained`` checkpoint is an error.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='PairedDataPreprocessor')``.
        init_cfg (dict, optional): Initialisation config of the distiller.
    """

    teacher_weights_hint = (
        "Point model.teacher.init_cfg at the teacher's weights, e.g. "
        '--cfg-options model.teacher.init_cfg.type=Pretrained '
        'model.teacher.init_cfg.checkpoint='
        'checkpoints/dinov2_vitl14_reg4_pretrain.pth (a DINOv2 file in '
        'official, timm or Hugging Face layout),')

    def __init__(self,
                 teacher: dict,
                 student: dict,
                 distill_pairs: Sequence[dict],
                 loss: dict = dict(type='FreqDecoupledLoss'),
                 student_lora: Optional[dict] = None,
                 teacher_dtype: str = 'auto',
                 teacher_feature_cache: Optional[dict] = None,
                 allow_random_teacher: bool = False,
                 allow_random_student: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PairedDataPreprocessor')
        super().__init__(
            teacher=teacher,
            student=student,
            student_lora=student_lora,
            teacher_dtype=teacher_dtype,
            allow_random_teacher=allow_random_teacher,
            allow_random_student=allow_random_student,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not distill_pairs:
            raise ValueError('model.distill_pairs is empty: name at least one '
                             'teacher/student layer pair')
        self.distill_pairs = parse_feature_pairs(distill_pairs,
                                                 'model.distill_pairs')
        self.connectors = build_connectors(self.distill_pairs)
        if loss.get('reduction', 'mean') != 'mean':
            raise ValueError(
                f"model.loss.reduction={loss['reduction']!r}: "
                f'{type(self).__name__} sets the reduction of its loss '
                "itself ('mean' for training, 'none' for the per-sample "
                'validation losses); leave model.loss.reduction out')
        self.feature_loss = MODELS.build({**loss, 'reduction': 'mean'})
        if getattr(self.feature_loss, 'loss_weight', None) == 0:
            raise ValueError(
                'model.loss.loss_weight=0: every distillation loss would be '
                '0 and the student would not train; give a weight > 0')
        self.per_sample_feature_loss = MODELS.build({
            **loss, 'reduction': 'none'
        })
        self.teacher_cache = None if teacher_feature_cache is None else \
            TeacherFeatureCache(**teacher_feature_cache)

    # ---------------------------------------------------------------- forward
    def run_teacher(self, rgb: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Teacher maps of the RGB batch (B, 3, H, W) in the dtype the
        teacher returns under :meth:`teacher_autocast`."""
        with torch.no_grad(), self.teacher_autocast(rgb.device):
            return tuple(self.teacher(rgb))

    def extract_teacher_feats(
            self,
            rgb: torch.Tensor,
            data_samples: Optional[list] = None) -> Tuple[torch.Tensor, ...]:
        """Teacher maps of the RGB batch, in float32.

        With a teacher feature cache and ``data_samples`` (whose metainfo
        gives the cache keys), only the samples not cached yet go through
        the teacher.

        Args:
            rgb (Tensor): Normalised RGB images (B, 3, H, W).
            data_samples (list, optional): The batch's data samples; needed
                to use the cache.

        Returns:
            tuple[Tensor]: One (B, C_t, H_t, W_t) map per teacher output.
        """
        cache = self.teacher_cache
        if cache is None or data_samples is None:
            return tuple(f.float() for f in self.run_teacher(rgb))
        if not cache.pipeline_checked:
            raise RuntimeError(
                'model.teacher_feature_cache is set but no data pipeline was '
                'checked for it: add custom_hooks = [dict(type='
                "'TeacherFeatureCacheHook')] to the config, or call "
                'distiller.teacher_cache.check_pipeline(pipeline)')
        if len(data_samples) != rgb.shape[0]:
            raise ValueError(f'{len(data_samples)} data samples for a batch '
                             f'of {rgb.shape[0]} RGB images')
        keys = [cache.key(sample.metainfo) for sample in data_samples]
        entries = cache.lookup(keys)
        missing = [i for i, entry in enumerate(entries) if entry is None]
        if len(missing) == len(keys):
            feats = self.run_teacher(rgb)
            cache.store(keys, feats)
            return tuple(f.float() for f in feats)
        if missing:
            feats = self.run_teacher(rgb[missing])
            cache.store([keys[i] for i in missing], feats)
            for row, index in enumerate(missing):
                entries[index] = tuple(f[row] for f in feats)
        return tuple(
            torch.stack([
                entry[level].to(rgb.device, torch.float32, non_blocking=True)
                for entry in entries
            ]) for level in range(len(entries[0])))

    def extract_student_feats(self, ir: torch.Tensor) -> Tuple[torch.Tensor]:
        """Student maps of the IR batch (B, C_ir, H, W)."""
        return tuple(self.student(ir))

    def compute_losses(self,
                       inputs: Dict[str, torch.Tensor],
                       per_sample: bool = False,
                       data_samples: Optional[list] = None
                       ) -> Dict[str, torch.Tensor]:
        """Distillation losses of a paired batch.

        The feature losses run in float32 with autocast disabled, whatever
        precision the models ran in.

        Args:
            inputs (dict): ``rgb`` (B, 3, H, W) and ``ir`` (B, C_ir, H, W).
            per_sample (bool): Return (B,) losses instead of scalars.
            data_samples (list, optional): The batch's data samples; needed
                by the teacher feature cache.

        Returns:
            dict[str, Tensor]: ``loss_<pair>_<term>`` for every pair and term.
        """
        teacher_feats = self.extract_teacher_feats(inputs['rgb'],
                                                   data_samples)
        student_feats = self.extract_student_feats(inputs['ir'])
        loss_fn = self.per_sample_feature_loss if per_sample \
            else self.feature_loss
        with autocast_disabled(inputs['ir'].device):
            return feature_pair_losses(
                self.distill_pairs, self.connectors, loss_fn,
                tuple(f.float() for f in student_feats), teacher_feats)

    def loss(self,
             inputs: Dict[str, torch.Tensor],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Training losses of a paired batch (``forward(mode='loss')``).

        Args:
            inputs (dict): ``rgb`` (B, 3, H, W) and ``ir`` (B, C_ir, H, W).
            data_samples (list, optional): The batch's data samples (keys of
                the teacher feature cache, if any).

        Returns:
            dict[str, Tensor]: Scalar ``loss_<pair>_<term>`` per pair and
            term.
        """
        return self.compute_losses(inputs, data_samples=data_samples)

    def predict(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[list] = None) -> List[dict]:
        """Per-image losses for validation (``forward(mode='predict')``).

        Args:
            inputs (dict): ``rgb`` (B, 3, H, W) and ``ir`` (B, C_ir, H, W).
            data_samples (list, optional): The batch's data samples.

        Returns:
            list[dict]: For each image, its ``loss_<pair>_<term>`` values
            (0-dim tensors), consumed by :class:`DistillationLossMetric`.
        """
        losses = self.compute_losses(
            inputs, per_sample=True, data_samples=data_samples)
        return [{k: v[i].detach() for k, v in losses.items()}
                for i in range(inputs['ir'].shape[0])]

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> ForwardResults:
        """Run the distiller.

        Args:
            inputs (dict): ``rgb`` (B, 3, H, W) and ``ir`` (B, C_ir, H, W)
                from :class:`PairedDataPreprocessor`.
            data_samples (list, optional): Data samples of the batch; their
                metainfo keys the teacher feature cache, if any.
            mode (str): ``'loss'``: dict of scalar losses for training;
                ``'predict'``: one dict of per-sample losses for each image,
                consumed by :class:`DistillationLossMetric` in validation;
                ``'tensor'``: the student's maps of the IR batch.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_student_feats(inputs['ir'])
        raise ValueError(f"Invalid mode {mode!r}: use 'loss', 'predict' or "
                         "'tensor'")
