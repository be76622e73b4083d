"""The paired samples an analysis runs on: the first N of a config's split."""
import copy
from typing import Optional

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, DefaultScope
from torch.utils.data import DataLoader, Dataset, Subset

SPLITS = ('train', 'val', 'test')


def build_analysis_dataset(cfg: Config, split: str = 'test') -> Dataset:
    """Build the dataset of ``<split>_dataloader`` with a fixed pipeline.

    The ``train`` split is read with the pipeline of the test (or val)
    dataloader, so that the analysis is deterministic (no random flip).

    Args:
        cfg (Config): A config with a paired dataset (e.g. a Stage-1 config).
        split (str): ``'train'``, ``'val'`` or ``'test'``. Default: 'test'.

    Returns:
        Dataset: The built dataset; its samples have
        ``inputs = dict(rgb=..., ir=...)``.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    key = f'{split}_dataloader'
    if not cfg.get(key) or 'dataset' not in cfg[key]:
        raise KeyError(f'the config has no {key}.dataset')
    dataset_cfg = copy.deepcopy(cfg[key]['dataset'])
    if split == 'train':
        fixed = [
            cfg[k]['dataset'] for k in ('test_dataloader', 'val_dataloader')
            if cfg.get(k) and 'pipeline' in cfg[k].get('dataset', {})
        ]
        if 'pipeline' not in dataset_cfg or not fixed:
            raise KeyError('split=train needs train_dataloader.dataset.'
                           'pipeline and a test or val dataset pipeline to '
                           'replace it with')
        dataset_cfg['pipeline'] = copy.deepcopy(fixed[0]['pipeline'])
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return DATASETS.build(dataset_cfg)


def build_analysis_dataloader(dataset: Dataset,
                              num_samples: Optional[int] = 500,
                              batch_size: int = 8,
                              num_workers: int = 2) -> DataLoader:
    """A loader over the first ``num_samples`` samples, in dataset order.

    Args:
        dataset (Dataset): From :func:`build_analysis_dataset`.
        num_samples (int, optional): How many samples from the start; None
            or more than the dataset holds means all of them. Default: 500
            (the paper's analysis).
        batch_size (int): Samples per batch. Default: 8.
        num_workers (int): Data loading processes. Default: 2.

    Returns:
        DataLoader: Unshuffled, ``pseudo_collate`` batches (what
        :class:`PairedDataPreprocessor` takes).
    """
    if num_samples is not None and num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    total = len(dataset)
    if total == 0:
        raise ValueError('the dataset is empty')
    count = total if num_samples is None else min(num_samples, total)
    return DataLoader(
        Subset(dataset, range(count)),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=pseudo_collate)
