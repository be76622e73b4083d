"""Hand-worked checks of the MR^-2 computation (no OpenMMLab needed)."""
import math

import numpy as np
import pytest

from mmfreqkd.evaluation.functional import (FPPI_REFERENCES,
                                            evaluate_miss_rate,
                                            log_average_miss_rate,
                                            match_detections,
                                            miss_rate_curve, overlap_matrix,
                                            reasonable_ignore_flags,
                                            sample_miss_rate)


def image(det_boxes, det_scores, gt_boxes, gt_ignore):
    return dict(
        det_boxes=np.array(det_boxes, dtype=float).reshape(-1, 4),
        det_scores=np.array(det_scores, dtype=float),
        gt_boxes=np.array(gt_boxes, dtype=float).reshape(-1, 4),
        gt_ignore=np.array(gt_ignore, dtype=bool))


def test_fppi_references_are_the_nine_protocol_points():
    expected = [10**(-2 + 0.25 * i) for i in range(9)]
    np.testing.assert_allclose(FPPI_REFERENCES, expected, rtol=1e-12)


def test_overlap_is_iou_for_positives_and_cover_for_ignore_regions():
    det = [[0, 0, 10, 10]]
    gt = [[5, 0, 10, 10], [5, 0, 10, 10]]
    overlaps = overlap_matrix(det, gt, [False, True])
    # intersection 5 x 10 = 50; union 100 + 100 - 50; detection area 100
    np.testing.assert_allclose(overlaps, [[50 / 150, 50 / 100]])
    # touching boxes do not overlap
    assert overlap_matrix([[0, 0, 10, 10]], [[10, 0, 5, 5]], [False])[0, 0] \
        == 0


