"""Metrics: KAIST miss rate, MFNet mIoU, distillation losses."""
from .distillation_loss_metric import DistillationLossMetric

__all__ = ['DistillationLossMetric']
