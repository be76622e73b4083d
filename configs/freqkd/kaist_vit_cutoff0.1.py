# Ablation: FFT rectangle cutoff 0.1 (paper default 0.5).
_base_ = ['./kaist_vit.py']
model = dict(loss=dict(splitter=dict(cutoff=0.1)))
