"""Distillers: FreqKD feature distillation and logit distillation."""
from .freqkd_distiller import FreqKDDistiller

__all__ = ['FreqKDDistiller']
