# FreqKD Stage 1 (paper): DINOv2 ViT-L/14 with 4 registers as frozen RGB
# teacher and as IR student trained through LoRA (rank 64 on qkv, fc1, fc2);
# blocks 7, 15, 19, 21, 23 distilled with the band-split loss (FFT centred
# rectangle, cutoff 0.5; MSE on the low band, 0.1 x log-MSE on the high band).
dinov2_checkpoint = 'checkpoints/dinov2_vitl14_reg4_pretrain.pth'
distill_blocks = (7, 15, 19, 21, 23)

vit = dict(
    type='DINOv2ViT',
    arch='large',
    num_register_tokens=4,
    out_indices=distill_blocks,
    init_cfg=dict(type='Pretrained', checkpoint=dinov2_checkpoint))

model = dict(
    type='FreqKDDistiller',
    data_preprocessor=dict(
        type='PairedDataPreprocessor',
        # DINOv2 was trained on ImageNet-normalised RGB; the grey IR image,
        # stored as 3 equal channels, goes through the same statistics.
        rgb_mean=[123.675, 116.28, 103.53],
        rgb_std=[58.395, 57.12, 57.375],
        ir_mean=[123.675, 116.28, 103.53],
        ir_std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=14),
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
    loss=dict(
        type='FreqDecoupledLoss',
        splitter=dict(type='FFTRectSplitter', cutoff=0.5),
        low_weight=1.0,
        high_weight=0.1,
        low_distance='mse',
        high_distance='log_mse',
        standardize=True),
    teacher_dtype='auto',
    allow_random_teacher=False)
