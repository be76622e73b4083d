"""KAIST log-average miss rate (MR^-2), all / day / night."""
import json
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist

from mmfreqkd.utils.value_types import is_int, is_real_number
from ..functional import (FPPI_REFERENCES, evaluate_miss_rate,
                          reasonable_ignore_flags)

#: The reported subsets: every evaluated image, day frames, night frames.
SUBSETS = ('all', 'day', 'night')

#: Types accepted for the settings that list values (not str: a single
#: label would be split into its characters).
_COLLECTIONS = (list, tuple, set, frozenset)


def _image_mismatch(img_path: str, image: dict) -> Optional[str]:
    """Check that a sample's image is the JSON image entry of its id.

    Args:
        img_path (str): ``img_path`` of the evaluated sample.
        image (dict): The JSON image entry of the sample's ``img_id``.

    Returns:
        str | None: What the entry names (``file_name``, else ``frame``)
        when ``img_path`` is not that image; None when it is, or when the
        entry names neither.
    """
    path = osp.normpath(str(img_path)).replace('\\', '/')
    if image.get('file_name'):
        name = osp.normpath(str(image['file_name'])).replace('\\', '/')
        if path == name or path.endswith('/' + name):
            return None
        return f"file_name '{image['file_name']}'"
    if image.get('frame'):
        # KAIST frames 'setXX/VYYY/IZZZZZ' vs '.../setXX/VYYY/lwir/IZZZZZ.jpg'
        *folders, stem = str(image['frame']).split('/')
        parts = path.split('/')
        if (osp.splitext(parts[-1])[0] == stem
                and all(folder in parts[:-1] for folder in folders)):
            return None
        return f"frame '{image['frame']}'"
    return None