def test_reasonable_setting_flags_each_rule():
    boxes = [
        [100, 100, 30, 55],  # person, height 55: positive
        [100, 100, 30, 54],  # too small
        [100, 100, 30, 80],  # heavily occluded (occlusion 2)
        [100, 100, 30, 80],  # partial occlusion: positive
        [4, 100, 30, 80],  # left edge x = 4 < 5
        [605, 100, 30, 80],  # right edge 635: positive
        [606, 100, 30, 80],  # right edge 636 > 635
        [100, 5, 30, 80],  # top edge y = 5: positive
        [100, 428, 30, 80],  # bottom edge 508 > 507
        [100, 100, 30, 80],  # people
        [100, 100, 30, 80],  # cyclist
        [100, 100, 30, 80],  # person?
        [100, 100, 30, 80],  # person?a
    ]
    labels = ['person'] * 9 + ['people', 'cyclist', 'person?', 'person?a']
    occlusions = [0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    ignore = reasonable_ignore_flags(boxes, labels, occlusions)
    expected = [False, True, True, False, True, False, True, False, True,
                True, True, True, True]
    assert ignore.tolist() == expected


def test_annotated_ignore_flag_overrides_every_rule():
    # three reasonable persons and a people box; the second person and the
    # people box are flagged by the annotation (bbGt `ign`)
    boxes = [[100, 100, 30, 80]] * 4
    labels = ['person', 'person', 'person', 'people']
    ignore = reasonable_ignore_flags(
        boxes, labels, [0, 0, 1, 0],
        annotated_ignore=[False, True, False, True])
    assert ignore.tolist() == [False, True, False, True]
    # a flag cannot turn an ignored box into a positive
    ignore = reasonable_ignore_flags(
        boxes, labels, [0, 0, 2, 0],
        annotated_ignore=[False, False, False, False])
    assert ignore.tolist() == [False, False, True, True]


def test_reasonable_flags_reject_mismatched_lengths():
    with pytest.raises(ValueError, match='2 boxes but 1 labels'):
        reasonable_ignore_flags([[0, 0, 1, 1]] * 2, ['person'], [0, 0])
    with pytest.raises(ValueError, match='2 boxes but 3 annotated ignore'):
        reasonable_ignore_flags([[0, 0, 1, 1]] * 2, ['person'] * 2, [0, 0],
                                annotated_ignore=[0, 0, 1])


def test_matching_is_greedy_by_score():
    gt = [[100, 100, 40, 100]]
    # both detections match the person; the higher score takes it
    det_match, gt_match = match_detections(
        [[100, 100, 40, 100], [102, 100, 40, 100]], [0.3, 0.9], gt, [False])
    assert det_match.tolist() == [0, 1]
    assert gt_match.tolist() == [1]


def test_matching_takes_best_iou_and_prefers_positives_over_ignore():
    gt = [[0, 0, 40, 100], [10, 0, 40, 100], [0, 0, 40, 100]]
    ignore = [False, False, True]
    # IoU with gt0 = 1, with gt1 = 30/50 = 0.6; cover of the ignore region 1
    det_match, gt_match = match_detections([[0, 0, 40, 100]], [0.5], gt,
                                           ignore)
    assert det_match.tolist() == [1]
    assert gt_match.tolist() == [1, 0, -1]


def test_detection_on_ignore_region_is_dropped_and_region_absorbs_many():
    gt = [[200, 100, 100, 100]]  # e.g. a `people` box
    dets = [[210, 110, 20, 50], [250, 120, 20, 50], [180, 100, 40, 50]]
    # covers: 1, 1, and 20 * 50 / (40 * 50) = 0.5 (>= 0.5 counts)
    det_match, gt_match = match_detections(dets, [0.9, 0.8, 0.7], gt, [True])
    assert det_match.tolist() == [-1, -1, -1]
    assert gt_match.tolist() == [-1]
    # just below half covered: a false positive
    det_match, _ = match_detections([[179, 100, 40, 50]], [0.9], gt, [True])
    assert det_match.tolist() == [0]


def test_perfect_detections_give_the_clamp():
    images = [
        image([[10, 10, 30, 80]], [0.9], [[10, 10, 30, 80]], [False]),
        image([[100, 10, 30, 80], [300, 10, 30, 80]], [0.8, 0.7],
              [[100, 10, 30, 80], [300, 10, 30, 80]], [False, False]),
        image([], [], [], []),
    ]
    result = evaluate_miss_rate(images)
    assert result['num_positives'] == 3
    assert result['num_true_positives'] == 3
    assert result['num_false_positives'] == 0
    np.testing.assert_array_equal(result['sampled_miss_rates'], np.zeros(9))
    # exp(mean of nine log(1e-10)) == 1e-10
    assert result['mr'] == pytest.approx(1e-10, rel=1e-12)


def test_no_detections_give_one():
    images = [image([], [], [[10, 10, 30, 80]], [False])]
    result = evaluate_miss_rate(images)
    np.testing.assert_array_equal(result['sampled_miss_rates'], np.ones(9))
    assert result['mr'] == 1.0


def test_false_positive_on_top_vs_on_ignore_region():
    gt = [[10, 10, 30, 80], [200, 100, 100, 100]]
    dets = [[220, 120, 30, 60], [10, 10, 30, 80]]
    scores = [0.95, 0.9]
    # the 0.95 detection lies inside the second box; as an ignore region
    # (e.g. `people`) it absorbs the detection and the result is perfect
    with_ignore = evaluate_miss_rate([image(dets, scores, gt, [False, True])])
    assert with_ignore['num_ignored_detections'] == 1
    assert with_ignore['num_false_positives'] == 0
    assert with_ignore['mr'] == pytest.approx(1e-10, rel=1e-12)
    # without the region the 0.95 detection is a false positive of the only
    # image: the curve is (FPPI 1, miss 1), (FPPI 1, miss 0). The eight
    # references below 1 sample miss 1, the reference 1 samples miss 0.
    without = evaluate_miss_rate([image(dets, scores, gt[:1], [False])])
    assert without['num_false_positives'] == 1
    np.testing.assert_array_equal(without['sampled_miss_rates'],
                                  [1] * 8 + [0])
    assert without['mr'] == pytest.approx(10**(-10 / 9), rel=1e-12)


def test_small_and_occluded_persons_are_neither_tp_nor_fp():
    boxes = [[100, 100, 20, 40], [300, 100, 40, 100], [400, 100, 40, 100]]
    ignore = reasonable_ignore_flags(boxes, ['person'] * 3, [0, 2, 0])
    assert ignore.tolist() == [True, True, False]
    dets = [[100, 100, 20, 40], [300, 100, 40, 100], [400, 100, 40, 100]]
    det_match, gt_match = match_detections(dets, [0.99, 0.98, 0.5], boxes,
                                           ignore)
    assert det_match.tolist() == [-1, -1, 1]
    assert gt_match.tolist() == [-1, -1, 1]
    result = evaluate_miss_rate([image(dets, [0.99, 0.98, 0.5], boxes,
                                       ignore)])
    assert result['num_positives'] == 1
    assert result['mr'] == pytest.approx(1e-10, rel=1e-12)


def test_curve_points_by_hand():
    # scores out of order; the ignored detection leaves no point
    fppi, miss = miss_rate_curve(
        det_scores=[0.2, 0.9, 0.5, 0.7, 0.6],
        det_match=[1, 0, -1, 1, 0],
        num_positives=4,
        num_images=2)
    # sorted kept: 0.9 FP, 0.7 TP, 0.6 FP, 0.2 TP
    np.testing.assert_allclose(fppi, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(miss, [1.0, 0.75, 0.75, 0.5])


def test_sampling_takes_last_point_at_or_left_of_each_reference():
    fppi = [0.005, 0.02, 0.05, 0.3, 0.9, 2.0]
    miss = [0.9, 0.8, 0.6, 0.4, 0.3, 0.1]
    # references 0.01 0.0178 0.0316 0.0562 0.1 0.178 0.316 0.562 1
    expected = [0.9, 0.9, 0.8, 0.6, 0.6, 0.6, 0.4, 0.4, 0.3]
    np.testing.assert_allclose(sample_miss_rate(fppi, miss), expected)
    # a point exactly at a reference (0.1) counts; none at or before -> 1
    sampled = sample_miss_rate([0.1, 0.5], [0.7, 0.2])
    np.testing.assert_allclose(sampled, [1, 1, 1, 1, 0.7, 0.7, 0.7, 0.2, 0.2])
    np.testing.assert_allclose(sample_miss_rate([], []), np.ones(9))
    mr = log_average_miss_rate(expected)
    assert mr == pytest.approx(math.exp(np.mean(np.log(expected))))


def test_log_average_clamps_zero_miss_rates():
    sampled = [0.5] * 8 + [0.0]
    expected = math.exp((8 * math.log(0.5) + math.log(1e-10)) / 9)
    assert log_average_miss_rate(sampled) == pytest.approx(expected)


def test_without_positives_the_miss_rate_is_undefined():
    result = evaluate_miss_rate([image([[0, 0, 10, 10]], [0.5], [], [])])
    assert math.isnan(result['mr'])
    with pytest.raises(ValueError, match='at least one positive'):
        miss_rate_curve([0.5], [0], num_positives=0, num_images=1)


def test_bad_box_shapes_are_reported():
    with pytest.raises(ValueError, match=r'det_boxes must have shape'):
        match_detections([[0, 0, 1]], [0.5], [], [])
    with pytest.raises(ValueError, match='2 detection boxes but 1 scores'):
        match_detections([[0, 0, 1, 1]] * 2, [0.5], [], [])
