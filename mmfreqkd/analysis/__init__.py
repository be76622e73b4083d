"""Analysis of RGB-infrared feature gaps (the code behind tools/analysis)."""
from .accumulate import accumulate_features, default_device
from .band_statistic import BandStatistic
from .band_visualization import (COMPONENTS, band_summaries,
                                 first_principal_direction,
                                 image_for_display, plot_band_visualization)
from .cka import CrossCovariance, LinearCKA, linear_cka, maps_to_examples
from .dataloader import (SPLITS, build_analysis_dataloader,
                         build_analysis_dataset)
from .paired_features import (ANALYSIS_MODES, PairedFeatureExtractor,
                              build_paired_feature_extractor)
from .plots import plot_cka, plot_spectral_divergence
from .radial_bands import BANDS, masked_inverse, radial_band_maps
from .reports import (cka_rows, divergence_rows, format_cka_table,
                      format_divergence_table, json_ready, save_cka_csv,
                      save_divergence_csv, save_json)
from .spectral_divergence import (DIVERGENCE_METRICS, SpectralDivergence,
                                  band_divergences)

__all__ = [
    'accumulate_features', 'default_device', 'BandStatistic', 'COMPONENTS',
    'band_summaries',
    'first_principal_direction', 'image_for_display',
    'plot_band_visualization', 'CrossCovariance', 'LinearCKA', 'linear_cka',
    'maps_to_examples', 'SPLITS', 'build_analysis_dataloader',
    'build_analysis_dataset', 'ANALYSIS_MODES', 'PairedFeatureExtractor',
    'build_paired_feature_extractor', 'plot_cka', 'plot_spectral_divergence',
    'BANDS', 'masked_inverse', 'radial_band_maps', 'cka_rows',
    'divergence_rows', 'format_cka_table', 'format_divergence_table',
    'json_ready', 'save_cka_csv', 'save_divergence_csv', 'save_json',
    'DIVERGENCE_METRICS', 'SpectralDivergence', 'band_divergences'
]
