"""MFNet mIoU over the whole test set, with day / night subsets."""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmfreqkd.datasets.mfnet import is_night_frame


@METRICS.register_module()
class MFNetIoUMetric(IoUMetric):
    """mIoU of MFNet, all test images and their day / night subsets.

    Like mmseg's :class:`IoUMetric`, per-class intersections and unions are
    summed over the whole set (one confusion matrix, not a mean of per-image
    scores); pixels whose label is ``ignore_index`` (255) are skipped, class 0
    (``unlabelled``) is an ordinary class. The reported means follow the
    MFNet convention: by default mIoU averages all 9 classes *including*
    ``unlabelled``; ``ignore_unlabelled=True`` leaves its IoU out of the mean
    (its pixels still count, e.g. a car predicted on unlabelled ground lowers
    the car IoU). To skip the unlabelled pixels entirely, set
    ``ignore_index=0`` *and* ``ignore_unlabelled=True``: ``ignore_index=0``
    alone, as in :class:`IoUMetric`, only drops the pixels labelled 0, so
    class 0 keeps no label pixels and its IoU is 0 as soon as it is
    predicted on any evaluated pixel, and that 0 stays in the means.
    A class absent from both labels and predictions of a subset has no IoU
    and is left out of that subset's mean.

    Day / night come from the ``is_night`` meta key of a data sample when
    present, else from the image name (``...N.png`` night, ``...D.png`` day).

    Metrics, in percent and unrounded: ``aAcc``, ``mIoU``, ``mAcc``,
    ``mIoU_day``, ``mIoU_night`` (NaN for an empty subset); the per-class IoU
    of all / day / night is logged as a table.

    Args:
        ignore_unlabelled (bool): Leave class ``unlabelled_index`` out of the
            means. Defaults to False.
        unlabelled_index (int): Index of the ``unlabelled`` class, in
            ``[0, number of classes)`` (checked when the dataset meta is
            set). Defaults to 0.
        ignore_index (int): Label value skipped in evaluation. Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        output_dir (str | None): Write predicted label PNGs there, as
            :class:`IoUMetric`. Defaults to None.
        format_only (bool): Only write the PNGs. Defaults to False.
        prefix (str | None): Metric name prefix. Defaults to None.
    """

    def __init__(self,
                 ignore_unlabelled: bool = False,
                 unlabelled_index: int = 0,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None) -> None:
        if isinstance(unlabelled_index, bool) or not isinstance(
                unlabelled_index, int) or unlabelled_index < 0:
            raise ValueError('unlabelled_index must be an int >= 0, got '
                             f'{unlabelled_index!r}')
        super().__init__(
            ignore_index=ignore_index,
            iou_metrics=['mIoU'],
            collect_device=collect_device,
            output_dir=output_dir,
            format_only=format_only,
            prefix=prefix)
        self.ignore_unlabelled = ignore_unlabelled
        self.unlabelled_index = unlabelled_index

    @IoUMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        """Set the dataset meta; ``unlabelled_index`` must index its classes.

        Args:
            dataset_meta (dict): The dataset's meta info, with ``classes``.
        """
        classes = dataset_meta['classes']
        if self.unlabelled_index >= len(classes):
            raise ValueError(
                f'unlabelled_index {self.unlabelled_index} is not a class '
                f'index of the dataset, which has {len(classes)} classes '
                f'{tuple(classes)}')
        self._dataset_meta = dataset_meta

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulate per-class areas of each sample, tagged day or night.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Segmentation data samples as dicts
                with ``pred_sem_seg``, ``gt_sem_seg`` (``data`` of shape
                (1, H, W)), ``img_path`` and optionally ``is_night`` and
                ``seg_map_path``.

        Raises:
            ValueError: When a label is not of its prediction's shape or
                holds values outside ``[0, number of classes)`` other than
                ``ignore_index`` (naming ``img_path`` and ``seg_map_path``).
        """
        if not self.format_only:
            num_classes = len(self.dataset_meta['classes'])
            for sample in data_samples:
                self._check_label(sample, num_classes)
        start = len(self.results)
        super().process(data_batch, data_samples)
        if self.format_only:
            return
        for index, sample in enumerate(data_samples, start=start):
            night = sample['is_night'] if 'is_night' in sample else \
                is_night_frame(sample['img_path'])
            self.results[index] = (*self.results[index], bool(night))

    def _check_label(self, sample: dict, num_classes: int) -> None:
        """Raise unless the label of a sample fits its prediction.

        Pixels labelled ``>= num_classes`` would be dropped from the label
        areas but kept in the unions, which silently lowers the IoU and
        leaves ``aAcc`` unchanged; a label of another shape (e.g. a colour
        palette PNG, or a map of another size) fails far away or not at all.

        Args:
            sample (dict): Data sample with ``pred_sem_seg``, ``gt_sem_seg``,
                ``img_path`` and optionally ``seg_map_path``.
            num_classes (int): Number of classes of the dataset.

        Raises:
            ValueError: When the label and prediction shapes differ, or the
                label holds values outside ``[0, num_classes)`` other than
                ``ignore_index``, naming ``img_path`` / ``seg_map_path``.
        """
        pred = sample['pred_sem_seg']['data']
        label = sample['gt_sem_seg']['data']
        where = f'img_path={sample.get("img_path")}'
        if sample.get('seg_map_path') is not None:
            where += f', seg_map_path={sample["seg_map_path"]}'
        if pred.squeeze().shape != label.squeeze().shape:
            raise ValueError(
                f'{type(self).__name__}: the label of {where} has shape '
                f'{tuple(label.shape)} but the prediction '
                f'{tuple(pred.shape)}; labels must be one-channel class '
                'index maps of the image size (not colour palette images), '
                'resized with the image in the pipeline')
        invalid = ((label < 0) | (label >= num_classes)) & (
            label != self.ignore_index)
        if invalid.any():
            values = torch.unique(label[invalid]).tolist()
            shown = values[:10] + (['...'] if len(values) > 10 else [])
            raise ValueError(
                f'{type(self).__name__}: the label of {where} holds values '
                f'{shown} ({int(invalid.sum())} pixels), outside the class '
                f'indices [0, {num_classes}) and the ignore_index '
                f'{self.ignore_index}')

    def _class_scores(self, results: List[tuple]) -> Dict[str, np.ndarray]:
        """Per-class IoU and accuracy, and overall accuracy, of results.

        Args:
            results (list[tuple]): ``(intersect, union, pred_area,
                label_area, is_night)`` per image, areas of shape (C,).

        Returns:
            dict[str, np.ndarray]: ``IoU`` and ``Acc`` of shape (C,) and
            ``aAcc`` (scalar), fractions; NaN where undefined.
        """
        num_classes = len(self.dataset_meta['classes'])
        if not results:
            nan = np.full(num_classes, np.nan)
            return dict(IoU=nan, Acc=nan, aAcc=np.array(np.nan))
        areas = [sum(r[i] for r in results) for i in range(4)]
        intersect, union, _, label = (torch.as_tensor(a, dtype=torch.float64)
                                      for a in areas)
        return dict(
            IoU=(intersect / union).numpy(),
            Acc=(intersect / label).numpy(),
            aAcc=(intersect.sum() / label.sum()).numpy())

    def _mean(self, values: np.ndarray) -> float:
        """Mean over the classes counted in the means, in percent."""
        keep = np.ones(len(values), dtype=bool)
        if self.ignore_unlabelled:
            keep[self.unlabelled_index] = False
        values = values[keep]
        if np.all(np.isnan(values)):
            return float('nan')
        return float(np.nanmean(values) * 100)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute mIoU on all images and on the day and night subsets.

        Args:
            results (list[tuple]): The outputs of :meth:`process`.

        Returns:
            dict[str, float]: ``aAcc``, ``mIoU``, ``mAcc``, ``mIoU_day``,
            ``mIoU_night`` in percent.
        """
        logger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'results are saved to {self.output_dir}')
            return OrderedDict()
        scores = {
            'all': self._class_scores(results),
            'day': self._class_scores([r for r in results if not r[4]]),
            'night': self._class_scores([r for r in results if r[4]]),
        }
        metrics = OrderedDict(
            aAcc=float(scores['all']['aAcc'] * 100),
            mIoU=self._mean(scores['all']['IoU']),
            mAcc=self._mean(scores['all']['Acc']),
            mIoU_day=self._mean(scores['day']['IoU']),
            mIoU_night=self._mean(scores['night']['IoU']))

        table = PrettyTable()
        table.add_column('Class', list(self.dataset_meta['classes']))
        for name, score in scores.items():
            table.add_column(f'IoU {name}',
                             np.round(score['IoU'] * 100, 2).tolist())
        table.add_column('Acc all', np.round(scores['all']['Acc'] * 100,
                                             2).tolist())
        print_log('per class results:\n' + table.get_string(), logger=logger)
        return metrics
