# The parts every FreqKD model shares, Stage 1 (freqkd_vit_l.py) and the
# paired crop classifiers (configs/figkd/flir_crops_freqkd_figkd.py):
# the paper's band-split feature loss (standardised maps, FFT centred
# rectangle at cutoff 0.5, MSE on the low band, 0.1 x log-MSE on the high
# band) and the paired RGB / IR data preprocessor. Each model adds its own
# pad_size_divisor to the preprocessor.
freqkd_loss = dict(
    type='FreqDecoupledLoss',
    splitter=dict(type='FFTRectSplitter', cutoff=0.5),
    low_weight=1.0,
    high_weight=0.1,
    low_distance='mse',
    high_distance='log_mse',
    standardize=True)

# ImageNet-normalised RGB, as DINOv2 was trained with; the grey IR image,
# stored as 3 equal channels, goes through the same statistics.
paired_imagenet_preprocessor = dict(
    type='PairedDataPreprocessor',
    rgb_mean=[123.675, 116.28, 103.53],
    rgb_std=[58.395, 57.12, 57.375],
    ir_mean=[123.675, 116.28, 103.53],
    ir_std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
