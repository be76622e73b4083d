"""Cosine feature distillation loss (baseline)."""
from typing import Dict

import torch
from mmengine.registry import MODELS

from .base_feature_loss import BaseFeatureLoss
from .feature_distances import cosine_distance


@MODELS.register_module()
class FeatureCosineLoss(BaseFeatureLoss):
    """``1 - cosine similarity`` of the C-vectors at every position.

    Averaged over positions (and over the batch for ``'mean'``). A position
    whose student or teacher vector is zero contributes 1.

    Args:
        standardize (bool): Standardise both maps first (centring changes
            the directions; the position-wise normalisation alone would not).
            Default: True.
        loss_weight (float): Factor on the loss. Default: 1.0.
        reduction (str): ``'mean'`` or ``'none'`` (per sample, (B,)).
            Default: ``'mean'``.
    """

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Distance between two feature maps.

        Args:
            student (Tensor): Student map (B, C, H, W).
            teacher (Tensor): Teacher map, same shape.

        Returns:
            dict[str, Tensor]: ``loss_cosine``, a scalar or (B,) per sample.
        """
        student, teacher = self.prepare(student, teacher)
        loss = cosine_distance(student, teacher, self.reduction)
        return dict(loss_cosine=self.loss_weight * loss)
