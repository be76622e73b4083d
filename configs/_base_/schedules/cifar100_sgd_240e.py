# The CIFAR-100 distillation schedule of CRD / mdistiller (and of the KD and
# DKD numbers FiGKD compares with): SGD, lr 0.05 at batch 64, momentum 0.9,
# weight decay 5e-4, 240 epochs, lr x0.1 at epochs 150, 180 and 210.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)

train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# --auto-scale-lr rescales lr by (total batch size / 64).
auto_scale_lr = dict(base_batch_size=64)
