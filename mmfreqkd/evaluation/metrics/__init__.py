"""Metrics: KAIST miss rate, MFNet mIoU, distillation losses."""
from .distillation_loss_metric import DistillationLossMetric
from .kaist_miss_rate import KAISTMissRateMetric
from .mfnet_iou import MFNetIoUMetric

__all__ = ['DistillationLossMetric', 'KAISTMissRateMetric', 'MFNetIoUMetric']
