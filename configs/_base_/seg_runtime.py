# Runtime of the MMSegmentation Stage-2 (transfer) configs: the mmseg scope,
# its visualizer and visualization hook (turned on by tools/test.py
# --show-dir), and the checkpoint with the best mIoU kept.
_base_ = ['./default_runtime.py']

default_scope = 'mmseg'
default_hooks = dict(
    checkpoint=dict(save_best='mIoU', rule='greater'),
    visualization=dict(type='SegVisualizationHook'))
visualizer = dict(
    type='SegLocalVisualizer',
    vis_backends={{_base_.vis_backends}})
