# Runtime of the MMDetection Stage-2 (transfer) configs: the mmdet scope, its
# visualizer and visualization hook (turned on by tools/test.py --show-dir),
# and the checkpoint with the best AP@0.5 kept.
_base_ = ['./default_runtime.py']

default_scope = 'mmdet'
default_hooks = dict(
    checkpoint=dict(save_best='coco/bbox_mAP_50', rule='greater'),
    visualization=dict(type='DetVisualizationHook'))
visualizer = dict(
    type='DetLocalVisualizer',
    vis_backends={{_base_.vis_backends}})
