# Step 2 of the paired crop task: FreqKD on features and FiGKD on logits at
# once. The frozen RGB teacher (flir_crops_rgb_teacher.py) sees the RGB crop,
# the IR student the IR crop of the same box. Losses, all logged:
#   loss_cls                      student CE with the labels
#   loss_figkd                    FiGKD on the 4 logits (1-level Haar, KL, T=4)
#   loss_c3_low / loss_c3_high    FreqKD on stage 2 (stride 2) maps
#   loss_c4_low / loss_c4_high    FreqKD on stage 3 (stride 4)
#   loss_c5_low / loss_c5_high    FreqKD on stage 4 (stride 8)
# FreqKD terms: standardised maps, centred-rectangle FFT split at cutoff 0.5,
# MSE on the low band plus 0.1 x log-MSE on the high band; 1x1-conv
# connectors lift the half-width student maps to the teacher's channels.
_base_ = [
    '../_base_/models/flir_crops_resnets.py',
    '../_base_/datasets/flir_crops_paired_cls.py',
    '../_base_/schedules/flir_crops_sgd_30e.py',
    '../_base_/figkd_runtime.py',
]

teacher_checkpoint = 'work_dirs/flir_crops_rgb_teacher/epoch_30.pth'
teacher_channels = (64, 128, 256, 512)
student_channels = (32, 64, 128, 256)
distilled_stages = (1, 2, 3)

model = dict(
    type='LogitDistiller',
    data_preprocessor=dict(
        type='PairedDataPreprocessor',
        rgb_mean=[123.675, 116.28, 103.53],
        rgb_std=[58.395, 57.12, 57.375],
        ir_mean=[123.675, 116.28, 103.53],
        ir_std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    teacher=dict(
        _base_.rgb_teacher,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    student=_base_.ir_student,
    teacher_input='rgb',
    student_input='ir',
    distill_loss=dict(
        type='FiGKDLoss',
        wavelet='haar',
        levels=1,
        temperature=4.0,
        distance='kl',
        loss_weight=1.0),
    feature_pairs=[
        dict(
            name=f'c{stage + 2}',
            teacher_index=stage,
            student_index=stage,
            weight=1.0,
            connector=dict(
                type='FeatureConnector',
                in_channels=student_channels[stage],
                out_channels=teacher_channels[stage]))
        for stage in distilled_stages
    ],
    feature_loss=dict(
        type='FreqDecoupledLoss',
        splitter=dict(type='FFTRectSplitter', cutoff=0.5),
        low_weight=1.0,
        high_weight=0.1,
        low_distance='mse',
        high_distance='log_mse',
        standardize=True),
    teacher_dtype='auto',
    allow_random_teacher=False)
