"""MFNetIoUMetric against a direct numpy confusion matrix."""
import numpy as np
import pytest
import torch

from mmfreqkd.evaluation.metrics import MFNetIoUMetric
from mmfreqkd.datasets.mfnet import is_night_frame

CLASSES = ('unlabelled', 'car', 'person', 'bike', 'curve', 'car_stop',
           'guardrail', 'color_cone', 'bump')
NAMES = ['00001D', '00002N', '00003D', '00004N', '00005N']


def make_maps(seed=0, shape=(12, 16)):
    rng = np.random.default_rng(seed)
    labels, preds = [], []
    for i in range(len(NAMES)):
        # skewed class frequencies, as in MFNet (mostly unlabelled)
        probs = np.array([40, 10, 8, 5, 5, 3, 2, 1, 1], float)
        label = rng.choice(9, size=shape, p=probs / probs.sum())
        label[rng.random(shape) < 0.05] = 255
        # predictions right 60% of the time, random otherwise
        pred = np.where(rng.random(shape) < 0.6, label % 255,
                        rng.integers(0, 9, size=shape))
        if i == 3:  # `bump` never appears in this night image
            label[label == 8] = 0
            pred[pred == 8] = 0
        labels.append(label)
        preds.append(pred)
    return labels, preds


def confusion(labels, preds, num_classes=9, ignore_index=255):
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for label, pred in zip(labels, preds):
        valid = label != ignore_index
        matrix += np.bincount(
            num_classes * label[valid] + pred[valid],
            minlength=num_classes**2).reshape(num_classes, num_classes)
    return matrix


def iou_from_confusion(matrix):
    tp = np.diag(matrix).astype(float)
    with np.errstate(invalid='ignore'):
        return tp / (matrix.sum(0) + matrix.sum(1) - tp)


def samples(labels, preds, names=NAMES, **extra):
    return [
        dict(
            img_path=f'data/mfnet/images/{name}.png',
            gt_sem_seg=dict(data=torch.from_numpy(label)[None]),
            pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
            **extra) for name, label, pred in zip(names, labels, preds)
    ]


def run(metric, data_samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, data_samples[:2])
    metric.process({}, data_samples[2:])
    return metric.evaluate(size=len(data_samples))


def test_miou_all_day_night_against_numpy():
    labels, preds = make_maps()
    results = run(MFNetIoUMetric(), samples(labels, preds))

    matrix = confusion(labels, preds)
    iou = iou_from_confusion(matrix)
    assert results['mIoU'] == pytest.approx(np.mean(iou) * 100, rel=1e-9)
    assert results['aAcc'] == pytest.approx(
        np.trace(matrix) / matrix.sum() * 100, rel=1e-9)
    assert results['mAcc'] == pytest.approx(
        np.mean(np.diag(matrix) / matrix.sum(1)) * 100, rel=1e-9)
    day = [i for i, n in enumerate(NAMES) if n.endswith('D')]
    night = [i for i, n in enumerate(NAMES) if n.endswith('N')]
    for key, idx in (('mIoU_day', day), ('mIoU_night', night)):
        sub = iou_from_confusion(
            confusion([labels[i] for i in idx], [preds[i] for i in idx]))
        assert results[key] == pytest.approx(np.mean(sub) * 100, rel=1e-9)

    # one confusion matrix over the set, not a mean of per-image scores
    per_image = np.mean([
        np.nanmean(iou_from_confusion(confusion([la], [pr])))
        for la, pr in zip(labels, preds)
    ])
    assert abs(results['mIoU'] - per_image * 100) > 0.1


def test_ignore_unlabelled_drops_class_zero_from_the_mean():
    labels, preds = make_maps(seed=1)
    results = run(
        MFNetIoUMetric(ignore_unlabelled=True), samples(labels, preds))
    iou = iou_from_confusion(confusion(labels, preds))
    assert results['mIoU'] == pytest.approx(np.mean(iou[1:]) * 100, rel=1e-9)
    assert results['mIoU'] != pytest.approx(np.mean(iou) * 100, rel=1e-6)


def test_class_zero_counts_and_only_255_is_ignored():
    label = np.array([[0, 0, 1, 255]])
    pred = np.array([[0, 1, 1, 0]])
    results = run(MFNetIoUMetric(), samples([label], [pred], ['00009D']))
    # unlabelled: 1 / (2 + 1 - 1) = 0.5; car: 1 / (1 + 2 - 1) = 0.5; the
    # 7 absent classes have no IoU and are left out of the mean
    assert results['mIoU'] == pytest.approx(50.0)
    assert np.isnan(results['mIoU_night'])
    assert results['mIoU_day'] == pytest.approx(50.0)


