"""Plain feature-map MSE distillation loss (baseline)."""
from typing import Dict

import torch
from mmengine.registry import MODELS

from .base_feature_loss import BaseFeatureLoss
from .feature_distances import mse_distance


@MODELS.register_module()
class FeatureMSELoss(BaseFeatureLoss):
    """MSE between student and teacher maps, all frequencies together.

    The baseline of FreqKD's band split: the same standardisation, one
    distance on the whole map.

    Args:
        standardize (bool): Standardise both maps first. Default: True.
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
            dict[str, Tensor]: ``loss_mse``, a scalar or (B,) per sample.
        """
        student, teacher = self.prepare(student, teacher)
        loss = mse_distance(student, teacher, self.reduction)
        return dict(loss_mse=self.loss_weight * loss)
