"""One entry point for the synthetic RGB-infrared datasets."""
import json
import numbers
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from .flir import SPLIT_FILES as FLIR_SPLITS
from .flir import write_flir_layout
from .kaist import SPLIT_FILES as KAIST_SPLITS
from .kaist import write_kaist_layout
from .mfnet import SPLITS as MFNET_SPLITS
from .mfnet import write_mfnet_layout

LAYOUTS = ('kaist', 'flir', 'mfnet')
#: Splits of each layout; every split gets at least one frame.
LAYOUT_SPLITS = dict(
    kaist=tuple(KAIST_SPLITS), flir=tuple(FLIR_SPLITS),
    mfnet=tuple(MFNET_SPLITS))
#: File that marks a folder as written by :func:`make_synthetic_dataset`.
MARKER_FILE = '.mmfreqkd_synthetic.json'


def _check_out_dir(out_dir: str, layout: str, overwrite: bool) -> None:
    """Refuse to write into a folder that holds other data.

    An absent or empty folder, or one holding the marker of an earlier
    synthetic run of the same layout, is fine; anything else (a real
    dataset, say) needs ``overwrite``.

    Args:
        out_dir (str): The dataset root to write.
        layout (str): The layout about to be written.
        overwrite (bool): Write into a folder that holds other files.

    Raises:
        NotADirectoryError: If ``out_dir`` is a file.
        FileExistsError: If ``out_dir`` holds files not written by a
            synthetic run of ``layout`` and ``overwrite`` is not set.
    """
    if not osp.exists(out_dir):
        return
    if not osp.isdir(out_dir):
        raise NotADirectoryError(
            f'{out_dir}: the output folder of the synthetic data is a file')
    if overwrite or not os.listdir(out_dir):
        return
    marker = osp.join(out_dir, MARKER_FILE)
    if not osp.isfile(marker):
        raise FileExistsError(
            f'{out_dir} already holds files and was not written by '
            f'make_synthetic_dataset (no {MARKER_FILE}); refusing to write '
            'synthetic frames over what may be a real dataset. Choose an '
            'empty or new folder (e.g. one ending in _synthetic), or pass '
            'overwrite=True (--overwrite) to write into it anyway')
    try:
        with open(marker) as f:
            previous = json.load(f)['layout']
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f'{marker}: unreadable marker of an earlier synthetic run '
            f'({error!r}); delete the folder or pass overwrite=True '
            '(--overwrite)') from None
    if previous != layout:
        raise FileExistsError(
            f'{out_dir} holds a synthetic {previous!r} dataset (see '
            f'{marker}); refusing to mix a {layout!r} layout into it. '
            'Choose another folder, or pass overwrite=True (--overwrite)')


def make_synthetic_dataset(layout: str,
                           out_dir: str,
                           num: int = 100,
                           seed: int = 0,
                           size: Optional[Tuple[int, int]] = None,
                           write_coco: bool = True,
                           overwrite: bool = False) -> Dict[str, List[str]]:
    """Write a synthetic paired RGB-infrared dataset in a real layout.

    The files follow the on-disk formats of KAIST, FLIR aligned or MFNet
    exactly, so the datasets, converters and configs of this package run
    on them unchanged. RGB and thermal images show the same objects at the
    same pixels with different appearance (textured colours versus smooth
    warm blobs). The output is deterministic: the same arguments give the
    same files, and frame ``i`` of a split does not depend on ``num``.

    ``out_dir`` must be absent, empty or written by an earlier call of this
    function with the same layout (it holds a :data:`MARKER_FILE` that
    records the arguments), so that a real dataset is never overwritten by
    mistake; ``overwrite=True`` lifts that check.

    Args:
        layout (str): ``'kaist'``, ``'flir'`` or ``'mfnet'``.
        out_dir (str): Dataset root to write (created if needed).
        num (int): Number of frames over all splits, at least the number
            of splits of the layout (2 for KAIST and FLIR, 3 for MFNet):
            every split gets at least one frame. Defaults to 100.
        seed (int): Non-negative random seed. Defaults to 0.
        size (tuple[int, int], optional): (width, height); defaults to the
            real size (640 x 512 for KAIST and FLIR, 640 x 480 for MFNet).
        write_coco (bool): For KAIST and FLIR, also write the COCO JSON
            files with the converters. Defaults to True.
        overwrite (bool): Write into ``out_dir`` even if it holds files
            that no synthetic run wrote (they are overwritten where the
            names match and kept otherwise). Defaults to False.

    Returns:
        dict[str, list[str]]: Frame names per split.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    splits = LAYOUT_SPLITS[layout]
    if isinstance(num, bool) or not isinstance(
            num, numbers.Integral) or num < len(splits):
        raise ValueError(
            f'num must be an int >= {len(splits)} for the {layout} layout '
            f'(one frame at least in each of its splits {splits}), got '
            f'{num!r}')
    if isinstance(seed, bool) or not isinstance(
            seed, numbers.Integral) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    if size is not None:
        if len(size) != 2 or min(size) < 16:
            raise ValueError(
                f'size must be (width, height), both >= 16, got {size}')
        size = (int(size[0]), int(size[1]))
    sized = {} if size is None else dict(size=size)
    out_dir = str(out_dir)
    _check_out_dir(out_dir, layout, overwrite)
    os.makedirs(out_dir, exist_ok=True)
    # Written first, so that an interrupted run can simply be repeated.
    with open(osp.join(out_dir, MARKER_FILE), 'w') as f:
        json.dump(
            dict(layout=layout, num=int(num), seed=int(seed), size=size,
                 write_coco=write_coco), f)
        f.write('\n')
    if layout == 'kaist':
        return write_kaist_layout(
            out_dir, num, seed, write_coco=write_coco, **sized)
    if layout == 'flir':
        return write_flir_layout(
            out_dir, num, seed, write_coco=write_coco, **sized)
    return write_mfnet_layout(out_dir, num, seed, **sized)
