"""Metric computations as plain functions (numpy in, numbers out)."""
from .miss_rate import (FPPI_REFERENCES, MISS_RATE_FLOOR, evaluate_miss_rate,
                        log_average_miss_rate, match_detections,
                        miss_rate_curve, overlap_matrix,
                        reasonable_ignore_flags, sample_miss_rate)

__all__ = [
    'FPPI_REFERENCES', 'MISS_RATE_FLOOR', 'evaluate_miss_rate',
    'log_average_miss_rate', 'match_detections', 'miss_rate_curve',
    'overlap_matrix', 'reasonable_ignore_flags', 'sample_miss_rate'
]
