"""Show an RGB-IR pair and one block's feature maps split into bands.

Rows: the RGB side and the IR side; columns: the image, then the full,
low and high band of the feature map, summarised by its first principal
component (``--component pca``, shared by both rows) or the per-position
channel norm of each band (``--component norm``)::

    python tools/analysis/visualize_bands.py configs/freqkd/kaist_vit.py \
        --mode same-model --index 0 --block 23 --out bands.png
"""
import os
import os.path as osp

from mmengine.dataset import pseudo_collate

import mmfreqkd  # noqa: F401  (registers every module)
from mmfreqkd.analysis import (COMPONENTS, band_summaries,
                               build_analysis_dataset, default_device,
                               plot_band_visualization)
from mmfreqkd.analysis.cli import (add_model_arguments, build_args_extractor,
                                   load_args_config, output_dir, parse_with,
                                   side_labels)
from mmfreqkd.utils import exit_with_one_line_error


def add_arguments(parser):
    parser.add_argument(
        '--index', type=int, default=0, help='sample index in the split')
    parser.add_argument(
        '--block',
        type=int,
        help='block number to show (a value of out_indices; default: the '
        'last analysed block)')
    parser.add_argument(
        '--component',
        choices=COMPONENTS,
        default='pca',
        help='feature summary: first principal component or channel norm')
    parser.add_argument(
        '--out',
        help='PNG path (default: <out-dir>/bands_<name>_<index>.png, where '
        '<name> is the block tap or, teacher vs student, the pair name)')


@exit_with_one_line_error
def main(argv=None):
    args = parse_with('Show an RGB-IR pair and a feature map split into '
                      'low and high frequency bands', [add_model_arguments],
                      argv, extra=add_arguments)
    cfg = load_args_config(args)
    if args.out:  # fail on an unwritable folder before the models run
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    else:
        output_dir(args, create=True)
    if args.block is not None:
        args.blocks = [args.block]
    extractor = build_args_extractor(args, cfg)
    dataset = build_analysis_dataset(cfg, args.split)
    if not 0 <= args.index < len(dataset):
        raise IndexError(f'--index {args.index} is outside the {args.split} '
                         f'split ({len(dataset)} samples)')
    sample = dataset[args.index]
    extractor.to(args.device or default_device()).eval()
    name, (reference, compared) = list(
        extractor(pseudo_collate([sample])).items())[-1]
    summaries = band_summaries(
        reference[0],
        compared[0],
        component=args.component,
        low_radius=args.low_radius,
        high_radius=args.high_radius,
        standardize=not args.no_standardize)

    out = args.out or osp.join(
        output_dir(args), f'bands_{name}_{args.index}.png')
    plot_band_visualization(
        sample['inputs']['rgb'],
        sample['inputs']['ir'],
        summaries,
        out,
        side_labels=side_labels(args),
        title=f'{args.split}[{args.index}], {name}, {args.component}, '
        f'low r<={args.low_radius}, high r>={args.high_radius}')
    print(f'written: {out}')


if __name__ == '__main__':
    main()
