# Ablation: distil the high band only (log-MSE, weight 0.1).
_base_ = ['./kaist_vit.py']
model = dict(loss=dict(low_weight=0.0))
