# Stage 2 on MFNet, baseline: the paper's linear probe. A frozen DINOv2
# ViT-L/14-reg4 (plain DINOv2 weights) gives the maps of blocks 7, 15, 19, 21
# and 23; LinearProbeHead projects each to 256 channels (1x1 conv), upsamples
# them to the first map's size, concatenates, fuses (1x1 conv-BN-ReLU) and
# classifies (1x1 conv) into the 9 MFNet classes. Only the head learns: AdamW
# 1e-3, cosine decay, 20 epochs, 8 images per GPU, thermal input at its
# native 480x640 (weight decay 1e-4: not given by the paper). Metric: mIoU
# over the 9 classes, unlabelled included (`mIoU`, `mIoU_day`, `mIoU_night`);
# the FreqKD student (mfnet_linear_probe_vitl_freqkd.py) gains 1.85 mIoU over
# this baseline.
_base_ = [
    '../_base_/models/dinov2_vitl14_reg4.py',
    '../_base_/datasets/mfnet_ir_segmentation.py',
    '../_base_/schedules/mfnet_20e.py',
    '../_base_/seg_runtime.py',
]

vit_blocks = (7, 15, 19, 21, 23)

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        # 480x640 -> 490x644, whole 14-pixel patches, in training and (the
        # test_cfg) at test time, where the padding is cropped off the
        # predictions again
        size_divisor=14,
        test_cfg=dict(size_divisor=14),
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        _base_.dinov2_vitl14_reg4, out_indices=vit_blocks, frozen=True),
    decode_head=dict(
        type='LinearProbeHead',
        in_channels=[1024] * len(vit_blocks),
        in_index=list(range(len(vit_blocks))),
        proj_channels=256,
        channels=256,
        dropout_ratio=0.0,
        num_classes=9,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# Only the head has trainable parameters (the backbone is frozen).
optim_wrapper = dict(
    type='OptimWrapper',
    # not given by the paper: weight_decay=1e-4
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=_base_.max_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=_base_.max_epochs,
        convert_to_iter_based=True)
]
