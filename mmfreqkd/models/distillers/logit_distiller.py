"""Logit distillation between two MMPretrain classifiers (FiGKD, KD)."""
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import MODELS
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller
from .feature_pairs import (build_connectors, feature_pair_losses,
                            parse_feature_pairs)

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]
ForwardResults = Union[Dict[str, torch.Tensor], List[DataSample],
                       torch.Tensor]


def logit_loss_name(loss: nn.Module) -> str:
    """Log name of a logit loss: ``loss_`` and its class name without the
    ``Loss`` suffix, lower case (``FiGKDLoss`` -> ``loss_figkd``)."""
    return 'loss_' + re.sub('Loss$', '', type(loss).__name__).lower()


@MODELS.register_module()
class LogitDistiller(BaseDistiller):
    """Distil a frozen teacher classifier into a student classifier.

    Both models are MMPretrain :class:`ImageClassifier` s (backbone, optional
    neck, head). The training loss is the sum of

    * ``loss_cls``: the student's own classification loss, computed by its
      head from the labels of the data samples (``gt_label``, or the
      ``gt_score`` of batch augmentations such as Mixup), with the head's
      loss config and weight;
    * ``loss_<name>``: the logit loss ``distill_loss`` between the student's
      and the teacher's logits, named after its class (``FiGKDLoss`` ->
      ``loss_figkd``, ``KDLoss`` -> ``loss_kd``);
    * optionally, feature losses on pairs of backbone outputs
      (``feature_pairs`` with ``feature_loss``, e.g. FreqKD's band-split
      loss), logged as ``loss_<pair name>_<term>``, e.g. ``loss_stage3_low``.

    The head's other outputs (e.g. ``accuracy_top-1`` with ``cal_acc``) are
    logged too. The teacher is frozen and never checkpointed (see
    :class:`BaseDistiller`): a checkpoint holds the student, its buffers and
    the connectors.

    Inputs: a single batch tensor (B, C, H, W), as produced by MMPretrain's
    ``ClsDataPreprocessor``, goes to both models (leave ``teacher_input``
    and ``student_input`` None). A paired batch ``dict(rgb=..., ir=...)``
    from :class:`PairedDataPreprocessor` is routed by ``teacher_input`` and
    ``student_input`` (e.g. ``'rgb'`` and ``'ir'``).

    ``predict`` mode returns the student's predictions (MMPretrain
    :class:`DataSample` with ``pred_score`` and ``pred_label``), so
    MMPretrain's ``Accuracy`` metric evaluates the student; ``tensor`` mode
    returns its logits (B, num_classes).

    The ``data_preprocessor`` of the distiller prepares the batch; those
    inside the teacher and student configs are not used.

    Args:
        teacher (dict): Config of the teacher classifier (e.g.
            ``type='ImageClassifier'`` in the ``mmpretrain`` scope), with
            ``init_cfg=dict(type='Pretrained', checkpoint=...)`` pointing at
            a checkpoint of that classifier (e.g. one trained by MMPretrain)
            unless ``allow_random_teacher`` is set.
        student (dict): Config of the student classifier. Its head must be
            an MMPretrain ``ClsHead`` (``LinearClsHead``, ...).
        distill_loss (dict): Config of the logit loss: ``FiGKDLoss``,
            ``KDLoss`` or any loss called as ``loss(student_logits,
            teacher_logits)`` on (B, num_classes) logits that returns a
            scalar.
        teacher_input (str, optional): Key of the teacher's images in a
            paired batch. None (default) for a single-tensor batch.
        student_input (str, optional): Key of the student's images in a
            paired batch. None (default) for a single-tensor batch.
        feature_pairs (Sequence[dict]): Pairs of backbone outputs to distil
            too, as in :class:`FreqKDDistiller` (``name``, ``teacher_index``,
            ``student_index``, ``weight``, ``connector``); indices refer to
            the backbones' ``out_indices`` tuples. Defaults to none.
        feature_loss (dict, optional): Config of the feature loss, required
            with ``feature_pairs`` (e.g. ``dict(type='FreqDecoupledLoss')``);
            it returns a dict of ``loss_*`` terms.
        teacher_dtype (str): Precision of the teacher forward, see
            :class:`BaseDistiller`. Defaults to ``'auto'``.
        allow_random_teacher (bool): Accept a teacher without pretrained
            weights (tests only). Defaults to False.
        data_preprocessor (dict, optional): Config of the data
            preprocessor. Without a ``type`` (or None) it is MMPretrain's
            ``ClsDataPreprocessor`` for single-tensor batches and
            :class:`PairedDataPreprocessor` when the inputs are routed.
        init_cfg (dict, optional): Initialisation config of the distiller.
    """

    teacher_weights_hint = (
        'Train the teacher classifier first (e.g. configs/figkd/'
        'cifar100_resnet28x4_teacher.py) and point '
        'model.teacher.init_cfg.checkpoint at its checkpoint,')

    def __init__(self,
                 teacher: dict,
                 student: dict,
                 distill_loss: dict,
                 teacher_input: Optional[str] = None,
                 student_input: Optional[str] = None,
                 feature_pairs: Sequence[dict] = (),
                 feature_loss: Optional[dict] = None,
                 teacher_dtype: str = 'auto',
                 allow_random_teacher: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if (teacher_input is None) != (student_input is None):
            raise ValueError(
                'model.teacher_input and model.student_input must both be set '
                '(paired batches, e.g. teacher_input=\'rgb\', '
                "student_input='ir') or both be None (one batch tensor for "
                f'both), got teacher_input={teacher_input!r}, '
                f'student_input={student_input!r}')
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            # As MMPretrain's ImageClassifier: a config without a type (e.g.
            # the top-level data_preprocessor of a dataset config) gets the
            # default one.
            data_preprocessor = dict(data_preprocessor or {})
            data_preprocessor.setdefault(
                'type', 'mmpretrain.ClsDataPreprocessor'
                if teacher_input is None else 'PairedDataPreprocessor')
        super().__init__(
            teacher=teacher,
            student=student,
            teacher_dtype=teacher_dtype,
            allow_random_teacher=allow_random_teacher,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        for role, model in (('teacher', self.teacher),
                            ('student', self.student)):
            if not isinstance(model, ImageClassifier) or not model.with_head:
                raise TypeError(
                    f'model.{role} must be an MMPretrain ImageClassifier with '
                    f'a head, got {type(model).__name__}')
        if not isinstance(self.student.head, ClsHead):
            raise TypeError(
                'model.student.head must be an MMPretrain ClsHead (e.g. '
                'LinearClsHead), whose loss gives loss_cls; got '
                f'{type(self.student.head).__name__}')
        self.teacher_input = teacher_input
        self.student_input = student_input

        self.distill_loss = MODELS.build(distill_loss)
        self.distill_loss_name = logit_loss_name(self.distill_loss)

        self.feature_pairs = parse_feature_pairs(feature_pairs,
                                                 'model.feature_pairs')
        if self.feature_pairs and feature_loss is None:
            raise ValueError('model.feature_pairs is set but '
                             'model.feature_loss is None; give the feature '
                             "loss, e.g. dict(type='FreqDecoupledLoss')")
        if feature_loss is not None and not self.feature_pairs:
            raise ValueError('model.feature_loss is set but '
                             'model.feature_pairs is empty; name the '
                             'teacher/student backbone outputs to distil')
        self.connectors = build_connectors(self.feature_pairs)
        self.feature_loss = None if feature_loss is None else \
            MODELS.build(feature_loss)

    # ---------------------------------------------------------------- inputs
    def _select_input(self, inputs: Inputs, role: str) -> torch.Tensor:
        """The images of the teacher or the student in a batch.

        Args:
            inputs (Tensor | dict): (B, C, H, W) batch, or a dict of them.
            role (str): ``'teacher'`` or ``'student'``.

        Returns:
            Tensor: (B, C, H, W).
        """
        key = getattr(self, f'{role}_input')
        if isinstance(inputs, dict):
            if key is None:
                raise ValueError(
                    f'LogitDistiller: the batch is a dict with keys '
                    f'{sorted(inputs)} but model.{role}_input is None; set '
                    'model.teacher_input and model.student_input to the '
                    "keys each model reads (e.g. 'rgb' and 'ir')")
            if key not in inputs:
                raise KeyError(
                    f'LogitDistiller: model.{role}_input={key!r} is not a key '
                    f'of the batch, which has {sorted(inputs)}')
            return inputs[key]
        if key is not None:
            raise ValueError(
                f'LogitDistiller: model.{role}_input={key!r} but the batch is '
                'a single tensor; set both inputs to None, or use a paired '
                'data preprocessor')
        return inputs

    # ---------------------------------------------------------------- forward
    @staticmethod
    def _backbone_and_logits(
            classifier: ImageClassifier,
            images: torch.Tensor) -> Tuple[Tuple[torch.Tensor, ...],
                                           torch.Tensor]:
        """Backbone outputs and logits of a classifier in one pass.

        Returns:
            tuple: The backbone outputs (tuple of (B, C_i, H_i, W_i) maps)
            and the logits (B, num_classes).
        """
        feats = tuple(classifier.extract_feat(images, stage='backbone'))
        pooled = classifier.neck(feats) if classifier.with_neck else feats
        return feats, classifier.head(pooled)

    def extract_teacher(
            self, images: torch.Tensor
    ) -> Tuple[Tuple[torch.Tensor, ...], torch.Tensor]:
        """Teacher backbone outputs and logits (B, num_classes), in float32,
        without gradients."""
        with torch.no_grad(), self.teacher_autocast(images.device):
            feats, logits = self._backbone_and_logits(self.teacher, images)
        return tuple(f.float() for f in feats), logits.float()

    def loss(self, inputs: Inputs,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Training losses of a batch.

        Args:
            inputs (Tensor | dict): The batch, see the class docstring.
            data_samples (list[DataSample]): Samples with ``gt_label`` (or
                ``gt_score``).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_<logit loss>``, the
            feature terms if any, and the head's other outputs.
        """
        if not data_samples:
            raise ValueError('LogitDistiller: mode="loss" needs the data '
                             'samples with the labels (gt_label)')
        teacher_feats, teacher_logits = self.extract_teacher(
            self._select_input(inputs, 'teacher'))
        student_feats, student_logits = self._backbone_and_logits(
            self.student, self._select_input(inputs, 'student'))

        head_outputs = self.student.head._get_loss(student_logits,
                                                   data_samples)
        losses = {'loss_cls': head_outputs.pop('loss')}
        losses.update(head_outputs)
        losses[self.distill_loss_name] = self.distill_loss(
            student_logits, teacher_logits)
        if self.feature_pairs:
            losses.update(
                feature_pair_losses(self.feature_pairs, self.connectors,
                                    self.feature_loss, student_feats,
                                    teacher_feats))
        return losses

    def forward(self,
                inputs: Inputs,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor') -> ForwardResults:
        """Run the distiller.

        Args:
            inputs (Tensor | dict): (B, C, H, W) batch for both models, or
                a paired batch routed by ``teacher_input`` /
                ``student_input``.
            data_samples (list[DataSample], optional): Labels (``'loss'``)
                or samples to fill with predictions (``'predict'``).
            mode (str): ``'loss'``: dict of losses; ``'predict'``: the
                student's predictions as :class:`DataSample` s;
                ``'tensor'``: the student's logits (B, num_classes).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.student.predict(
                self._select_input(inputs, 'student'), data_samples)
        if mode == 'tensor':
            return self.student(
                self._select_input(inputs, 'student'), mode='tensor')
        raise ValueError(f"Invalid mode {mode!r}: use 'loss', 'predict' or "
                         "'tensor'")
