"""Walk a dataset and the datasets its wrappers hold."""
from typing import Iterator, Tuple


def nested_datasets(dataset, where: str = 'dataset'
                    ) -> Iterator[Tuple[object, str]]:
    """A dataset and every dataset it wraps, outermost first.

    Args:
        dataset: A dataset, possibly a wrapper (``ConcatDataset`` through
            ``datasets``, ``RepeatDataset`` / ``ClassBalancedDataset`` /
            mmdet's ``MultiImageMixDataset`` through ``dataset``).
        where (str): Config path of ``dataset``, for error messages.
            Defaults to ``'dataset'``.

    Yields:
        tuple: ``(dataset, its config path)``, e.g.
        ``(inner, 'train_dataloader.dataset.datasets[1]')``.
    """
    yield dataset, where
    for index, inner in enumerate(getattr(dataset, 'datasets', None) or ()):
        yield from nested_datasets(inner, f'{where}.datasets[{index}]')
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield from nested_datasets(inner, f'{where}.dataset')
