# FLIR ADAS aligned subset, thermal only: person / car / bicycle boxes for
# detectors. Annotation files are written by
# tools/dataset_converters/flir_aligned_to_coco.py (see the README). The
# pipelines and loader settings are those of KAIST, without its day / night
# and frame meta keys; the metric is COCO bbox alone (no miss rate).
_base_ = './kaist_ir_detection.py'

dataset_type = 'FLIRAlignedDataset'
data_root = 'data/flir_aligned/'

test_pipeline = _base_.test_pipeline[:-1] + [
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
val_evaluator = dict(
    _delete_=True,  # replaces KAIST's list (COCO + miss rate)
    type='CocoMetric',
    ann_file=data_root + 'annotations/align_validation.json',
    metric='bbox',
    format_only=False,
    backend_args={{_base_.backend_args}})
test_evaluator = val_evaluator
