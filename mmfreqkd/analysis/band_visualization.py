"""Picture of one RGB-IR pair and its feature maps split into bands.

A (C, H, W) feature map is shown through one (H, W) summary:

- ``'pca'``: the projection on the first principal direction of the
  channels, fitted on the positions of both sides together so that the two
  rows share one colour meaning (its sign is arbitrary). Projection on a
  fixed direction commutes with the band filters, so the low / high panels
  are exactly the bands of the full panel's map.
- ``'norm'``: the L2 norm over channels of each band map, i.e. where the
  band's energy lies.
"""
import os
import os.path as osp
from typing import Dict, Optional

import matplotlib
import numpy as np
import torch

from mmfreqkd.models.freq import standardize_features

from .radial_bands import BANDS, as_float, radial_band_maps
from .spectral_divergence import band_divergences

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

COMPONENTS = ('pca', 'norm')
SIDES = ('reference', 'compared')


def first_principal_direction(rows: torch.Tensor) -> torch.Tensor:
    """Unit direction of largest variance of (N, C) rows, sign fixed.

    The sign makes the entry of largest magnitude positive.

    Returns:
        Tensor: (C,) unit vector.
    """
    centred = rows - rows.mean(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    direction = vh[0]
    return direction * torch.sign(direction[direction.abs().argmax()])


def band_summaries(reference: torch.Tensor,
                   compared: torch.Tensor,
                   component: str = 'pca',
                   low_radius: float = 0.25,
                   high_radius: float = 0.75,
                   standardize: bool = True) -> dict:
    """(H, W) summaries of the bands of one sample's two maps.

    Args:
        reference (Tensor): Reference map (C, H, W) (RGB side / teacher).
        compared (Tensor): Compared map (C, H, W), same shape.
        component (str): ``'pca'`` or ``'norm'`` (see the module doc).
        low_radius (float): Outer normalised radius of the low band.
        high_radius (float): Inner normalised radius of the high band.
        standardize (bool): Standardise the maps first. Default: True.

    Returns:
        dict: ``component``; ``maps``: side -> band -> (H, W) numpy array;
        ``nmse``: band -> normalised MSE between the two sides' band maps
        (C, H, W), as in the spectral-divergence analysis.
    """
    if component not in COMPONENTS:
        raise ValueError(f'component must be one of {COMPONENTS}, got '
                         f'{component!r}')
    if reference.dim() != 3 or reference.shape != compared.shape:
        raise ValueError('band_summaries needs two (C, H, W) maps of the '
                         f'same shape, got {tuple(reference.shape)} and '
                         f'{tuple(compared.shape)}')
    pair = as_float(torch.stack([reference, compared]))
    if standardize:
        pair = standardize_features(pair)
    bands = radial_band_maps(pair, low_radius, high_radius)
    if component == 'pca':
        rows = pair.permute(0, 2, 3, 1).reshape(-1, pair.shape[1])
        direction = first_principal_direction(rows)
        summaries = {
            band: torch.einsum('sc...,c->s...', maps, direction)
            for band, maps in bands.items()
        }
    else:
        summaries = {band: maps.norm(dim=1) for band, maps in bands.items()}
    nmse = {
        band: float(band_divergences(maps[:1], maps[1:])['nmse'][0])
        for band, maps in bands.items()
    }
    return dict(
        component=component,
        maps={
            side: {
                band: summaries[band][i].cpu().numpy()
                for band in BANDS
            }
            for i, side in enumerate(SIDES)
        },
        nmse=nmse)


def image_for_display(image: torch.Tensor, bgr: bool = True) -> np.ndarray:
    """(C, H, W) image tensor -> (H, W, 3) or (H, W) float array in [0, 1].

    Three-channel images are converted from BGR (OpenCV's order) when
    ``bgr``; other channel counts show their first channel as grey.
    """
    array = image.detach().cpu().float().numpy()
    low, high = float(array.min()), float(array.max())
    array = (array - low) / (high - low) if high > low else array * 0
    if array.shape[0] == 3:
        array = array.transpose(1, 2, 0)
        return array[..., ::-1] if bgr else array
    return array[0]


def plot_band_visualization(rgb_image: torch.Tensor,
                            ir_image: torch.Tensor,
                            summaries: dict,
                            path: str,
                            side_labels: Dict[str, str],
                            title: Optional[str] = None) -> None:
    """Two rows (RGB side, IR side): the image, then full, low, high maps.

    Each band column shares one colour scale across the two rows (symmetric
    around 0 for PCA summaries); the IR row's titles give the normalised
    MSE between the sides in that band.

    Args:
        rgb_image (Tensor): (3, H, W) RGB image as loaded (BGR order).
        ir_image (Tensor): (C, H, W) IR image as loaded.
        summaries (dict): Output of :func:`band_summaries`.
        path (str): PNG file to write.
        side_labels (dict): Row labels for ``'reference'`` and
            ``'compared'``, e.g. ``dict(reference='teacher(RGB)', ...)``.
        title (str, optional): Figure title.
    """
    maps = summaries['maps']
    fig, axes = plt.subplots(2, 1 + len(BANDS), figsize=(13, 5.6))
    for row, (side, image) in enumerate(
            zip(SIDES, (image_for_display(rgb_image),
                        image_for_display(ir_image)))):
        axes[row][0].imshow(image, cmap=None if image.ndim == 3 else 'gray')
        axes[row][0].set_title('RGB' if row == 0 else 'IR')
        axes[row][0].set_ylabel(side_labels[side])
    for col, band in enumerate(BANDS, start=1):
        both = np.stack([maps[side][band] for side in SIDES])
        limit = float(np.abs(both).max()) or 1.0
        norm = dict(vmin=-limit, vmax=limit, cmap='coolwarm') \
            if summaries['component'] == 'pca' \
            else dict(vmin=0, vmax=limit, cmap='viridis')
        for row, side in enumerate(SIDES):
            ax = axes[row][col]
            image = ax.imshow(maps[side][band], **norm)
            label = band if row == 0 else \
                f"{band} (NMSE {summaries['nmse'][band]:.3f})"
            ax.set_title(label)
        fig.colorbar(image, ax=list(axes[:, col]), shrink=0.8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches='tight')
    plt.close(fig)
