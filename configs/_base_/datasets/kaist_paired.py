# KAIST RGB-IR pairs for FreqKD Stage 1 (distillation needs no annotations).
# Each sample: the LWIR image (``img``, student input) and the visible image
# of the same frame (``img_rgb``, teacher input) with identical geometry.
# Resize/RandomFlip resolve in the default scope of the top-level config
# (``default_scope = 'mmdet'``).
dataset_type = 'KAISTDataset'
data_root = 'data/kaist/'
backend_args = None

train_pipeline = [
    # KAIST stores LWIR as 3-channel grey JPEG; keep 3 channels for a
    # student with an RGB patch embedding (ViT), ir_channels=1 otherwise.
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
    batch_size=8,  # per GPU; the paper trains on 4 GPUs x 8
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train-all-02.json',
        data_prefix=dict(img='images/'),
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
        ann_file='annotations/test-all-20.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=False),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
