"""Write a synthetic paired RGB-infrared dataset in a real dataset layout.

Examples::

    python tools/dataset_converters/make_synthetic_rgbt.py --layout kaist \
        --out data/kaist --num 100 --seed 0
    python tools/dataset_converters/make_synthetic_rgbt.py --layout mfnet \
        --out data/mfnet --num 40 --size 320 240

The output folder must be new, empty or written by an earlier run of this
tool (it then holds ``.mmfreqkd_synthetic.json``); ``--overwrite`` writes
into any folder, replacing the files whose names match.
"""
import argparse
import time

from mmfreqkd.datasets.synthetic import LAYOUTS, make_synthetic_dataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--layout', required=True, choices=LAYOUTS)
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument(
        '--num', type=int, default=100, help='frames over all splits')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('WIDTH', 'HEIGHT'),
        help='image size (default: the real one, 640 512 or 640 480)')
    parser.add_argument(
        '--no-coco',
        action='store_true',
        help='KAIST / FLIR: skip writing the COCO JSON files')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='write into --out even if it holds files that no synthetic run '
        'wrote (e.g. a real dataset: its files of the same names are '
        'replaced)')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    splits = make_synthetic_dataset(
        args.layout,
        args.out,
        num=args.num,
        seed=args.seed,
        size=tuple(args.size) if args.size else None,
        write_coco=not args.no_coco,
        overwrite=args.overwrite)
    counts = ', '.join(f'{name}: {len(frames)}'
                       for name, frames in splits.items())
    print(f'{args.layout} layout written to {args.out} ({counts}) in '
          f'{time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
