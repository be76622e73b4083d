"""Convert KAIST bbGt annotations of one split to a COCO-style JSON file.

Example (paths relative to --root)::

    python tools/dataset_converters/kaist_to_coco.py --root data/kaist \
        --split-file imageSets/test-all-20.txt --ann-dir annotations \
        --out annotations/test-all-20.json
"""
import argparse
import os.path as osp

from mmfreqkd.datasets.converters import (kaist_to_coco, save_coco_json,
                                          summarize_coco)


def positive_int(text: str) -> int:
    """An argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f'must be a positive integer, got {text!r}')
    return value


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', required=True, help='KAIST dataset root')
    parser.add_argument(
        '--split-file',
        required=True,
        help='split file listing setXX/VYYY/IZZZZZ frames, e.g. '
        'imageSets/train-all-02.txt')
    parser.add_argument(
        '--ann-dir',
        default='annotations',
        help='folder of the per-frame bbGt .txt files (original, sanitized '
        'or improved annotations)')
    parser.add_argument(
        '--img-dir',
        default='images',
        help='folder holding setXX/VYYY/{lwir,visible}/IZZZZZ.jpg')
    parser.add_argument(
        '--ann-layout',
        default='auto',
        choices=['auto', 'nested', 'flat'],
        help='nested: setXX/VYYY/IZZZZZ.txt; flat: setXX_VYYY_IZZZZZ.txt; '
        'auto: nested if present, else flat')
    parser.add_argument(
        '--unknown-label',
        default='error',
        choices=['error', 'ignore', 'drop'],
        help='label outside person/people/cyclist/person?/person?a: raise '
        '(error), keep as an ignore region (ignore) or leave out (drop)')
    parser.add_argument(
        '--image-size',
        type=positive_int,
        nargs=2,
        metavar=('WIDTH', 'HEIGHT'),
        help='size of every image; skips reading the images (e.g. 640 512)')
    parser.add_argument(
        '--out',
        required=True,
        help='output JSON file (relative to --root unless absolute)')
    return parser.parse_args()


def main():
    args = parse_args()
    coco, dropped = kaist_to_coco(
        args.root,
        args.split_file,
        ann_dir=args.ann_dir,
        img_dir=args.img_dir,
        ann_layout=args.ann_layout,
        unknown_label=args.unknown_label,
        image_size=tuple(args.image_size) if args.image_size else None)
    out_file = save_coco_json(coco, osp.join(args.root, args.out))
    print(summarize_coco(coco, dropped))
    print(f'written: {out_file}')


if __name__ == '__main__':
    main()
