# Ablation: Gaussian low-pass in the frequency domain.
_base_ = ['./kaist_vit.py']
model = dict(
    loss=dict(splitter=dict(_delete_=True, type='GaussianSplitter')))
