# Ablation: one-level 2-D Haar wavelet split.
_base_ = ['./kaist_vit.py']
model = dict(
    loss=dict(splitter=dict(_delete_=True, type='HaarDWTSplitter',
                            levels=1)))
