# Runtime of the classification (FiGKD / KD) configs: MMPretrain scope,
# validation by top-1 accuracy of the (student) classifier, and the
# checkpoint with the best top-1 kept.
_base_ = ['./default_runtime.py']

default_scope = 'mmpretrain'
visualizer = dict(
    type='UniversalVisualizer', vis_backends={{_base_.vis_backends}})
default_hooks = dict(
    checkpoint=dict(save_best='accuracy/top1', rule='greater'),
    # draws the IR image of paired inputs, every `interval`-th sample; off
    # in training, tools/test.py --show/--show-dir switch it on
    visualization=dict(
        type='PairedClsVisualizationHook', enable=False, interval=5000))
