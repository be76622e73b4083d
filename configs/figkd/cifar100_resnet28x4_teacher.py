# Step 1 of the CIFAR-100 benchmark: train the ResNet28x4 teacher (a plain
# MMPretrain classifier, CE only). Its last checkpoint,
# work_dirs/cifar100_resnet28x4_teacher/epoch_240.pth, is the teacher of
# cifar100_kd.py and cifar100_figkd.py.
_base_ = [
    '../_base_/models/cifar100_resnets.py',
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/cifar100_sgd_240e.py',
    '../_base_/figkd_runtime.py',
]

model = _base_.resnet28x4
