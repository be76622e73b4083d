"""Hooks of the mmengine runner."""
from .paired_cls_visualization_hook import PairedClsVisualizationHook
from .subfolder_det_visualization_hook import SubfolderDetVisualizationHook
from .teacher_feature_cache_hook import TeacherFeatureCacheHook
from .thermal_seg_visualization_hook import ThermalSegVisualizationHook

__all__ = [
    'PairedClsVisualizationHook', 'SubfolderDetVisualizationHook',
    'TeacherFeatureCacheHook', 'ThermalSegVisualizationHook'
]
