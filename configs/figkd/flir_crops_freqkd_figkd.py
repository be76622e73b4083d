# Step 2 of the paired crop task: FreqKD on features and FiGKD on logits at
# once. The frozen RGB teacher (flir_crops_rgb_teacher.py) sees the RGB crop,
# the IR student the IR crop of the same box. Losses, all logged:
#   loss_cls                              student CE with the labels
#   loss_figkd                            FiGKD on the 4 logits (1-level Haar,
#                                         KL, T=4)
#   loss_stage2_low / loss_stage2_high    FreqKD on stage 2 (stride 2) maps
#   loss_stage3_low / loss_stage3_high    FreqKD on stage 3 (stride 4)
#   loss_stage4_low / loss_stage4_high    FreqKD on stage 4 (stride 8)
# FreqKD terms: the Stage-1 loss of _base_/models/freqkd_common.py
# (standardised maps, centred-rectangle FFT split at cutoff 0.5, MSE on the
# low band plus 0.1 x log-MSE on the high band); 1x1-conv connectors lift
# the half-width student maps to the teacher's channels.
_base_ = [
    '../_base_/models/flir_crops_resnets.py',
    '../_base_/models/freqkd_common.py',
    '../_base_/datasets/flir_crops_paired_cls.py',
    '../_base_/schedules/flir_crops_sgd_30e.py',
    '../_base_/figkd_runtime.py',
]

teacher_checkpoint = 'work_dirs/flir_crops_rgb_teacher/epoch_30.pth'
teacher_channels = (64, 128, 256, 512)
student_channels = (32, 64, 128, 256)
# backbone out_indices (0-based) of stages 2, 3 and 4
distilled_stages = (1, 2, 3)

model = dict(
    type='LogitDistiller',
    data_preprocessor=dict(
        _base_.paired_imagenet_preprocessor, pad_size_divisor=1),
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
            name=f'stage{stage + 1}',
            teacher_index=stage,
            student_index=stage,
            weight=1.0,
            connector=dict(
                type='FeatureConnector',
                in_channels=student_channels[stage],
                out_channels=teacher_channels[stage]))
        for stage in distilled_stages
    ],
    feature_loss=_base_.freqkd_loss,
    teacher_dtype='auto',
    allow_random_teacher=False)
