# FLIR ADAS aligned subset, thermal only: person / car / bicycle boxes for
# detectors. Annotation files are written by
# tools/dataset_converters/flir_aligned_to_coco.py (see the README). The
# pipelines and loader settings are those of KAIST, without its day / night
# and frame meta keys.
_base_ = './kaist_ir_detection.py'

dataset_type = 'FLIRAlignedDataset'
data_root = 'data/flir_aligned/'

test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(640, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_train.json',
        data_prefix=dict(img='JPEGImages/')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_validation.json',
        data_prefix=dict(img='JPEGImages/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# AP@0.5 over the three classes is the `bbox_mAP_50` entry.
val_evaluator = dict(ann_file=data_root + 'annotations/align_validation.json')
test_evaluator = val_evaluator
