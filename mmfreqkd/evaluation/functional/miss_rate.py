"""Log-average miss rate (MR^-2) of pedestrian detection, as on KAIST.

The protocol is the one of Dollar et al.'s Caltech pedestrian toolbox
(``bbGt.m``: ``bbLoad`` filters, ``evalRes`` matching, ``compRoc`` sampling),
which the KAIST multispectral benchmark evaluation reuses:

1. Ground truth is split into positives and *ignore regions*
   (:func:`reasonable_ignore_flags`); a box the annotation itself flags
   (``ign``) is always an ignore region.
2. Per image, detections are taken by decreasing score and matched greedily
   (:func:`match_detections`): a detection is a true positive when it
   overlaps a still unmatched positive with IoU >= ``iou_thr`` (the best such
   positive is taken); otherwise, when it covers an ignore region by
   ``intersection / detection area >= iou_thr``, it is dropped (neither true
   nor false positive); otherwise it is a false positive. Positives win over
   ignore regions; an ignore region may absorb any number of detections.
3. Over the whole set, the kept detections sorted by score give the curve
   ``FPPI = cumulative FP / number of images`` and
   ``miss rate = 1 - cumulative TP / number of positives``
   (:func:`miss_rate_curve`).
4. The curve is sampled at the nine FPPI references ``10 ** linspace(-2, 0,
   9)``, taking the last curve point whose FPPI is <= the reference; where no
   point is (the detector already has more false positives per image than the
   reference at its most confident detection, or it has no detection at all)
   the sampled *detection rate* is 0, i.e. the miss rate is 1
   (:func:`sample_miss_rate`).
5. ``MR^-2 = exp(mean(log(max(1e-10, sampled miss rates))))``
   (:func:`log_average_miss_rate`): a perfect detector thus scores exactly
   ``1e-10`` (the clamp) and a detector that finds nothing scores 1.

Boxes are ``[x, y, w, h]`` (left, top, width, height) in pixels, areas are
continuous (``w * h``, no "+1" pixel convention), as in the toolbox.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

#: The nine FPPI reference points ``10^(-2:0.25:0)`` of the protocol.
FPPI_REFERENCES = np.logspace(-2.0, 0.0, 9)

#: Lower clamp of the sampled miss rates before the logarithm.
MISS_RATE_FLOOR = 1e-10


def _as_boxes(boxes, name: str) -> np.ndarray:
    """Return ``boxes`` as a float64 array of shape (N, 4), or raise."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f'{name} must have shape (N, 4) as [x, y, w, h], '
            f'got shape {boxes.shape}')
    return boxes


