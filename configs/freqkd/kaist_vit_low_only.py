# Ablation: distil the low band only.
_base_ = ['./kaist_vit.py']
model = dict(loss=dict(high_weight=0.0))
