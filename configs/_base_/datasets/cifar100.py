# CIFAR-100 for the FiGKD experiments, read by MMPretrain's CIFAR100 from the
# standard Python archive extracted under data/cifar100/:
#   data/cifar100/cifar-100-python/{train,test,meta}
# (https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz). download=False:
# nothing is fetched; MMPretrain checks the md5 of the files.
# Augmentation and statistics of the usual distillation benchmark (CRD,
# mdistiller): 4-pixel padded random 32x32 crop, horizontal flip.
dataset_type = 'CIFAR100'
data_root = 'data/cifar100/'

# The images are stored RGB; mean / std of the CIFAR-100 training set.
data_preprocessor = dict(
    num_classes=100,
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        download=False,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        download=False,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
