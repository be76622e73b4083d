# Stage 2 on KAIST, FreqKD: kaist_dino_vitl_baseline.py with the backbone
# initialised from the FreqKD Stage-1 student (LoRA merged at scale 0.5).
# Paper: 64.1 AP@0.5 (`coco/bbox_mAP_50`), +2.4 over the baseline. Write the
# student checkpoint with
#   python tools/model_converters/export_student.py \
#       configs/freqkd/kaist_vit.py work_dirs/kaist_vit/epoch_12.pth \
#       checkpoints/freqkd_kaist_vitl_student.pth --lora-scale 0.5
_base_ = ['./kaist_dino_vitl_baseline.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/freqkd_kaist_vitl_student.pth',
            prefix='backbone.')))
