"""Figures of the spectral-divergence and CKA results (PNG, no display)."""
import os
import os.path as osp
from typing import Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from .radial_bands import BANDS  # noqa: E402
from .spectral_divergence import DIVERGENCE_METRICS  # noqa: E402

BAND_STYLES = dict(
    full=dict(color='0.45', marker='s', linestyle='--'),
    low=dict(color='tab:blue', marker='o', linestyle='-'),
    high=dict(color='tab:red', marker='^', linestyle='-'))
METRIC_LABELS = dict(
    mse='MSE', nmse='normalised MSE', cosine_distance='cosine distance')


def _save(fig, path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches='tight')
    plt.close(fig)


def plot_spectral_divergence(results: dict,
                             path: str,
                             title: Optional[str] = None) -> None:
    """One panel per metric: divergence per block, one line per band.

    Error bars are the standard deviations over samples; each panel's title
    gives the high/low ratio of the block averages.

    Args:
        results (dict): Output of :meth:`SpectralDivergence.compute`.
        path (str): PNG file to write.
        title (str, optional): Figure title.
    """
    names = list(results['blocks'])
    positions = list(range(len(names)))
    columns = len(DIVERGENCE_METRICS)
    fig, axes = plt.subplots(
        1, columns, figsize=(4.2 * columns, 3.6), squeeze=False)
    for ax, metric in zip(axes[0], DIVERGENCE_METRICS):
        for band in BANDS:
            ax.errorbar(
                positions,
                [results['blocks'][n]['mean'][metric][band] for n in names],
                yerr=[results['blocks'][n]['std'][metric][band]
                      for n in names],
                label=band,
                capsize=3,
                **BAND_STYLES[band])
        ratio = results['average']['high_low_ratio'][metric]
        ax.set_title(f'{METRIC_LABELS[metric]} (high/low {ratio:.2f}x)')
        ax.set_xticks(positions)
        ax.set_xticklabels(names, rotation=45, ha='right')
        ax.set_xlabel('block')
        ax.grid(alpha=0.3)
    axes[0][0].legend(title='band')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_cka(results: dict, path: str, title: Optional[str] = None) -> None:
    """Linear CKA per block, one line per band.

    Args:
        results (dict): Output of :meth:`LinearCKA.compute`.
        path (str): PNG file to write.
        title (str, optional): Figure title.
    """
    names = list(results['blocks'])
    positions = list(range(len(names)))
    fig, ax = plt.subplots(figsize=(max(4.5, 0.8 * len(names) + 2), 3.6))
    for band in BANDS:
        ax.plot(
            positions, [results['blocks'][n]['cka'][band] for n in names],
            label=f"{band} (mean {results['average']['cka'][band]:.3f})",
            **BAND_STYLES[band])
    ax.set_xticks(positions)
    ax.set_xticklabels(names, rotation=45, ha='right')
    ax.set_xlabel('block')
    ax.set_ylabel('linear CKA')
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(title='band')
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)
