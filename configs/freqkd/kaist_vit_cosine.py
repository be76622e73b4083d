# Baseline: 1 - cosine similarity per position (no band split).
_base_ = ['./kaist_vit.py']
model = dict(
    loss=dict(_delete_=True, type='FeatureCosineLoss', standardize=True))
