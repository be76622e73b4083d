# Stage 2 on KAIST, FreqKD, ViTDet-style variant:
# kaist_dino_vitl_sfp_baseline.py with the backbone initialised from the
# FreqKD Stage-1 student (see kaist_dino_vitl_freqkd.py for the export
# command).
_base_ = ['./kaist_dino_vitl_sfp_baseline.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/freqkd_kaist_vitl_student.pth',
            prefix='backbone.')))
