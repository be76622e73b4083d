# Paired RGB-IR classification built from FLIR aligned detection data: every
# person / car / bicycle box (sides >= 8 px) is one sample, plus one
# background crop per frame (class 'background', placed where no box is).
# Both images of a pair are cut to the same box made square and enlarged
# x1.2, then resized to 64x64 and flipped together. Reads the COCO JSON
# written by tools/dataset_converters/flir_aligned_to_coco.py (or by
# tools/dataset_converters/make_synthetic_rgbt.py --layout flir).
# ``inputs`` is dict(ir=..., rgb=...): batch it with PairedDataPreprocessor.

dataset_type = 'PairedObjectCropDataset'
data_root = 'data/flir_aligned/'
object_classes = ('person', 'car', 'bicycle')
crop_size = 64
backend_args = None

train_pipeline = [
    dict(
        type='LoadPairedImageFromFile',
        ir_channels=3,
        backend_args=backend_args),
    dict(type='CropPairedBox', context=1.2, square=True),
    dict(
        type='PairedGeometric',
        transforms=[
            dict(type='Resize', scale=(crop_size, crop_size),
                 keep_ratio=False),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        ]),
    dict(type='PackPairedClsInputs'),
]
test_pipeline = [
    dict(
        type='LoadPairedImageFromFile',
        ir_channels=3,
        backend_args=backend_args),
    dict(type='CropPairedBox', context=1.2, square=True),
    dict(
        type='PairedGeometric',
        transforms=[
            dict(type='Resize', scale=(crop_size, crop_size),
                 keep_ratio=False),
        ]),
    dict(type='PackPairedClsInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_train.json',
        data_prefix=dict(img='JPEGImages/'),
        object_classes=object_classes,
        num_background=1,
        min_size=8,
        pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'],
        ann_file='annotations/align_validation.json',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
