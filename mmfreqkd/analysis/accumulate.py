"""Run paired batches through the models and feed running statistics."""
from typing import Iterable, Optional, Protocol, Sequence

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .paired_features import PairedFeatureExtractor


class FeatureStatistic(Protocol):
    """What :func:`accumulate_features` feeds: ``update(name, ref, cmp)``."""

    def update(self, name: str, reference: torch.Tensor,
               compared: torch.Tensor) -> None:
        ...


def default_device() -> torch.device:
    """The first CUDA device when there is one, else the CPU."""
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def accumulate_features(extractor: PairedFeatureExtractor,
                        dataloader: Iterable,
                        statistics: Sequence[FeatureStatistic],
                        device: Optional[torch.device] = None,
                        progress: bool = True) -> int:
    """Feed the maps of every batch to running statistics.

    Only one batch of maps exists at a time; the statistics keep sums
    (e.g. :class:`~mmfreqkd.analysis.SpectralDivergence`,
    :class:`~mmfreqkd.analysis.LinearCKA`), so the number of samples is not
    limited by memory.

    Args:
        extractor (PairedFeatureExtractor): Gives the (reference, compared)
            maps of a batch per block; moved to ``device``.
        dataloader (Iterable): Collated paired batches.
        statistics (Sequence): Objects with ``update(name, reference,
            compared)``, called for every block of every batch.
        device (torch.device, optional): Where the models and the
            statistics run. Default: CUDA when available, else CPU.
        progress (bool): Show a tqdm progress bar. Default: True.

    Returns:
        int: Number of samples seen.
    """
    device = torch.device(device) if device is not None else default_device()
    extractor.to(device).eval()
    total = len(dataloader) if isinstance(dataloader, DataLoader) else None
    seen = 0
    with torch.no_grad():
        for batch in tqdm(dataloader, total=total, disable=not progress,
                          desc='paired features', unit='batch'):
            maps = extractor(batch)
            for name, (reference, compared) in maps.items():
                for statistic in statistics:
                    statistic.update(name, reference, compared)
            seen += next(iter(maps.values()))[0].shape[0]
    if seen == 0:
        raise RuntimeError('the dataloader gave no batch')
    return seen
