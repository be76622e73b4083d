"""Hooks of the mmengine runner."""
from .teacher_feature_cache_hook import TeacherFeatureCacheHook

__all__ = ['TeacherFeatureCacheHook']
