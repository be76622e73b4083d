# Stage-2 DINO fine-tuning (FreqKD paper): AdamW 5e-5 (weight decay 1e-4, the
# DINO default), backbone learning rate x0.1, gradient clipping at 0.1,
# 12 epochs with one x0.1 step after epoch 11.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[11],
        gamma=0.1)
]

# The paper gives 2 images per GPU; 8 assumes the 4 GPUs of Stage 1.
# `tools/train.py --auto-scale-lr` rescales the learning rate to your total.
auto_scale_lr = dict(enable=False, base_batch_size=8)
