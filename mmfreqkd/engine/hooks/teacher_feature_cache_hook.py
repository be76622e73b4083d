"""Check the data pipelines before a distiller caches teacher maps."""
from typing import Iterator, Tuple

from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmfreqkd.datasets.nested_datasets import nested_datasets


def dataset_pipelines(dataset, where: str) -> Iterator[Tuple[object, str]]:
    """The pipelines of a dataset and of the datasets it wraps.

    Args:
        dataset: A dataset, possibly a wrapper (see
            :func:`~mmfreqkd.datasets.nested_datasets.nested_datasets`).
        where (str): Config path of ``dataset``, for error messages.

    Yields:
        tuple: ``(pipeline, config path of the pipeline)``.
    """
    for inner, path in nested_datasets(dataset, where):
        pipeline = getattr(inner, 'pipeline', None)
        if pipeline is not None:
            yield pipeline, f'{path}.pipeline'


@HOOKS.register_module()
class TeacherFeatureCacheHook(Hook):
    """Refuse pipelines under which cached teacher maps would be wrong.

    Before training, validation and testing, every pipeline of the loop's
    dataset (wrapped datasets included) goes through
    :meth:`TeacherFeatureCache.check_pipeline` of the model's
    ``teacher_cache``; a pipeline that changes the RGB image in a way the
    cache key does not record raises ``ValueError`` before the first
    iteration. Models without a teacher cache are left alone. Add it with::

        custom_hooks = [dict(type='TeacherFeatureCacheHook')]

    and log the hit rate of the cache every ``log_interval`` training
    iterations (0 disables it).

    Args:
        log_interval (int): Iterations between hit-rate log lines.
            Defaults to 500.
    """

    priority = 'VERY_HIGH'

    def __init__(self, log_interval: int = 500):
        self.log_interval = log_interval

    @staticmethod
    def _cache(runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        return getattr(model, 'teacher_cache', None)

    def _check(self, runner, dataloader, name: str) -> None:
        cache = self._cache(runner)
        if cache is None:
            return
        for pipeline, where in dataset_pipelines(dataloader.dataset,
                                                 f'{name}.dataset'):
            cache.check_pipeline(pipeline, where)

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_loop.dataloader, 'train_dataloader')

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_loop.dataloader, 'val_dataloader')

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_loop.dataloader, 'test_dataloader')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        cache = self._cache(runner)
        if cache is None or not self.log_interval or \
                not self.every_n_train_iters(runner, self.log_interval):
            return
        lookups = cache.hits + cache.misses
        MMLogger.get_current_instance().info(
            f'teacher feature cache: {len(cache)}/{cache.max_items} samples '
            f'stored, hit rate {cache.hits / max(lookups, 1):.1%} over '
            f'{lookups} lookups')