def reasonable_ignore_flags(
        boxes,
        labels: Sequence[str],
        occlusions: Sequence[int],
        positive_labels: Sequence[str] = ('person', ),
        height_range: Tuple[float, float] = (55, math.inf),
        visible_occlusions: Sequence[int] = (0, 1),
        bounds: Optional[Tuple[float, float, float,
                               float]] = (5, 5, 635, 507),
        annotated_ignore: Optional[Sequence[bool]] = None) -> np.ndarray:
    """Flag the ground-truth boxes that are ignore regions in a setting.

    A box is a positive when the annotation does not flag it
    (``annotated_ignore``), its label is in ``positive_labels``, its height
    lies in ``height_range`` (both ends included), its occlusion level is in
    ``visible_occlusions`` and the *whole* box lies inside ``bounds``: its
    left and right edges ``x`` and ``x + w`` are in ``[x_min, x_max]`` and its
    top and bottom edges ``y`` and ``y + h`` in ``[y_min, y_max]`` (the
    toolbox's ``xRng`` / ``yRng`` tests). Every other box is an ignore region.
    The defaults are KAIST's "reasonable" setting.

    Args:
        boxes (array-like): Ground-truth boxes, shape (N, 4), ``[x, y, w, h]``.
        labels (Sequence[str]): Label of each box (e.g. ``'person'``,
            ``'people'``, ``'cyclist'``, ``'person?'``), length N.
        occlusions (Sequence[int]): Occlusion level of each box (0 none,
            1 partial, 2 heavy), length N.
        positive_labels (Sequence[str]): Labels that can be positives.
        height_range (tuple[float, float]): Inclusive range of positive
            heights in pixels.
        visible_occlusions (Sequence[int]): Occlusion levels of positives.
        bounds (tuple[float, float, float, float] | None): ``(x_min, y_min,
            x_max, y_max)`` that positives must lie within; None disables
            the test.
        annotated_ignore (Sequence[bool] | None): The annotation's ignore
            flag of each box (``bbGt``'s ``ign``, ``iscrowd`` in COCO form),
            length N; a flagged box is an ignore region whatever its label,
            size or place, as in the toolbox's ``bbLoad``. None flags no
            box. Defaults to None.

    Returns:
        np.ndarray: Boolean ignore flags, shape (N,).
    """
    boxes = _as_boxes(boxes, 'boxes')
    num = len(boxes)
    if len(labels) != num or len(occlusions) != num:
        raise ValueError(
            f'got {num} boxes but {len(labels)} labels and '
            f'{len(occlusions)} occlusion levels')
    if annotated_ignore is not None and len(annotated_ignore) != num:
        raise ValueError(f'got {num} boxes but {len(annotated_ignore)} '
                         'annotated ignore flags')
    x, y, w, h = boxes.T
    positive = np.array([label in positive_labels for label in labels],
                        dtype=bool).reshape(num)
    if annotated_ignore is not None:
        positive &= ~np.asarray(annotated_ignore, dtype=bool).reshape(num)
    positive &= (h >= height_range[0]) & (h <= height_range[1])
    positive &= np.isin(np.asarray(occlusions, dtype=np.int64).reshape(num),
                        np.asarray(visible_occlusions, dtype=np.int64))
    if bounds is not None:
        x_min, y_min, x_max, y_max = bounds
        for low_edge, high_edge, lo, hi in ((x, x + w, x_min, x_max),
                                            (y, y + h, y_min, y_max)):
            positive &= (low_edge >= lo) & (low_edge <= hi)
            positive &= (high_edge >= lo) & (high_edge <= hi)
    return ~positive


def overlap_matrix(det_boxes, gt_boxes, gt_ignore) -> np.ndarray:
    """Overlap of every detection with every ground-truth box.

    For a positive ground-truth box the overlap is the IoU; for an ignore
    region it is ``intersection / detection area`` (the detection may cover
    any part of an ignore region).

    Args:
        det_boxes (array-like): Detections, shape (D, 4), ``[x, y, w, h]``.
        gt_boxes (array-like): Ground truth, shape (G, 4), ``[x, y, w, h]``.
        gt_ignore (array-like): Boolean ignore flags, shape (G,).

    Returns:
        np.ndarray: Overlaps, shape (D, G), in [0, 1].
    """
    det = _as_boxes(det_boxes, 'det_boxes')
    gt = _as_boxes(gt_boxes, 'gt_boxes')
    gt_ignore = np.asarray(gt_ignore, dtype=bool).reshape(len(gt))
    inter_w = (np.minimum(det[:, None, 0] + det[:, None, 2],
                          gt[None, :, 0] + gt[None, :, 2]) -
               np.maximum(det[:, None, 0], gt[None, :, 0]))
    inter_h = (np.minimum(det[:, None, 1] + det[:, None, 3],
                          gt[None, :, 1] + gt[None, :, 3]) -
               np.maximum(det[:, None, 1], gt[None, :, 1]))
    inter = np.clip(inter_w, 0, None) * np.clip(inter_h, 0, None)
    det_area = (det[:, 2] * det[:, 3])[:, None]
    gt_area = (gt[:, 2] * gt[:, 3])[None, :]
    denominator = np.where(gt_ignore[None, :], det_area,
                           det_area + gt_area - inter)
    with np.errstate(divide='ignore', invalid='ignore'):
        overlaps = np.where(inter > 0, inter / denominator, 0.0)
    return overlaps


