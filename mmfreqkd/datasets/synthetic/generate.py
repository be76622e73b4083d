"""One entry point for the synthetic RGB-infrared datasets."""
from typing import Dict, List, Optional, Tuple

from .flir import write_flir_layout
from .kaist import write_kaist_layout
from .mfnet import write_mfnet_layout

LAYOUTS = ('kaist', 'flir', 'mfnet')


def make_synthetic_dataset(layout: str,
                           out_dir: str,
                           num: int = 100,
                           seed: int = 0,
                           size: Optional[Tuple[int, int]] = None,
                           write_coco: bool = True) -> Dict[str, List[str]]:
    """Write a synthetic paired RGB-infrared dataset in a real layout.

    The files follow the on-disk formats of KAIST, FLIR aligned or MFNet
    exactly, so the datasets, converters and configs of this package run
    on them unchanged. RGB and thermal images show the same objects at the
    same pixels with different appearance (textured colours versus smooth
    warm blobs). The output is deterministic: the same arguments give the
    same files, and frame ``i`` of a split does not depend on ``num``.

    Args:
        layout (str): ``'kaist'``, ``'flir'`` or ``'mfnet'``.
        out_dir (str): Dataset root to write (created if needed).
        num (int): Number of frames over all splits. Defaults to 100.
        seed (int): Non-negative random seed. Defaults to 0.
        size (tuple[int, int], optional): (width, height); defaults to the
            real size (640 x 512 for KAIST and FLIR, 640 x 480 for MFNet).
        write_coco (bool): For KAIST and FLIR, also write the COCO JSON
            files with the converters. Defaults to True.

    Returns:
        dict[str, list[str]]: Frame names per split.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if num < 1:
        raise ValueError(f'num must be at least 1, got {num}')
    if seed < 0:
        raise ValueError(f'seed must be non-negative, got {seed}')
    if size is not None:
        if len(size) != 2 or min(size) < 16:
            raise ValueError(
                f'size must be (width, height), both >= 16, got {size}')
        size = (int(size[0]), int(size[1]))
    sized = {} if size is None else dict(size=size)
    if layout == 'kaist':
        return write_kaist_layout(
            out_dir, num, seed, write_coco=write_coco, **sized)
    if layout == 'flir':
        return write_flir_layout(
            out_dir, num, seed, write_coco=write_coco, **sized)
    return write_mfnet_layout(out_dir, num, seed, **sized)
