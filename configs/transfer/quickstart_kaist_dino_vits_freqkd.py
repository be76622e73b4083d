# CPU Stage-2 smoke run after the quick start: kaist_dino_vitl_freqkd.py with
# the quick-start ViT-S/14 student (checkpoints/quickstart_student.pth,
# written by the quick start's export step) on the synthetic KAIST set at its
# own 320x256 size, 100 queries, one epoch. Five levels from ViT-S blocks 3,
# 5, 7, 9 and 11 (384 channels); everything else (detector, pipelines,
# metrics, schedule, runtime) is the main config's.
_base_ = ['./kaist_dino_vitl_freqkd.py']

data_root = 'data/kaist_synthetic/'
vit_blocks = (3, 5, 7, 9, 11)

model = dict(
    backbone=dict(
        arch='small',
        num_register_tokens=0,
        out_indices=vit_blocks,
        init_cfg=dict(checkpoint='checkpoints/quickstart_student.pth')),
    neck=dict(in_channels=[384] * len(vit_blocks)),
    num_queries=100,
    # one class: at most num_queries detections per image (DINO's top-k)
    test_cfg=dict(max_per_img=100))

image_size = (320, 256)
train_pipeline = [
    dict(step, scale=image_size) if step.type == 'Resize' else step
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, scale=image_size) if step.type == 'Resize' else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(metric, ann_file=data_root + 'annotations/test-all-20.json')
    for metric in _base_.val_evaluator
]
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=5))