def match_detections(det_boxes,
                     det_scores,
                     gt_boxes,
                     gt_ignore,
                     iou_thr: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Match the detections of one image to its ground truth.

    Detections are visited by decreasing score (stable for ties). Each takes
    the still unmatched positive with the highest IoU >= ``iou_thr`` (the last
    one on exact ties, as the toolbox); failing that, an ignore region it
    covers by ``intersection / detection area >= iou_thr`` makes it ignored;
    failing that, it is a false positive.

    Args:
        det_boxes (array-like): Detections, shape (D, 4), ``[x, y, w, h]``.
        det_scores (array-like): Detection scores, shape (D,).
        gt_boxes (array-like): Ground truth, shape (G, 4), ``[x, y, w, h]``.
        gt_ignore (array-like): Boolean ignore flags, shape (G,).
        iou_thr (float): Overlap threshold.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``det_match`` of shape (D,) and
        ``gt_match`` of shape (G,), int64, in the input order:
        for detections 1 true positive, 0 false positive, -1 ignored;
        for ground truth 1 matched, 0 missed, -1 ignore region.
    """
    det_boxes = _as_boxes(det_boxes, 'det_boxes')
    gt_boxes = _as_boxes(gt_boxes, 'gt_boxes')
    det_scores = np.asarray(det_scores, dtype=np.float64).reshape(-1)
    if len(det_scores) != len(det_boxes):
        raise ValueError(f'got {len(det_boxes)} detection boxes but '
                         f'{len(det_scores)} scores')
    gt_ignore = np.asarray(gt_ignore, dtype=bool).reshape(-1)
    if len(gt_ignore) != len(gt_boxes):
        raise ValueError(f'got {len(gt_boxes)} ground-truth boxes but '
                         f'{len(gt_ignore)} ignore flags')

    overlaps = overlap_matrix(det_boxes, gt_boxes, gt_ignore)
    det_match = np.zeros(len(det_boxes), dtype=np.int64)
    gt_match = np.where(gt_ignore, -1, 0).astype(np.int64)
    positives = np.flatnonzero(~gt_ignore)
    ignores = np.flatnonzero(gt_ignore)
    for d in np.argsort(-det_scores, kind='stable'):
        free = positives[gt_match[positives] == 0]
        candidates = free[overlaps[d, free] >= iou_thr]
        if len(candidates):
            best = overlaps[d, candidates]
            g = candidates[np.flatnonzero(best == best.max())[-1]]
            det_match[d] = 1
            gt_match[g] = 1
        elif np.any(overlaps[d, ignores] >= iou_thr):
            det_match[d] = -1
    return det_match, gt_match


def miss_rate_curve(det_scores, det_match, num_positives: int,
                    num_images: int) -> Tuple[np.ndarray, np.ndarray]:
    """FPPI / miss-rate curve over a set of images.

    Args:
        det_scores (array-like): Scores of all detections of the set,
            shape (D,).
        det_match (array-like): Their match flags from
            :func:`match_detections` (1 TP, 0 FP, -1 ignored), shape (D,).
            Ignored detections are left out of the curve.
        num_positives (int): Number of positive ground-truth boxes.
        num_images (int): Number of images of the set.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``fppi`` and ``miss_rate``, one point
        per kept detection in order of decreasing score (stable for ties),
        shape (K,) each. ``fppi`` is non-decreasing, ``miss_rate``
        non-increasing.
    """
    if num_positives <= 0:
        raise ValueError('the miss rate needs at least one positive '
                         f'ground-truth box, got {num_positives}')
    if num_images <= 0:
        raise ValueError(f'num_images must be positive, got {num_images}')
    det_scores = np.asarray(det_scores, dtype=np.float64).reshape(-1)
    det_match = np.asarray(det_match, dtype=np.int64).reshape(-1)
    if len(det_scores) != len(det_match):
        raise ValueError(f'got {len(det_scores)} scores but '
                         f'{len(det_match)} match flags')
    keep = det_match != -1
    order = np.argsort(-det_scores[keep], kind='stable')
    is_tp = det_match[keep][order] == 1
    fppi = np.cumsum(~is_tp) / num_images
    miss_rate = 1.0 - np.cumsum(is_tp) / num_positives
    return fppi, miss_rate


def sample_miss_rate(fppi, miss_rate,
                     references=FPPI_REFERENCES) -> np.ndarray:
    """Sample a miss-rate curve at reference FPPI values.

    At each reference the last curve point with ``fppi <= reference`` is
    taken. Before the first point the detection rate is 0, so a reference
    smaller than the FPPI of every point (or an empty curve) samples a miss
    rate of 1.

    Args:
        fppi (array-like): Non-decreasing FPPI of the curve points, shape (K,).
        miss_rate (array-like): Miss rate of the curve points, shape (K,).
        references (array-like): Reference FPPI values, shape (R,).

    Returns:
        np.ndarray: Sampled miss rates, shape (R,).
    """
    fppi = np.concatenate([[-np.inf], np.asarray(fppi, np.float64)])
    miss_rate = np.concatenate([[1.0], np.asarray(miss_rate, np.float64)])
    index = np.searchsorted(fppi, np.asarray(references), side='right') - 1
    return miss_rate[index]


def log_average_miss_rate(sampled_miss_rates) -> float:
    """``exp(mean(log(max(1e-10, m))))`` of sampled miss rates.

    Args:
        sampled_miss_rates (array-like): Miss rates at the references,
            shape (R,).

    Returns:
        float: The log-average miss rate, a fraction in [1e-10, 1].
    """
    sampled = np.maximum(MISS_RATE_FLOOR, np.asarray(sampled_miss_rates))
    return float(np.exp(np.mean(np.log(sampled))))


def evaluate_miss_rate(images: Sequence[dict],
                       iou_thr: float = 0.5,
                       references=FPPI_REFERENCES) -> Dict[str, object]:
    """Match, build the curve and compute MR^-2 over a set of images.

    Args:
        images (Sequence[dict]): One dict per image with ``det_boxes``
            (D, 4), ``det_scores`` (D,), ``gt_boxes`` (G, 4) and
            ``gt_ignore`` (G,); boxes ``[x, y, w, h]``. Images without
            detections or ground truth count in the FPPI all the same.
        iou_thr (float): Overlap threshold of :func:`match_detections`.
        references (array-like): FPPI references, shape (R,).

    Returns:
        dict: ``mr`` (float, MR^-2 as a fraction; NaN without positives),
        ``sampled_miss_rates`` (R,), ``fppi`` and ``miss_rate`` (the curve),
        ``num_images``, ``num_positives``, ``num_true_positives``,
        ``num_false_positives`` and ``num_ignored_detections``.
    """
    scores, matches = [], []
    num_positives = 0
    for image in images:
        det_match, gt_match = match_detections(
            image['det_boxes'], image['det_scores'], image['gt_boxes'],
            image['gt_ignore'], iou_thr)
        scores.append(np.asarray(image['det_scores'], np.float64).ravel())
        matches.append(det_match)
        num_positives += int(np.sum(gt_match != -1))
    scores = np.concatenate(scores) if scores else np.zeros(0)
    matches = np.concatenate(matches) if matches else np.zeros(0, np.int64)
    result = dict(
        num_images=len(images),
        num_positives=num_positives,
        num_true_positives=int(np.sum(matches == 1)),
        num_false_positives=int(np.sum(matches == 0)),
        num_ignored_detections=int(np.sum(matches == -1)))
    if num_positives == 0:
        nan = np.full(len(np.asarray(references)), np.nan)
        result.update(
            mr=math.nan,
            sampled_miss_rates=nan,
            fppi=np.zeros(0),
            miss_rate=np.zeros(0))
        return result
    fppi, miss_rate = miss_rate_curve(scores, matches, num_positives,
                                      len(images))
    sampled = sample_miss_rate(fppi, miss_rate, references)
    result.update(
        mr=log_average_miss_rate(sampled),
        sampled_miss_rates=sampled,
        fppi=fppi,
        miss_rate=miss_rate)
    return result
