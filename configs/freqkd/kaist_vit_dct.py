# Ablation: 2-D DCT split, low band = the low-frequency corner block.
_base_ = ['./kaist_vit.py']
model = dict(
    loss=dict(splitter=dict(_delete_=True, type='DCTSplitter', cutoff=0.5)))
