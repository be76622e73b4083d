# MFNet RGB-thermal pairs for FreqKD Stage 1 (no labels needed). Each MFNet
# PNG holds B, G, R and thermal; LoadRGBTFromPNG splits it into ``img``
# (thermal, student input) and ``img_rgb`` (teacher input). Resize /
# RandomFlip resolve in the default scope of the top-level config
# (``default_scope = 'mmseg'``).
dataset_type = 'MFNetDataset'
data_root = 'data/mfnet/'

train_pipeline = [
    dict(type='LoadRGBTFromPNG', ir_channels=3, with_rgb=True),
    dict(
        type='PairedGeometric',
        transforms=[
            dict(type='Resize', scale=(640, 480), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackPairedSegInputs'),
]
test_pipeline = [
    dict(type='LoadRGBTFromPNG', ir_channels=3, with_rgb=True),
    dict(
        type='PairedGeometric',
        transforms=[dict(type='Resize', scale=(640, 480), keep_ratio=True)]),
    dict(type='PackPairedSegInputs'),
]

train_dataloader = dict(
    batch_size=8,  # per GPU; the paper trains on 4 GPUs x 8
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='test.txt'))
