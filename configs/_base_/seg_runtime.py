# Runtime of the MMSegmentation Stage-2 (transfer) configs: the mmseg scope,
# its visualizer, a visualization hook that draws on MFNet's thermal channel
# (turned on by tools/test.py --show-dir; every `interval`-th batch), and the
# checkpoint with the best mIoU kept.
_base_ = ['./default_runtime.py']

default_scope = 'mmseg'
default_hooks = dict(
    checkpoint=dict(save_best='mIoU', rule='greater'),
    visualization=dict(type='ThermalSegVisualizationHook', interval=1))
visualizer = dict(
    type='SegLocalVisualizer',
    vis_backends={{_base_.vis_backends}})
