# Classifiers of the paired FLIR crops (person, car, bicycle, background;
# 64x64 inputs): an RGB teacher with MMPretrain's CIFAR ResNet-34 (4 stages,
# 64-512 channels) and an IR student with a half-width CIFAR ResNet-18
# (32-256 channels). Both return all four stage outputs (strides 1, 2, 4, 8)
# so that feature pairs can be distilled; the head reads the last one.
num_classes = 4

rgb_teacher = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=34,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

ir_student = dict(
    rgb_teacher,
    backbone=dict(
        rgb_teacher['backbone'], depth=18, stem_channels=32,
        base_channels=32),
    head=dict(rgb_teacher['head'], in_channels=256))
