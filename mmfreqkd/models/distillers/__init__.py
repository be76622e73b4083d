"""Distillers: FreqKD feature distillation and logit distillation."""
from .base_distiller import BaseDistiller
from .freqkd_distiller import FreqKDDistiller

__all__ = ['BaseDistiller', 'FreqKDDistiller']
