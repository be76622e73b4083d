# Stage 2 on KAIST across architectures, baseline: MMDetection's Faster R-CNN
# R50-FPN (1x schedule: SGD 0.02 for 16 images, 12 epochs, steps at 8 and 11)
# with the ResNet-50 initialised from ImageNet, trained on infrared only (one
# class, person). Paper: the FreqKD-initialised R50
# (kaist_faster_rcnn_r50_fpn_freqkd.py) gains 1.0 AP@0.5 over this baseline.
# Not given by the paper: the schedule; the 1x is MMDetection's default.
#
# ImageNet weights come from `torchvision://resnet50`; offline, put
# resnet50-0676ba61.pth into ~/.cache/torch/hub/checkpoints/ (or point
# model.backbone.init_cfg.checkpoint at the file). With another total batch
# than 16 (e.g. 4 GPUs x 2), add --auto-scale-lr to tools/train.py.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/kaist_ir_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../_base_/det_runtime.py',
]

model = dict(
    # mmdet's ImageNet init, checked (CheckedPretrained, mmfreqkd): a file
    # that lacks any ResNet weight is an error; torchvision's fc. only warns
    backbone=dict(
        init_cfg=dict(
            type='CheckedPretrained', checkpoint='torchvision://resnet50')),
    roi_head=dict(bbox_head=dict(num_classes=1)))
