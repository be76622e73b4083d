# FreqKD Stage 1 (paper): DINOv2 ViT-L/14 with 4 registers as frozen RGB
# teacher and as IR student trained through LoRA (rank 64 on qkv, fc1, fc2);
# blocks 7, 15, 19, 21, 23 distilled with the band-split loss of
# freqkd_common.py (FFT centred rectangle, cutoff 0.5; MSE on the low band,
# 0.1 x log-MSE on the high band).
_base_ = ['./dinov2_vitl14_reg4.py', './freqkd_common.py']

distill_blocks = (7, 15, 19, 21, 23)

vit = dict(_base_.dinov2_vitl14_reg4, out_indices=distill_blocks)

model = dict(
    type='FreqKDDistiller',
    # whole 14-pixel patches
    data_preprocessor=dict(
        _base_.paired_imagenet_preprocessor, pad_size_divisor=14),
    teacher=dict(vit, frozen=True),
    student=vit,
    student_lora=dict(
        rank=64,
        alpha=64,
        dropout=0.05,
        target_modules=('attn.qkv', 'mlp.fc1', 'mlp.fc2')),
    distill_pairs=[
        dict(name=f'block{block}', teacher_index=i, student_index=i,
             weight=1.0) for i, block in enumerate(distill_blocks)
    ],
    loss=_base_.freqkd_loss,
    teacher_dtype='auto',
    allow_random_teacher=False,
    allow_random_student=False)
