"""Convert a FLIR aligned split (VOC XML) to a COCO-style JSON file.

Example (paths relative to --root)::

    python tools/dataset_converters/flir_aligned_to_coco.py --root data/flir \
        --split align_validation.txt --out annotations/align_validation.json
"""
import argparse
import os.path as osp

from mmfreqkd.datasets.converters import (flir_aligned_to_coco,
                                          save_coco_json, summarize_coco)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--root', required=True, help='FLIR aligned root (the align folder)')
    parser.add_argument(
        '--split',
        required=True,
        help='split file, e.g. align_train.txt or align_validation.txt')
    parser.add_argument(
        '--img-dir', default='JPEGImages', help='folder of the images')
    parser.add_argument(
        '--ann-dir', default='Annotations', help='folder of the XML files')
    parser.add_argument(
        '--skip-unknown',
        action='store_true',
        help='drop objects of unknown names (counted) instead of failing')
    parser.add_argument(
        '--out',
        required=True,
        help='output JSON file (relative to --root unless absolute)')
    return parser.parse_args()


def main():
    args = parse_args()
    coco, dropped = flir_aligned_to_coco(
        args.root,
        args.split,
        img_dir=args.img_dir,
        ann_dir=args.ann_dir,
        skip_unknown=args.skip_unknown)
    out_file = save_coco_json(coco, osp.join(args.root, args.out))
    print(summarize_coco(coco, dropped))
    print(f'written: {out_file}')


if __name__ == '__main__':
    main()
