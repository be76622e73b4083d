"""Band splitters: (B, C, H, W) maps -> (low, high) spatial-frequency bands."""
from .base import BaseBandSplitter, write_into
from .builder import build_splitter
from .dct import DCTSplitter, dct_matrix
from .dwt import HaarDWTSplitter
from .fft_splitters import (FFTMaskSplitter, FFTRadialSplitter,
                            FFTRectSplitter, GaussianSplitter,
                            half_spectrum_gain)
from .masks import (centred_band, gaussian_low_pass, normalized_radius,
                    radial_band_masks, radial_low_mask, rect_low_mask)
from .standardize import standardize_features

__all__ = [
    'BaseBandSplitter', 'write_into', 'build_splitter', 'DCTSplitter', 'dct_matrix',
    'HaarDWTSplitter', 'FFTMaskSplitter', 'FFTRadialSplitter',
    'FFTRectSplitter', 'GaussianSplitter', 'half_spectrum_gain',
    'centred_band', 'gaussian_low_pass', 'normalized_radius',
    'radial_band_masks', 'radial_low_mask', 'rect_low_mask',
    'standardize_features'
]
