# FreqKD Stage 1 on FLIR-aligned: the KAIST setting on FLIR's RGB-IR pairs.
_base_ = [
    '../_base_/models/freqkd_vit_l.py',
    '../_base_/datasets/flir_paired.py',
    '../_base_/schedules/freqkd_12e.py',
    '../_base_/freqkd_runtime.py',
]
