# DINO detector (two-stage, box refinement, 900 queries, contrastive
# denoising) on five feature levels of a DINOv2 ViT-L/14 with 4 registers,
# the FreqKD Stage-2 detector.
#
# Where the five levels come from: a plain ViT has one resolution, so the
# levels are the patch-token maps of five blocks -- 7, 15, 19, 21 and 23, the
# blocks FreqKD distils -- all at stride 14, each mapped 1024 -> 256 by
# ChannelMapper (1x1 convolution + GroupNorm). The levels differ in depth,
# not in resolution; the deformable attention tells them apart by their level
# embeddings, and the two-stage proposals give each level its own box size.
# configs/transfer/kaist_dino_vitl_sfp_*.py build a true 5-resolution pyramid
# from the last block instead (SimpleFeaturePyramid).
_base_ = ['./dinov2_vitl14_reg4.py']

vit_blocks = (7, 15, 19, 21, 23)
num_levels = len(vit_blocks)
embed_dims = 256

model = dict(
    type='DINO',
    num_queries=900,
    with_box_refine=True,
    as_two_stage=True,
    num_feature_levels=num_levels,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        # ImageNet statistics, as DINOv2 was trained with; the infrared
        # image is stored as three equal grey channels.
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        # whole patches: no image content is cut by the 14-pixel grid
        pad_size_divisor=14),
    backbone=dict(_base_.dinov2_vitl14_reg4, out_indices=vit_blocks),
    neck=dict(
        type='ChannelMapper',
        in_channels=[1024] * num_levels,
        kernel_size=1,
        out_channels=embed_dims,
        act_cfg=None,
        norm_cfg=dict(type='GN', num_groups=32),
        num_outs=num_levels),
    encoder=dict(
        num_layers=6,
        layer_cfg=dict(
            self_attn_cfg=dict(
                embed_dims=embed_dims, num_levels=num_levels, dropout=0.0),
            ffn_cfg=dict(
                embed_dims=embed_dims,
                feedforward_channels=2048,
                ffn_drop=0.0))),
    decoder=dict(
        num_layers=6,
        return_intermediate=True,
        layer_cfg=dict(
            self_attn_cfg=dict(
                embed_dims=embed_dims, num_heads=8, dropout=0.0),
            cross_attn_cfg=dict(
                embed_dims=embed_dims, num_levels=num_levels, dropout=0.0),
            ffn_cfg=dict(
                embed_dims=embed_dims,
                feedforward_channels=2048,
                ffn_drop=0.0)),
        post_norm_cfg=None),
    positional_encoding=dict(
        num_feats=embed_dims // 2, normalize=True, offset=0.0,
        temperature=20),
    bbox_head=dict(
        type='DINOHead',
        num_classes=1,  # KAIST: person
        sync_cls_avg_factor=True,
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=5.0),
        loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    dn_cfg=dict(
        label_noise_scale=0.5,
        box_noise_scale=1.0,
        group_cfg=dict(dynamic=True, num_groups=None, num_dn_queries=100)),
    train_cfg=dict(
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='FocalLossCost', weight=2.0),
                dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
                dict(type='IoUCost', iou_mode='giou', weight=2.0)
            ])),
    test_cfg=dict(max_per_img=300))
