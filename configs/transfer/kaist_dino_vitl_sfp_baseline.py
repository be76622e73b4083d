# Stage 2 on KAIST, baseline, ViTDet-style variant: kaist_dino_vitl_baseline.py
# with the five DINO levels taken from the last ViT block (23) by a simple
# feature pyramid (SimpleFeaturePyramid): scale factors 4, 2, 1, 1/2, 1/4 of
# the stride-14 map give strides 3.5, 7, 14, 28 and 56, each mapped to 256
# channels with GroupNorm. Images are padded to multiples of 56 so that every
# level is exactly aligned with the image.
_base_ = ['./kaist_dino_vitl_baseline.py']

model = dict(
    data_preprocessor=dict(pad_size_divisor=56),
    backbone=dict(out_indices=(23, )),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        in_channels=1024,
        out_channels=256,
        scale_factors=(4, 2, 1, 0.5, 0.25),
        norm_cfg=dict(type='GN', num_groups=32)))