@METRICS.register_module()
class KAISTMissRateMetric(BaseMetric):
    """Log-average miss rate over FPPI in [1e-2, 1] on KAIST.

    Computes MR^-2 as the KAIST benchmark does (Dollar et al.'s toolbox, see
    :mod:`mmfreqkd.evaluation.functional.miss_rate`) on all evaluated images
    and on their day and night subsets. The ground truth is read from the
    KAIST COCO JSON written by ``tools/dataset_converters/kaist_to_coco.py``,
    whose annotations carry ``label``, ``occlusion`` and ``iscrowd``: a box is
    a positive when it is not marked ``iscrowd: 1``, its label is in
    ``positive_labels``, its height is in ``height_range``, its occlusion in
    ``occlusions`` and the whole box lies inside ``bounds``; every other box
    (``people``, ``cyclist``, ``person?``, ``person?a``, boxes whose ``bbGt``
    ``ign`` field is 1, small, heavily occluded or cut persons) is an ignore
    region. ``iscrowd`` plays the part of the toolbox's ``ign`` flag, which
    ``bbLoad`` honours whatever the setting; since the converter marks every
    label but ``person`` ``iscrowd: 1``, only ``person`` boxes can be
    positives in its files.
    The day / night split comes from the ``is_night`` field of the JSON
    images. All predicted boxes are person detections (KAIST has one class).

    Results are in **percent** (as in the KAIST literature), lower is better:
    ``kaist/MR_all``, ``kaist/MR_day``, ``kaist/MR_night``. A subset without
    images or positives reports NaN. A perfect detector scores ``1e-8``
    percent (the toolbox's ``1e-10`` clamp), one that finds nothing 100.

    Args:
        ann_file (str): The KAIST COCO JSON of the evaluated split.
        iou_thr (float): Overlap threshold of matching, in (0, 1].
            Defaults to 0.5.
        height_range (tuple[float, float]): Inclusive height range of
            positives in pixels: a finite ``min >= 0`` and a ``max >= min``
            that may be ``inf`` (no upper bound). Defaults to ``(55, inf)``.
        occlusions (Sequence[int]): Occlusion levels of positives, a
            non-empty subset of 0 (none), 1 (partial) and 2 (heavy).
            Defaults to ``(0, 1)``.
        bounds (tuple[float, float, float, float] | None): ``(x_min, y_min,
            x_max, y_max)``: positives have ``x_min <= x`` and
            ``x + w <= x_max``, ``y_min <= y`` and ``y + h <= y_max``;
            ``x_min < x_max`` and ``y_min < y_max`` (numbers, not NaN; an
            infinite one leaves that side open). None disables the test.
            Defaults to ``(5, 5, 635, 507)``.
        positive_labels (Sequence[str]): Annotation labels that can be
            positives (boxes marked ``iscrowd: 1`` never are): a non-empty
            sequence of strings (not one string), each of which must be the
            ``label`` of some annotation of ``ann_file`` (unless it has
            none).
            Defaults to ``('person', )``.
        det_height_margin (float | None): If given, a finite number >= 1:
            drop detections whose height is outside ``[h_min / margin,
            h_max * margin)`` before matching, as the Caltech ``dbEval``
            does with 1.25. The KAIST tooling does not, hence the default
            None (keep all detections).
        outfile_prefix (str | None): If given, write the detections to
            ``{outfile_prefix}.bbox.json`` (COCO results: ``image_id``,
            ``category_id`` 1, ``bbox`` ``[x, y, w, h]``, ``score``) and to
            ``{outfile_prefix}-test-{all,day,night}.txt`` in the format the
            KAIST Matlab / Python evaluation scripts read: one line
            ``frame_index,x,y,w,h,score`` per detection, ``frame_index`` the
            1-based rank of the frame (``setXX/VYYY/IZZZZZ``) among the
            evaluated frames of that subset sorted by name (the order of
            ``test-all-20.txt``, restarting at 1 in each file), boxes in the
            pixel coordinates of the annotation files. Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str | None): Metric name prefix. Defaults to ``'kaist'``.
        backend_args (dict | None): File backend arguments for ``ann_file``.
    """
    default_prefix: Optional[str] = 'kaist'

    def __init__(self,
                 ann_file: str,
                 iou_thr: float = 0.5,
                 height_range: Tuple[float, float] = (55, math.inf),
                 occlusions: Sequence[int] = (0, 1),
                 bounds: Optional[Tuple[float, float, float,
                                        float]] = (5, 5, 635, 507),
                 positive_labels: Sequence[str] = ('person', ),
                 det_height_margin: Optional[float] = None,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not ann_file:
            raise ValueError('KAISTMissRateMetric needs `ann_file`, the KAIST '
                             'COCO JSON with `label`, `occlusion` and '
                             '`iscrowd` fields')
        if not is_real_number(iou_thr) or not 0 < iou_thr <= 1:
            raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
        if (not isinstance(height_range, (list, tuple))
                or len(height_range) != 2
                or not all(is_real_number(h) for h in height_range)
                or not math.isfinite(height_range[0]) or height_range[0] < 0
                or not height_range[0] <= height_range[1]):
            raise ValueError(
                'height_range must be (min, max) pixel heights with a finite '
                'min >= 0 and max >= min (max may be inf), got '
                f'{height_range!r}')
        if (not isinstance(occlusions, _COLLECTIONS) or not occlusions
                or not all(is_int(level) for level in occlusions)
                or not set(occlusions) <= {0, 1, 2}):
            raise ValueError('occlusions must be a non-empty subset of the '
                             'KAIST occlusion levels (0, 1, 2), got '
                             f'{occlusions!r}')
        if bounds is not None and (
                not isinstance(bounds, (list, tuple)) or len(bounds) != 4
                or not all(is_real_number(b) for b in bounds)
                or not bounds[0] < bounds[2] or not bounds[1] < bounds[3]):
            raise ValueError('bounds must be (x_min, y_min, x_max, y_max) '
                             'with x_min < x_max and y_min < y_max, got '
                             f'{bounds!r}')
        if isinstance(positive_labels, str):
            raise ValueError(
                'positive_labels must be a sequence of labels, e.g. '
                f"('{positive_labels}', ), not the string "
                f'{positive_labels!r} (whose characters would be the labels)')
        if (not isinstance(positive_labels, _COLLECTIONS)
                or not positive_labels
                or not all(isinstance(label, str)
                           for label in positive_labels)):
            raise ValueError('positive_labels must be a non-empty sequence of '
                             f'str labels, got {positive_labels!r}')
        if det_height_margin is not None and (
                not is_real_number(det_height_margin)
                or not math.isfinite(det_height_margin)
                or not det_height_margin >= 1):
            raise ValueError('det_height_margin must be None or a finite '
                             f'number >= 1, got {det_height_margin!r}')
        self.ann_file = ann_file
        self.iou_thr = iou_thr
        self.height_range = tuple(float(h) for h in height_range)
        self.occlusions = tuple(occlusions)
        self.bounds = None if bounds is None else tuple(bounds)
        self.positive_labels = tuple(positive_labels)
        self.det_height_margin = det_height_margin
        self.outfile_prefix = outfile_prefix
        with get_local_path(ann_file, backend_args=backend_args) as path:
            with open(path) as f:
                coco = json.load(f)
        self.images, self.ground_truth = self._parse_ground_truth(coco)

    def _check_annotation(self, ann: dict) -> None:
        """Raise on an annotation whose fields cannot be KAIST's.

        Args:
            ann (dict): One entry of the JSON ``annotations``, with
                ``bbox``, ``label``, ``occlusion`` and ``iscrowd``.

        Raises:
            ValueError: Naming ``ann_file`` and the annotation id, unless
                ``bbox`` is 4 finite numbers ``[x, y, w, h]`` with
                ``w, h >= 0``, ``label`` a string, ``occlusion`` 0, 1 or 2
                and ``iscrowd`` 0 or 1.
        """
        where = f'{self.ann_file}: annotation {ann.get("id")}'
        bbox = ann['bbox']
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                or not all(is_real_number(v) and math.isfinite(v) for v in bbox)
                or bbox[2] < 0 or bbox[3] < 0):
            raise ValueError(f'{where} has bbox {bbox!r}; expected 4 finite '
                             'numbers [x, y, w, h] with w, h >= 0')
        if not isinstance(ann['label'], str):
            raise ValueError(f'{where} has label {ann["label"]!r}; expected '
                             "a string (e.g. 'person')")
        if not is_int(ann['occlusion']) or ann['occlusion'] not in (0, 1, 2):
            raise ValueError(
                f'{where} has occlusion {ann["occlusion"]!r}; expected a '
                'KAIST occlusion level 0 (none), 1 (partial) or 2 (heavy)')
        if (not isinstance(ann['iscrowd'], int)
                or ann['iscrowd'] not in (0, 1)):
            raise ValueError(f'{where} has iscrowd {ann["iscrowd"]!r}; '
                             'expected 0 or 1')

    def _parse_ground_truth(self, coco: dict) -> Tuple[dict, dict]:
        """Index the JSON images and flag each image's boxes.

        Args:
            coco (dict): The loaded KAIST COCO JSON.

        Returns:
            tuple[dict, dict]: ``images`` maps image id to its JSON entry;
            ``ground_truth`` maps image id to ``(boxes (G, 4) xywh,
            ignore (G,) bool)``; ``iscrowd: 1`` boxes are ignore regions.

        Raises:
            KeyError: On a missing list or field, naming ``ann_file``.
            ValueError: On a reused image id, an annotation field that
                cannot be KAIST's (see :meth:`_check_annotation`), or
                ``positive_labels`` of which one is the label of no
                annotation (in a file that has annotations), naming
                ``ann_file`` and the image or annotation id, or the labels
                the file has.
        """
        for key in ('images', 'annotations'):
            if key not in coco:
                raise KeyError(f'{self.ann_file} has no "{key}" list')
        images = {}
        for image in coco['images']:
            if 'id' not in image or 'is_night' not in image:
                raise KeyError(f'{self.ann_file}: image entry {image} lacks '
                               '"id" or "is_night"')
            if image['id'] in images:
                raise ValueError(
                    f'{self.ann_file}: image id {image["id"]!r} is used by '
                    f'two images ({images[image["id"]].get("file_name")} and '
                    f'{image.get("file_name")}); image ids must be unique')
            images[image['id']] = image
        per_image = {image_id: [] for image_id in images}
        for ann in coco['annotations']:
            for key in ('image_id', 'bbox', 'label', 'occlusion', 'iscrowd'):
                if key not in ann:
                    raise KeyError(
                        f'{self.ann_file}: annotation {ann.get("id")} lacks '
                        f'"{key}" (a KAIST COCO JSON written by '
                        'kaist_to_coco.py is needed)')
            if ann['image_id'] not in per_image:
                raise KeyError(f'{self.ann_file}: annotation {ann.get("id")} '
                               f'refers to unknown image {ann["image_id"]}')
            self._check_annotation(ann)
            per_image[ann['image_id']].append(ann)
        # a file without any box has no positive whatever the labels (NaN,
        # documented); otherwise a label absent from it is a typo or the
        # labels of another dataset
        file_labels = {ann['label'] for ann in coco['annotations']}
        unknown = [
            label for label in self.positive_labels
            if label not in file_labels
        ]
        if file_labels and unknown:
            raise ValueError(
                f'positive_labels {unknown} match no annotation label of '
                f'{self.ann_file}, whose labels are {sorted(file_labels)}; '
                'their boxes could never be positives')
        ground_truth = {}
        for image_id, anns in per_image.items():
            boxes = np.array([ann['bbox'] for ann in anns],
                             dtype=np.float64).reshape(-1, 4)
            ignore = reasonable_ignore_flags(
                boxes, [ann['label'] for ann in anns],
                [ann['occlusion'] for ann in anns],
                positive_labels=self.positive_labels,
                height_range=self.height_range,
                visible_occlusions=self.occlusions,
                bounds=self.bounds,
                annotated_ignore=[ann['iscrowd'] for ann in anns])
            ground_truth[image_id] = (boxes, ignore)
        return images, ground_truth

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the predicted boxes of each image.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Detection data samples as dicts
                with ``img_id``, ``img_path`` (optional, checked when given)
                and ``pred_instances`` holding ``bboxes`` (N, 4) xyxy in
                original image pixels and ``scores`` (N,).

        Raises:
            ValueError: When a sample's ``img_path`` is not the image that
                ``ann_file`` lists under its ``img_id`` (its ``file_name``,
                or ``frame``), e.g. when the evaluator's ``ann_file`` is the
                JSON of another split than the dataloader's.
        """
        for sample in data_samples:
            img_id = sample['img_id']
            if sample.get('img_path') is not None and img_id in self.images:
                expected = _image_mismatch(sample['img_path'],
                                           self.images[img_id])
                if expected is not None:
                    raise ValueError(
                        f'image id {img_id!r} is {expected} in the '
                        f'evaluator ann_file {self.ann_file}, but the '
                        'evaluated sample of that id is '
                        f'{sample["img_path"]}; the evaluator ann_file must '
                        'be the JSON of the split the dataloader reads '
                        '(compare val_evaluator.ann_file with '
                        'val_dataloader.dataset.ann_file, and the test_ '
                        'ones)')
            pred = sample['pred_instances']
            bboxes = pred['bboxes'].detach().cpu().numpy().astype(np.float64)
            xywh = bboxes.reshape(-1, 4).copy()
            xywh[:, 2:] -= xywh[:, :2]
            self.results.append(
                dict(
                    img_id=sample['img_id'],
                    bboxes=xywh,
                    scores=pred['scores'].detach().cpu().numpy().astype(
                        np.float64).reshape(-1)))

    def _keep_detection(self, boxes: np.ndarray) -> np.ndarray:
        """Mask of the detections kept by the optional height filter."""
        if self.det_height_margin is None:
            return np.ones(len(boxes), dtype=bool)
        low = self.height_range[0] / self.det_height_margin
        high = self.height_range[1] * self.det_height_margin
        return (boxes[:, 3] >= low) & (boxes[:, 3] < high)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute MR^-2 on all images and on the day and night subsets.

        Args:
            results (list[dict]): The outputs of :meth:`process`.

        Returns:
            dict[str, float]: ``MR_all``, ``MR_day`` and ``MR_night`` in
            percent.
        """
        logger = MMLogger.get_current_instance()
        seen = set()
        subsets = {name: [] for name in SUBSETS}
        for result in results:
            img_id = result['img_id']
            if img_id not in self.ground_truth:
                raise KeyError(f'image id {img_id} of the predictions is not '
                               f'in {self.ann_file}')
            if img_id in seen:
                raise ValueError(f'image id {img_id} was evaluated twice; '
                                 'each image must be counted once in FPPI')
            seen.add(img_id)
            gt_boxes, gt_ignore = self.ground_truth[img_id]
            keep = self._keep_detection(result['bboxes'])
            image = dict(
                img_id=img_id,
                det_boxes=result['bboxes'][keep],
                det_scores=result['scores'][keep],
                gt_boxes=gt_boxes,
                gt_ignore=gt_ignore)
            subsets['all'].append(image)
            night = bool(self.images[img_id]['is_night'])
            subsets['night' if night else 'day'].append(image)
        if len(seen) < len(self.ground_truth):
            logger.warning(
                f'{self.ann_file}: {len(self.ground_truth) - len(seen)} of '
                f'its {len(self.ground_truth)} images were not evaluated '
                '(filter_empty_gt or indices in the dataset config?); FPPI '
                f'and the miss rates count the {len(seen)} evaluated images '
                'only')

        if self.outfile_prefix is not None:
            self._dump(subsets)

        metrics = OrderedDict()
        lines = [
            'KAIST log-average miss rate (reasonable: height '
            f'{self.height_range}, occlusion {self.occlusions}, bounds '
            f'{self.bounds}, IoU {self.iou_thr}); miss rate at FPPI ' +
            ' '.join(f'{r:.3g}' for r in FPPI_REFERENCES)
        ]
        for name, images in subsets.items():
            evaluation = evaluate_miss_rate(images, self.iou_thr)
            metrics[f'MR_{name}'] = evaluation['mr'] * 100
            sampled = ' '.join(f'{m:.4f}'
                               for m in evaluation['sampled_miss_rates'])
            lines.append(
                f'{name:>5}: MR^-2 {evaluation["mr"] * 100:.2f}% | '
                f'{evaluation["num_images"]} images, '
                f'{evaluation["num_positives"]} positives, '
                f'{evaluation["num_true_positives"]} TP, '
                f'{evaluation["num_false_positives"]} FP, '
                f'{evaluation["num_ignored_detections"]} ignored | {sampled}')
        logger.info('\n'.join(lines))
        undefined = [f'{self.prefix}/{name}' if self.prefix else name
                     for name, mr in metrics.items() if mr != mr]
        if undefined:
            logger.warning(
                f'{", ".join(undefined)} undefined (NaN): no image or no '
                'positive in the subset; positives are the boxes of height '
                f'{self.height_range}, occlusion {self.occlusions} within '
                f'{self.bounds} (small images, e.g. synthetic data below '
                '640x512, may hold none: widen height_range to evaluate '
                'them)')
        return metrics

    def _dump(self, subsets: Dict[str, List[dict]]) -> None:
        """Write the detections as COCO JSON and KAIST evaluation text files.

        Args:
            subsets (dict[str, list[dict]]): Per subset name, the per-image
                dicts built in :meth:`compute_metrics`.
        """
        directory = osp.dirname(self.outfile_prefix)
        if directory:
            mkdir_or_exist(directory)
        coco_results = []
        for image in subsets['all']:
            for box, score in zip(image['det_boxes'], image['det_scores']):
                coco_results.append(
                    dict(
                        image_id=image['img_id'],
                        category_id=1,
                        bbox=[float(v) for v in box],
                        score=float(score)))
        with open(f'{self.outfile_prefix}.bbox.json', 'w') as f:
            json.dump(coco_results, f)
        for name, images in subsets.items():
            frames = []
            for image in images:
                entry = self.images[image['img_id']]
                if 'frame' not in entry:
                    raise KeyError(
                        f'{self.ann_file}: image {image["img_id"]} lacks '
                        '"frame" (setXX/VYYY/IZZZZZ), needed to write the '
                        'KAIST text results')
                frames.append((entry['frame'], image))
            frames.sort(key=lambda item: item[0])
            with open(f'{self.outfile_prefix}-test-{name}.txt', 'w') as f:
                for index, (_, image) in enumerate(frames, start=1):
                    for (x, y, w, h), score in zip(image['det_boxes'],
                                                   image['det_scores']):
                        f.write(f'{index},{x:.4f},{y:.4f},{w:.4f},{h:.4f},'
                                f'{score:.8f}\n')
