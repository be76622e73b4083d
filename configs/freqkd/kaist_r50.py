# Cross-architecture FreqKD on KAIST: DINOv2 ViT-L/14-reg4 teacher (RGB),
# ResNet-50 student (IR) trained in full. ViT blocks 7, 15, 21, 23 pair with
# ResNet stages C2-C5 through 1x1-conv connectors to 1024 channels; the
# student maps are resized (bilinear) to the ViT grid.
_base_ = ['./kaist_vit.py']

teacher_blocks = (7, 15, 21, 23)
resnet_channels = (256, 512, 1024, 2048)

model = dict(
    teacher=dict(out_indices=teacher_blocks),
    student=dict(
        _delete_=True,
        type='mmdet.ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        # ImageNet weights; offline, point this at a local file such as
        # checkpoints/resnet50-0676ba61.pth. CheckedPretrained (mmfreqkd)
        # refuses a file that lacks any ResNet weight, e.g. a ViT export;
        # keys the ResNet has not (torchvision's fc.) only warn.
        init_cfg=dict(
            type='CheckedPretrained', checkpoint='torchvision://resnet50')),
    student_lora=None,
    distill_pairs=[
        dict(
            name=f'block{block}_c{stage + 2}',
            teacher_index=stage,
            student_index=stage,
            weight=1.0,
            connector=dict(
                type='FeatureConnector',
                in_channels=channels,
                out_channels=1024))
        for stage, (block, channels) in enumerate(
            zip(teacher_blocks, resnet_channels))
    ])
