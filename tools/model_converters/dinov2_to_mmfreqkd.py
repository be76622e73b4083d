"""Convert a DINOv2 checkpoint (official, timm or Hugging Face) for mmfreqkd.

Usage::

    python tools/model_converters/dinov2_to_mmfreqkd.py \
        checkpoints/dinov2_vitl14_reg4_pretrain.pth \
        checkpoints/dinov2_vitl14_reg4_mmfreqkd.pth

The output holds ``{'state_dict': ..., 'meta': ...}`` in the layout of
``DINOv2ViT``; ``meta`` records the source file and layout, the dropped keys
and the architecture read from the tensor shapes. ``DINOv2ViT`` also reads
the unconverted files directly (``init_cfg=dict(type='Pretrained',
checkpoint=...)``); converting once saves the conversion at every start and
lets you check what a file contains. A file that does not convert to a
whole ``DINOv2ViT`` (missing or foreign keys, shapes of two models) is
refused with the file and the keys named, before anything is written.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import torch

from mmfreqkd.models.backbones.dinov2_checkpoint import (
    LAYOUTS, check_converted_state_dict, convert_dinov2_state_dict,
    infer_arch, load_checkpoint_file, naming_checkpoint, unwrap_state_dict)
from mmfreqkd.models.backbones.dinov2_vit import ARCH_SETTINGS, DINOv2ViT


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a DINOv2 checkpoint to the mmfreqkd layout')
    parser.add_argument('src', help='.pth / .pt / .bin / .safetensors file')
    parser.add_argument('dst', help='output .pth file')
    parser.add_argument(
        '--layout', default='auto', choices=('auto', ) + LAYOUTS,
        help='layout of SRC (default: detected from the key names; a timm '
        'checkpoint without registers needs --layout timm, as its names '
        'are those of this package)')
    parser.add_argument(
        '--prefix', default=None,
        help="prefix of the backbone keys in SRC, e.g. 'backbone.' "
        "(default: 'backbone.', 'dinov2.' or 'dinov2_with_registers.' when "
        'present)')
    return parser.parse_args(argv)


def arch_name(arch: dict) -> Optional[str]:
    """Name of the standard architecture with these shapes, if any."""
    for name, settings in ARCH_SETTINGS.items():
        if all(arch[k] == settings[k] for k in
               ('embed_dims', 'num_layers', 'feedforward_channels',
                'ffn_type')):
            return name
    return None


def check_complete(converted: dict, arch: dict, src: str) -> None:
    """Refuse to write a state dict that is not a whole :class:`DINOv2ViT`.

    The model its shapes describe is built on the meta device (no memory),
    with a 1 x N patch grid holding the N ``pos_embed`` entries of the file
    (models resample them to their grid), and
    :func:`check_converted_state_dict` compares keys and shapes.

    Args:
        converted (dict): The converted state dict.
        arch (dict): Its architecture, from :func:`infer_arch`.
        src (str): The source file, for the message.

    Raises:
        KeyError: If keys are missing or unexpected (all named).
        ValueError: If shapes differ (all named).
    """
    patch = arch['patch_size']
    with torch.device('meta'):
        model = DINOv2ViT(
            arch=dict(
                embed_dims=arch['embed_dims'],
                num_layers=arch['num_layers'],
                num_heads=1,  # no tensor depends on it
                feedforward_channels=arch['feedforward_channels'],
                ffn_type=arch['ffn_type']),
            img_size=(patch, patch * arch['pos_embed_length']),
            patch_size=patch,
            in_channels=arch['in_channels'],
            num_register_tokens=arch['num_register_tokens'])
    try:
        check_converted_state_dict(model, converted)
    except (KeyError, ValueError) as error:
        raise type(error)(f'{src} does not convert to a whole DINOv2ViT of '
                          f'its own shapes {arch}: {error.args[0]}') from None


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the conversion; returns the saved object."""
    args = parse_args(argv)
    checkpoint = load_checkpoint_file(args.src)
    with naming_checkpoint(args.src):
        state_dict, unselected = unwrap_state_dict(checkpoint, args.prefix)
        converted, report = convert_dinov2_state_dict(state_dict, args.layout)
        arch = infer_arch(converted)
    check_complete(converted, arch, args.src)
    name = arch_name(arch)
    meta = dict(
        source=osp.basename(args.src),
        source_layout=report['layout'],
        dropped_keys=report['dropped_keys'] + unselected,
        arch=arch,
        arch_name=name)
    saved = dict(state_dict=converted, meta=meta)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(saved, args.dst)

    print(f'detected layout: {report["layout"]}')
    print(f'tensors: {len(state_dict) + len(unselected)} read, '
          f'{len(unselected)} outside the backbone prefix, '
          f'{len(report["dropped_keys"])} dropped '
          f'{report["dropped_keys"] or ""}, {len(converted)} written')
    print(f'architecture: {name or "custom"} {arch}')
    print(f"config: DINOv2ViT(arch='{name or 'see above'}', "
          f"num_register_tokens={arch['num_register_tokens']})")
    print(f'saved to {args.dst}')
    return saved


if __name__ == '__main__':
    main()
