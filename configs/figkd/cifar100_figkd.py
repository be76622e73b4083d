# Step 2b: FiGKD ResNet28x4 -> ResNet14x4 on CIFAR-100: only the wavelet
# high-frequency part of the 100 logits is distilled. Default form: 1-level
# Haar DWT over the class axis, approximation discarded, T^2 KL between the
# temperature-softened (T = 4) high-pass reconstructions; 0.1 x CE + 0.9 x
# FiGKD, the weights and temperature of cifar100_kd.py, from which it differs
# only in model.distill_loss. Options: wavelet (any discrete PyWavelets
# name), levels, distance='mse' (MSE of the detail coefficients).
_base_ = [
    '../_base_/models/logit_distiller_cifar100.py',
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/cifar100_sgd_240e.py',
    '../_base_/figkd_runtime.py',
]

model = dict(
    distill_loss=dict(
        type='FiGKDLoss',
        wavelet='haar',
        levels=1,
        temperature=4.0,
        distance='kl',
        loss_weight=0.9))
