"""Linear CKA between teacher and student features, per block and band.

Examples are the spatial positions of all samples, features the channels;
the maps are standardised and split into radial bands as in
``spectral_divergence.py``::

    python tools/analysis/cka.py configs/freqkd/kaist_vit.py \
        --mode teacher-student --checkpoint work_dirs/kaist_vit/epoch_12.pth

``--mode same-model`` compares one model fed RGB with the same model fed IR
instead. Writes ``cka.json`` (CKA per block for the full / low / high bands,
their means over blocks, the run settings), ``cka.csv`` and ``cka.png`` and
prints the table.
"""
import mmfreqkd  # noqa: F401  (registers every module)
from mmfreqkd.analysis import (LinearCKA, format_cka_table, plot_cka,
                               save_cka_csv)
from mmfreqkd.analysis.cli import (add_model_arguments,
                                   add_sampling_arguments, parse_with,
                                   run_band_statistic)
from mmfreqkd.utils import exit_with_one_line_error


def parse_args(argv=None):
    args = parse_with(
        'Linear CKA between RGB-side (teacher) and IR-side (student) '
        'features in the full map and its low and high frequency bands',
        [add_model_arguments, add_sampling_arguments], argv,
        extra=lambda parser: parser.set_defaults(mode='teacher-student'))
    return args


@exit_with_one_line_error
def main(argv=None):
    args = parse_args(argv)
    cka = LinearCKA(args.low_radius, args.high_radius,
                    not args.no_standardize)
    run_band_statistic(
        args, cka, 'cka', save_cka_csv, plot_cka, format_cka_table,
        title_prefix='linear CKA, ')


if __name__ == '__main__':
    main()
