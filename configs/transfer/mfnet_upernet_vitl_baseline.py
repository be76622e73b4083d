# Stage 2 on MFNet, baseline, full fine-tuning: MMSegmentation's ViT UPerNet
# (MultiLevelNeck resampling four maps by 4, 2, 1, 1/2; UPerHead; FCN
# auxiliary head) on a DINOv2 ViT-L/14-reg4 with plain DINOv2 weights, blocks
# 7, 15, 19 and 23, thermal input at its native 480x640. The paper reports the
# linear probe (mfnet_linear_probe_vitl_*.py); this recipe is ours: AdamW
# 1e-4, weight decay 0.01, backbone learning rate x0.1, 100-iteration linear
# warm-up then linear (poly 1.0) decay, 20 epochs, 8 images per GPU.
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py',
    '../_base_/models/dinov2_vitl14_reg4.py',
    '../_base_/datasets/mfnet_ir_segmentation.py',
    '../_base_/schedules/mfnet_20e.py',
    '../_base_/seg_runtime.py',
]

vit_blocks = (7, 15, 19, 23)
vit_channels = [1024] * len(vit_blocks)

model = dict(
    # the backbone's own init_cfg loads the weights
    pretrained=None,
    # 480x640 -> 490x644, whole 14-pixel patches, in training and (the
    # test_cfg) at test time, where the padding is cropped off the
    # predictions again
    data_preprocessor=dict(size_divisor=14, test_cfg=dict(size_divisor=14)),
    backbone=dict(
        _base_.dinov2_vitl14_reg4, _delete_=True, out_indices=vit_blocks),
    neck=dict(in_channels=vit_channels, out_channels=1024),
    decode_head=dict(in_channels=vit_channels, num_classes=9),
    auxiliary_head=dict(in_channels=1024, num_classes=9))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
        end=100),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=_base_.max_epochs,
        convert_to_iter_based=True)
]
