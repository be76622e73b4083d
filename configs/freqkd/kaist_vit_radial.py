# Ablation: centred disk of the shifted spectrum instead of the rectangle.
_base_ = ['./kaist_vit.py']
model = dict(
    loss=dict(splitter=dict(_delete_=True, type='FFTRadialSplitter',
                            cutoff=0.5)))
