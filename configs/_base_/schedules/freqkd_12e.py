# FreqKD Stage 1 (paper): AdamW 2e-4, weight decay 1e-4, gradient clipping
# 1.0, 500-iteration linear warm-up, cosine to 1e-7 over 12 epochs.
max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=500),
    dict(type='CosineAnnealingLR', eta_min=1e-7, begin=0, end=max_epochs,
         T_max=max_epochs, by_epoch=True, convert_to_iter_based=True),
]

# The paper trains on 4 GPUs x 8 images.
auto_scale_lr = dict(enable=False, base_batch_size=32)
