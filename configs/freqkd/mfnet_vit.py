# FreqKD Stage 1 on MFNet: RGB and thermal channels of the same 4-channel PNG.
_base_ = [
    '../_base_/models/freqkd_vit_l.py',
    '../_base_/datasets/mfnet_paired.py',
    '../_base_/schedules/freqkd_12e.py',
    '../_base_/freqkd_runtime.py',
]

default_scope = 'mmseg'
