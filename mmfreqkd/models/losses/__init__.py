"""losses of mmfreqkd."""
from .base_feature_loss import BaseFeatureLoss
from .feature_cosine_loss import FeatureCosineLoss
from .feature_distances import FEATURE_DISTANCES
from .feature_mse_loss import FeatureMSELoss
from .figkd_loss import FiGKDLoss
from .freq_decoupled_loss import FreqDecoupledLoss
from .kd_loss import KDLoss
from .logit_wavelet import LogitWavelet

__all__ = [
    'BaseFeatureLoss', 'FeatureCosineLoss', 'FEATURE_DISTANCES',
    'FeatureMSELoss', 'FiGKDLoss', 'FreqDecoupledLoss', 'KDLoss',
    'LogitWavelet'
]
