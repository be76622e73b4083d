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
import os.path as osp

import mmfreqkd  # noqa: F401  (registers every module)
from mmfreqkd.analysis import (LinearCKA, format_cka_table, plot_cka,
                               save_cka_csv, save_json)
from mmfreqkd.analysis.cli import (add_model_arguments,
                                   add_sampling_arguments, output_dir,
                                   parse_with, run_statistics)
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
    settings = run_statistics(args, [cka])
    results = dict(settings=settings, **cka.compute())

    out_dir = output_dir(args)
    paths = {ext: osp.join(out_dir, f'cka.{ext}')
             for ext in ('json', 'csv', 'png')}
    save_json(results, paths['json'])
    save_cka_csv(results, paths['csv'])
    sides = settings['sides']
    plot_cka(
        results, paths['png'],
        title=f"linear CKA, {sides['reference']} vs {sides['compared']}, "
        f"{settings['num_samples']} {args.split} samples")
    print(format_cka_table(results))
    print('written: ' + ', '.join(paths.values()))


if __name__ == '__main__':
    main()
