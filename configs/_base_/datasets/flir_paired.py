# FLIR ADAS aligned RGB-thermal pairs for FreqKD Stage 1 (no annotations
# needed). ``img`` is the thermal preview image (student input), ``img_rgb``
# the aligned RGB image (teacher input); geometry is shared. Resize /
# RandomFlip resolve in the default scope of the top-level config
# (``default_scope = 'mmdet'``).
dataset_type = 'FLIRAlignedDataset'
data_root = 'data/flir_aligned/'
backend_args = None

train_pipeline = [
    dict(
        type='LoadPairedImageFromFile',
        ir_channels=3,
        backend_args=backend_args),
    dict(
        type='PairedGeometric',
        transforms=[
            dict(type='Resize', scale=(640, 512), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackPairedDetInputs'),
]
test_pipeline = [
    dict(
        type='LoadPairedImageFromFile',
        ir_channels=3,
        backend_args=backend_args),
    dict(
        type='PairedGeometric',
        transforms=[dict(type='Resize', scale=(640, 512), keep_ratio=True)]),
    dict(type='PackPairedDetInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_train.json',
        data_prefix=dict(img='JPEGImages/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_validation.json',
        data_prefix=dict(img='JPEGImages/'),
        filter_cfg=dict(filter_empty_gt=False),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
