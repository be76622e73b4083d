# Stage 2 on FLIR aligned, FreqKD: flir_dino_vitl_baseline.py with the
# backbone initialised from the FreqKD Stage-1 student trained on FLIR pairs.
# Paper: +2.1 AP@0.5 over the baseline. Write the student checkpoint with
#   python tools/model_converters/export_student.py \
#       configs/freqkd/flir_vit.py work_dirs/flir_vit/epoch_12.pth \
#       checkpoints/freqkd_flir_vitl_student.pth --lora-scale 0.5
_base_ = ['./flir_dino_vitl_baseline.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/freqkd_flir_vitl_student.pth',
            prefix='backbone.')))