def test_is_night_key_overrides_the_name():
    labels, preds = make_maps(seed=2)
    data = samples(labels, preds)
    for d in data:
        d['is_night'] = False
    results = run(MFNetIoUMetric(), data)
    assert np.isnan(results['mIoU_night'])
    assert results['mIoU_day'] == pytest.approx(results['mIoU'])


def test_day_night_from_names():
    assert is_night_frame('a/b/00123N.png')
    assert not is_night_frame('00123D.png')
    with pytest.raises(ValueError, match='00123.png'):
        is_night_frame('x/00123.png')


def test_registered_in_mmseg():
    from mmseg.registry import METRICS
    assert METRICS.get('MFNetIoUMetric') is MFNetIoUMetric


@pytest.mark.parametrize('settings, expected', [
    # label 0 0 1 1 2 against prediction 0 1 1 0 2: unlabelled IoU 1 / 3,
    # car 1 / 3, person 1
    (dict(), (1 / 3 + 1 / 3 + 1) / 3),
    (dict(ignore_unlabelled=True), (1 / 3 + 1) / 2),
    # ignore_index=0 alone drops the two unlabelled pixels: car 1 / 2 and
    # person 1 remain, but unlabelled, predicted on a car pixel with no
    # label pixel left, has IoU 0 / 1 and stays in the mean
    (dict(ignore_index=0), (0 + 1 / 2 + 1) / 3),
    # both: the unlabelled pixels and the unlabelled class are left out
    (dict(ignore_index=0, ignore_unlabelled=True), (1 / 2 + 1) / 2),
])
def test_unlabelled_pixels_and_class(settings, expected):
    label = np.array([[0, 0, 1, 1, 2]])
    pred = np.array([[0, 1, 1, 0, 2]])
    results = run(
        MFNetIoUMetric(**settings), samples([label], [pred], ['00009D']))
    assert results['mIoU'] == pytest.approx(expected * 100)


@pytest.mark.parametrize('index', [-1, 1.0, True])
def test_unlabelled_index_must_be_a_non_negative_int(index):
    with pytest.raises(ValueError, match=f'unlabelled_index .*{index!r}'):
        MFNetIoUMetric(unlabelled_index=index)


def test_unlabelled_index_must_be_a_class_of_the_dataset():
    metric = MFNetIoUMetric(ignore_unlabelled=True, unlabelled_index=9)
    with pytest.raises(ValueError,
                       match=r'unlabelled_index 9 .* has 9 classes'):
        metric.dataset_meta = dict(classes=CLASSES)
    metric = MFNetIoUMetric(ignore_unlabelled=True, unlabelled_index=8)
    metric.dataset_meta = dict(classes=CLASSES)
    assert metric.dataset_meta['classes'] == CLASSES


@pytest.mark.parametrize('bad_value', [9, 12, -1, 254])
def test_label_values_outside_the_classes_are_refused(bad_value):
    """A label value >= 9 (other than 255) would be left out of the label
    areas but kept in the unions: a silently lower mIoU at 100 % aAcc."""
    label = np.ones((4, 4), np.int64)
    label[:2] = bad_value
    label[3, 3] = 255  # the ignore index is a valid label value
    data = samples([label], [np.ones((4, 4), np.int64)], ['00001D'],
                   seg_map_path='data/mfnet/labels/00001D.png')
    with pytest.raises(ValueError, match=(
            r'00001D\.png, seg_map_path=data/mfnet/labels/00001D\.png.*'
            rf'\[{bad_value}\] \(8 pixels\).*\[0, 9\).*255')):
        run(MFNetIoUMetric(), data)


def test_label_of_another_shape_than_the_prediction_is_refused():
    pred = np.ones((4, 4), np.int64)
    for label, shape in ((np.ones((2, 2), np.int64), r'\(1, 2, 2\)'),
                         (np.ones((4, 4, 3), np.int64), r'\(1, 4, 4, 3\)')):
        with pytest.raises(ValueError,
                           match=rf'00002N\.png has shape {shape}.*'
                           r'prediction \(1, 4, 4\)'):
            run(MFNetIoUMetric(), samples([label], [pred], ['00002N']))
