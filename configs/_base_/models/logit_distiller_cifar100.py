# Logit distillation ResNet28x4 (frozen teacher) -> ResNet14x4 (student) on
# CIFAR-100. The leaf configs add the logit loss (model.distill_loss) and
# nothing else. Train the teacher first with
# configs/figkd/cifar100_resnet28x4_teacher.py; its last checkpoint is read
# from teacher_checkpoint (override with
# --cfg-options model.teacher.init_cfg.checkpoint=PATH).
_base_ = ['./cifar100_resnets.py']

teacher_checkpoint = 'work_dirs/cifar100_resnet28x4_teacher/epoch_240.pth'

model = dict(
    type='LogitDistiller',
    teacher=dict(
        _base_.resnet28x4,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    # CE with the labels weighs 0.1 and the logit loss 0.9, as in the KD
    # recipe behind the published KD / DKD / FiGKD comparison (mdistiller).
    student=dict(
        _base_.resnet14x4,
        head=dict(
            _base_.resnet14x4.head,
            loss=dict(type='CrossEntropyLoss', loss_weight=0.1))),
    # One batch tensor for both models; the data preprocessor comes from the
    # dataset config (MMPretrain's ClsDataPreprocessor).
    teacher_input=None,
    student_input=None,
    teacher_dtype='auto',
    allow_random_teacher=False)
