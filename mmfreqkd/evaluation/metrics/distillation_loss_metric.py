"""Validation metric of Stage-1 distillation: the losses on held-out pairs."""
from collections import defaultdict
from typing import Dict, List, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS


@METRICS.register_module()
class DistillationLossMetric(BaseMetric):
    """Average the per-sample distillation losses over the validation set.

    A distiller in ``predict`` mode returns, for every image, a dict of
    per-sample losses (``loss_block7_low``, ...). This metric averages each
    term over the whole split and adds their sum as ``loss``, so a config can
    keep the best Stage-1 checkpoint with
    ``default_hooks.checkpoint.save_best='distill/loss', rule='less'``.

    Args:
        collect_device (str): Device used to gather results across ranks.
        prefix (str): Prefix of the metric names. Defaults to ``'distill'``.
    """
    default_prefix = 'distill'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append({
                name: float(value)
                for name, value in sample.items() if name.startswith('loss_')
            })

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('DistillationLossMetric received no samples')
        sums = defaultdict(float)
        for sample in results:
            for name, value in sample.items():
                sums[name] += value
        metrics = {name: total / len(results) for name, total in sums.items()}
        metrics['loss'] = sum(metrics.values())
        return metrics
