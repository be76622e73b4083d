# Stage 2 on MFNet, FreqKD, full fine-tuning: mfnet_upernet_vitl_baseline.py
# with the backbone initialised from the FreqKD Stage-1 student trained on
# MFNet (see mfnet_linear_probe_vitl_freqkd.py for the export command).
_base_ = ['./mfnet_upernet_vitl_baseline.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/freqkd_mfnet_vitl_student.pth',
            prefix='backbone.')))
