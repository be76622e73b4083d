# Baseline: plain feature MSE on the standardised maps (no band split).
_base_ = ['./kaist_vit.py']
model = dict(loss=dict(_delete_=True, type='FeatureMSELoss', standardize=True))
