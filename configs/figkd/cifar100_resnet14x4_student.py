# Reference point of the CIFAR-100 benchmark: the ResNet14x4 student trained
# alone (CE only, no teacher), same data and schedule as the distilled runs.
_base_ = [
    '../_base_/models/cifar100_resnets.py',
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/cifar100_sgd_240e.py',
    '../_base_/figkd_runtime.py',
]

model = _base_.resnet14x4
