# MFNet, thermal only: 9-class semantic segmentation (unlabelled included).
# LoadRGBTFromPNG reads the 4-channel PNG and keeps the thermal channel,
# replicated to 3 channels for backbones with an RGB stem; a plain
# LoadImageFromFile would silently drop the thermal channel.
dataset_type = 'MFNetDataset'
data_root = 'data/mfnet/'

train_pipeline = [
    dict(type='LoadRGBTFromPNG', ir_channels=3, with_rgb=False),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadRGBTFromPNG', ir_channels=3, with_rgb=False),
    dict(type='LoadAnnotations'),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                   'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                   'reduce_zero_label', 'is_night')),
]

train_dataloader = dict(
    batch_size=8,  # per GPU, as in the paper's linear probe
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
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

# mIoU over the 9 classes, unlabelled included, plus mIoU_day / mIoU_night
val_evaluator = dict(type='MFNetIoUMetric')
test_evaluator = val_evaluator
