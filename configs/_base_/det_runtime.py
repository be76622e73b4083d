# Runtime of the MMDetection Stage-2 (transfer) configs: the mmdet scope, its
# visualizer, a visualization hook (turned on by tools/test.py --show-dir)
# that keeps the images' sub-folders (KAIST repeats frame names in every
# set/video), and the checkpoint with the best AP@0.5 kept.
_base_ = ['./default_runtime.py']

default_scope = 'mmdet'
default_hooks = dict(
    checkpoint=dict(save_best='coco/bbox_mAP_50', rule='greater'),
    visualization=dict(type='SubfolderDetVisualizationHook'))
visualizer = dict(
    type='DetLocalVisualizer',
    vis_backends={{_base_.vis_backends}})
