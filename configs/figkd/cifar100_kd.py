# Step 2a: classic KD (Hinton) ResNet28x4 -> ResNet14x4 on CIFAR-100:
# 0.1 x CE + 0.9 x T^2 KL(teacher || student) at T = 4 (mdistiller's KD).
# Differs from cifar100_figkd.py only in model.distill_loss.
_base_ = [
    '../_base_/models/logit_distiller_cifar100.py',
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/cifar100_sgd_240e.py',
    '../_base_/figkd_runtime.py',
]

model = dict(
    distill_loss=dict(type='KDLoss', temperature=4.0, loss_weight=0.9))
