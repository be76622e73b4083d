# KAIST, infrared only: LWIR images and `person` boxes for detectors
# (Stage 2 transfer and baselines). `people` / `cyclist` / `person?` boxes
# are ignore regions (`ignored_instances`). Annotation files are written by
# tools/dataset_converters/kaist_to_coco.py (see the README). Frames without
# people are kept: they are the negatives the miss rate (FPPI) counts.
dataset_type = 'KAISTDataset'
data_root = 'data/kaist/'
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(640, 512), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(640, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'is_night', 'frame')),
]

train_dataloader = dict(
    batch_size=2,  # per GPU, the paper's DINO setting
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train-all-02.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test-all-20.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# COCO bbox (`coco/bbox_mAP_50` is the paper's AP@0.5) and the KAIST
# log-average miss rate (`kaist/MR_all`, `_day`, `_night`, percent).
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/test-all-20.json',
        metric='bbox',
        format_only=False),
    dict(
        type='KAISTMissRateMetric',
        ann_file=data_root + 'annotations/test-all-20.json'),
]
test_evaluator = val_evaluator
