# Stage 2 on MFNet, FreqKD: mfnet_linear_probe_vitl_baseline.py with the
# frozen backbone initialised from the FreqKD Stage-1 student trained on
# MFNet's RGB-thermal pairs. Paper: +1.85 mIoU over the baseline. Write the
# student checkpoint with
#   python tools/model_converters/export_student.py \
#       configs/freqkd/mfnet_vit.py work_dirs/mfnet_vit/epoch_12.pth \
#       checkpoints/freqkd_mfnet_vitl_student.pth --lora-scale 0.5
_base_ = ['./mfnet_linear_probe_vitl_baseline.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/freqkd_mfnet_vitl_student.pth',
            prefix='backbone.')))
