# Stage-1 distillation runtime: validation reports the distillation losses
# per layer and band, and the checkpoint with the lowest total is kept.
_base_ = ['./default_runtime.py']

default_scope = 'mmdet'
visualizer = dict(
    type='Visualizer', vis_backends={{_base_.vis_backends}})
default_hooks = dict(
    checkpoint=dict(save_best='distill/loss', rule='less'))
# mmengine's LogProcessor smooths every key with 'loss' in its name over the
# window, validation metrics included; the validation losses of each epoch
# are logged as they are (the values save_best compares).
log_processor = dict(
    mean_pattern=r'^(?!distill/).*(loss|time|data_time|grad_norm).*')
val_evaluator = dict(type='DistillationLossMetric')
test_evaluator = val_evaluator
