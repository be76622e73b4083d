# Stage 2 on KAIST across architectures, FreqKD:
# kaist_faster_rcnn_r50_fpn_baseline.py with the ResNet-50 initialised from
# the FreqKD Stage-1 R50 student (ViT-L teacher blocks 7, 15, 21, 23 ->
# C2-C5). Paper: +1.0 AP@0.5 over the baseline. Write the student
# checkpoint (mmdet ResNet keys) with
#   python tools/model_converters/export_student.py \
#       configs/freqkd/kaist_r50.py work_dirs/kaist_r50/epoch_12.pth \
#       checkpoints/freqkd_kaist_r50_student.pth
_base_ = ['./kaist_faster_rcnn_r50_fpn_baseline.py']

model = dict(
    backbone=dict(
        # checked: a file that lacks any ResNet weight under `backbone.`
        # (e.g. the ViT student export) is an error, not a random backbone
        init_cfg=dict(
            type='CheckedPretrained',
            checkpoint='checkpoints/freqkd_kaist_r50_student.pth',
            prefix='backbone.')))
