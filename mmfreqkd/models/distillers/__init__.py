"""Distillers: FreqKD feature distillation and logit distillation."""
from .base_distiller import BaseDistiller
from .freqkd_distiller import FreqKDDistiller
from .logit_distiller import LogitDistiller
from .teacher_feature_cache import TeacherFeatureCache

__all__ = [
    'BaseDistiller', 'FreqKDDistiller', 'LogitDistiller',
    'TeacherFeatureCache'
]
