"""Spectral divergence between RGB and infrared features, per block and band.

The paper's analysis (Table 2): pretrained DINOv2 fed the RGB image on one
side and the IR image on the other, first 500 pairs of the KAIST test split,
radial bands (low: radius <= 0.25, high: radius >= 0.75)::

    python tools/analysis/spectral_divergence.py configs/freqkd/kaist_vit.py \
        --mode same-model --num-samples 500 --out-dir work_dirs/analysis/kaist

What distillation changed, teacher(RGB) against the trained student(IR)::

    python tools/analysis/spectral_divergence.py configs/freqkd/kaist_vit.py \
        --mode teacher-student --checkpoint work_dirs/kaist_vit/epoch_12.pth

Writes ``spectral_divergence.json`` (per block and averaged: MSE, normalised
MSE and cosine distance for the full / low / high bands, their standard
deviations over samples, high/low ratios, the run settings),
``spectral_divergence.csv`` and ``spectral_divergence.png`` to the output
folder and prints the table.
"""
import mmfreqkd  # noqa: F401  (registers every module)
from mmfreqkd.analysis import (SpectralDivergence, format_divergence_table,
                               plot_spectral_divergence, save_divergence_csv)
from mmfreqkd.analysis.cli import (add_model_arguments,
                                   add_sampling_arguments, parse_with,
                                   run_band_statistic)
from mmfreqkd.utils import exit_with_one_line_error


def parse_args(argv=None):
    return parse_with(
        'Spectral divergence (MSE, normalised MSE, cosine distance) between '
        'RGB-side and IR-side features in low and high frequency bands',
        [add_model_arguments, add_sampling_arguments], argv)


@exit_with_one_line_error
def main(argv=None):
    args = parse_args(argv)
    divergence = SpectralDivergence(args.low_radius, args.high_radius,
                                    not args.no_standardize)
    run_band_statistic(args, divergence, 'spectral_divergence',
                       save_divergence_csv, plot_spectral_divergence,
                       format_divergence_table)


if __name__ == '__main__':
    main()
