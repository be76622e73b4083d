"""KAISTMissRateMetric end to end on a tiny hand-written KAIST COCO JSON."""
import json
import logging
import math

import pytest
import torch

from mmengine.logging import MMLogger

from mmfreqkd.datasets.converters import kaist_to_coco, save_coco_json
from mmfreqkd.evaluation.metrics import KAISTMissRateMetric

# ids deliberately not in frame order, to check the text files' ordering
IMAGES = [
    dict(id=7, frame='set09/V000/I00019', is_night=True),  # night 1
    dict(id=3, frame='set06/V000/I00039', is_night=False),  # day 2
    dict(id=5, frame='set06/V000/I00019', is_night=False),  # day 1
    dict(id=1, frame='set09/V000/I00039', is_night=True),  # night 2
]
ANNOTATIONS = [
    # day 1: a reasonable person and a `people` ignore region
    dict(image_id=5, bbox=[100, 100, 40, 100], label='person', occlusion=0),
    dict(image_id=5, bbox=[300, 100, 80, 100], label='people', occlusion=0),
    # day 2: a small person and a heavily occluded one, both ignored
    dict(image_id=3, bbox=[100, 100, 20, 40], label='person', occlusion=0),
    dict(image_id=3, bbox=[300, 100, 40, 100], label='person', occlusion=2),
    # night 1: a partially occluded person, a positive
    dict(image_id=7, bbox=[200, 150, 50, 120], label='person', occlusion=1),
    # night 2: no annotation
]


def file_name(frame):
    """The IR image of a KAIST frame, as kaist_to_coco.py names it."""
    return frame.replace('/I', '/lwir/I') + '.jpg'


FILE_NAMES = {im['id']: file_name(im['frame']) for im in IMAGES}


def write_ann_file(path, annotations=ANNOTATIONS):
    images = [
        dict(
            im,
            file_name=file_name(im['frame']),
            rgb_file_name=im['frame'].replace('/I', '/visible/I') + '.jpg',
            width=640,
            height=512) for im in IMAGES
    ]
    anns = []
    for i, ann in enumerate(annotations, start=1):
        ann = dict(ann, id=i, category_id=1)
        ann['area'] = ann['bbox'][2] * ann['bbox'][3]
        ann['iscrowd'] = int(ann['label'] != 'person')
        anns.append(ann)
    coco = dict(
        images=images,
        annotations=anns,
        categories=[dict(id=1, name='person')])
    path.write_text(json.dumps(coco))
    return str(path)


def sample(img_id, boxes_xywh, scores, img_path=None):
    """A prediction as mmdet's test loop gives it; ``img_path`` defaults to
    the image of ``img_id`` in IMAGES."""
    boxes = torch.tensor(boxes_xywh, dtype=torch.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]  # to xyxy, as mmdet predicts
    if img_path is None and img_id in FILE_NAMES:
        img_path = f'data/kaist/images/{FILE_NAMES[img_id]}'
    return dict(
        img_id=img_id,
        img_path=img_path,
        ori_shape=(512, 640),
        pred_instances=dict(
            bboxes=boxes,
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.zeros(len(scores), dtype=torch.long)))


PREDICTIONS = [
    # day 1: a true positive and a detection inside the `people` region
    sample(5, [[101, 100, 40, 100], [310, 110, 40, 80]], [0.9, 0.95]),
    # day 2: detections on the ignored small and occluded persons
    sample(3, [[100, 100, 20, 40], [300, 100, 40, 100]], [0.8, 0.7]),
    # night 1: a confident false positive (30 px tall), then the person
    sample(7, [[500, 300, 15, 30], [200, 150, 50, 120]], [0.99, 0.6]),
    # night 2: nothing
    sample(1, [], []),
]


def evaluate(metric, predictions=PREDICTIONS):
    metric.dataset_meta = dict(classes=('person', ))
    # two batches, as the evaluator would feed them
    metric.process({}, predictions[:2])
    metric.process({}, predictions[2:])
    return metric.evaluate(size=len(predictions))


def test_all_day_night_by_hand(tmp_path):
    metric = KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'a.json'))
    results = evaluate(metric)
    assert set(results) == {'kaist/MR_all', 'kaist/MR_day', 'kaist/MR_night'}
    # day: 1 positive, its detection the only one kept (the others lie on
    # ignore regions): perfect, the 1e-10 clamp, in percent
    assert results['kaist/MR_day'] == pytest.approx(1e-8, rel=1e-9)
    # night: 2 images, FP 0.99 then TP 0.6 -> points (0.5, 1), (0.5, 0):
    # references 0.01 .. 0.316 sample miss 1, 0.562 and 1 sample 0
    assert results['kaist/MR_night'] == pytest.approx(
        100 * 10**(-20 / 9), rel=1e-9)
    # all: 4 images, 2 positives; FP 0.99, TP 0.9, TP 0.6 -> points
    # (0.25, 1), (0.25, 0.5), (0.25, 0): six references below 0.25 sample 1
    assert results['kaist/MR_all'] == pytest.approx(
        100 * 10**(-30 / 9), rel=1e-9)


def test_detection_height_filter(tmp_path):
    # the 30 px false positive is below 55 / 1.25 = 44 px and is dropped
    metric = KAISTMissRateMetric(
        ann_file=write_ann_file(tmp_path / 'a.json'), det_height_margin=1.25)
    results = evaluate(metric)
    assert results['kaist/MR_night'] == pytest.approx(1e-8, rel=1e-9)
    assert results['kaist/MR_all'] == pytest.approx(1e-8, rel=1e-9)


def test_settings_change_what_is_ignored(tmp_path):
    # all occlusion levels and every height: the occluded person of day 2
    # becomes a positive found by its detection; the small one too
    metric = KAISTMissRateMetric(
        ann_file=write_ann_file(tmp_path / 'a.json'),
        height_range=(0, math.inf),
        occlusions=(0, 1, 2))
    results = evaluate(metric)
    assert results['kaist/MR_day'] == pytest.approx(1e-8, rel=1e-9)
    # no image at all of a subset: NaN
    metric = KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'b.json'))
    metric.dataset_meta = dict(classes=('person', ))
    metric.process({}, PREDICTIONS[:2])
    results = metric.evaluate(size=2)
    assert math.isnan(results['kaist/MR_night'])
    assert results['kaist/MR_all'] == pytest.approx(1e-8, rel=1e-9)


def test_no_detections_is_one_hundred_percent(tmp_path):
    metric = KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'a.json'))
    results = evaluate(metric, [sample(i['id'], [], []) for i in IMAGES])
    assert results == {
        'kaist/MR_all': 100.0,
        'kaist/MR_day': 100.0,
        'kaist/MR_night': 100.0
    }


def test_result_files(tmp_path):
    prefix = tmp_path / 'out' / 'det'
    metric = KAISTMissRateMetric(
        ann_file=write_ann_file(tmp_path / 'a.json'),
        outfile_prefix=str(prefix))
    evaluate(metric)

    coco = json.loads((tmp_path / 'out' / 'det.bbox.json').read_text())
    assert len(coco) == 6
    assert {d['image_id'] for d in coco} == {3, 5, 7}
    first = [d for d in coco if d['image_id'] == 7 and d['score'] > 0.9][0]
    assert first['category_id'] == 1
    assert first['bbox'] == pytest.approx([500, 300, 15, 30])
    assert first['score'] == pytest.approx(0.99)

    def rows(name):
        lines = (tmp_path / 'out' / f'det-test-{name}.txt').read_text()
        return [[float(v) for v in line.split(',')]
                for line in lines.splitlines()]

    # frame order: set06 I00019 (id 5), set06 I00039 (id 3),
    # set09 I00019 (id 7), set09 I00039 (id 1, no detection)
    all_rows = rows('all')
    assert [r[0] for r in all_rows] == [1, 1, 2, 2, 3, 3]
    assert all_rows[0] == pytest.approx([1, 101, 100, 40, 100, 0.9])
    assert all_rows[4] == pytest.approx([3, 500, 300, 15, 30, 0.99])
    day_rows = rows('day')
    assert [r[0] for r in day_rows] == [1, 1, 2, 2]
    assert day_rows[2] == pytest.approx([2, 100, 100, 20, 40, 0.8])
    night_rows = rows('night')
    assert [r[0] for r in night_rows] == [1, 1]
    assert night_rows[1] == pytest.approx([1, 200, 150, 50, 120, 0.6])


def test_errors_name_the_file_and_the_image(tmp_path):
    bad = [dict(a) for a in ANNOTATIONS]
    del bad[1]['occlusion']
    path = write_ann_file(tmp_path / 'bad.json', bad)
    with pytest.raises(KeyError, match=r'bad\.json.*annotation 2.*occlusion'):
        KAISTMissRateMetric(ann_file=path)
    # the ignore flag is read, not defaulted
    coco = json.loads((tmp_path / 'bad.json').read_text())
    coco['annotations'][1]['occlusion'] = 0
    del coco['annotations'][2]['iscrowd']
    (tmp_path / 'bad.json').write_text(json.dumps(coco))
    with pytest.raises(KeyError, match=r'bad\.json.*annotation 3.*iscrowd'):
        KAISTMissRateMetric(ann_file=path)

    metric = KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'a.json'))
    metric.dataset_meta = dict(classes=('person', ))
    metric.process({}, [sample(99, [], [])])
    with pytest.raises(KeyError, match=r'image id 99 .*a\.json'):
        metric.evaluate(size=1)

    with pytest.raises(ValueError, match='needs `ann_file`'):
        KAISTMissRateMetric(ann_file=None)


def test_registered_in_mmdet():
    from mmdet.registry import METRICS
    assert METRICS.get('KAISTMissRateMetric') is KAISTMissRateMetric


def test_ign_flag_makes_an_ignore_region_through_the_converter(tmp_path):
    # Two otherwise reasonable persons in a day frame, the first flagged
    # `ign` 1; the night frame holds only a flagged person.
    frames = {
        'set06/V000/I00019': ('person 100 100 40 100 0 0 0 0 0 1 0\n'
                              'person 300 100 40 100 0 0 0 0 0 0 0\n'),
        'set09/V000/I00019': 'person 100 100 40 100 0 0 0 0 0 1 0\n',
    }
    for frame, boxes in frames.items():
        path = tmp_path / 'annotations' / (frame + '.txt')
        path.parent.mkdir(parents=True)
        path.write_text('% bbGt version=3\n' + boxes)
    (tmp_path / 'test.txt').write_text('\n'.join(frames) + '\n')
    coco, _ = kaist_to_coco(
        str(tmp_path), 'test.txt', image_size=(640, 512),
        show_progress=False)
    metric = KAISTMissRateMetric(
        ann_file=save_coco_json(coco, str(tmp_path / 'test.json')))
    results = evaluate(
        metric,
        [
            # day: only the unflagged person is detected
            sample(1, [[300, 100, 40, 100]], [0.9],
                   img_path=str(tmp_path / 'images' /
                                file_name('set06/V000/I00019'))),
            # night: a detection on the flagged person, the best score
            sample(2, [[100, 100, 40, 100]], [0.95],
                   img_path=str(tmp_path / 'images' /
                                file_name('set09/V000/I00019'))),
        ])
    # day: 1 positive, found: the 1e-10 clamp (in percent). Were the flagged
    # box a positive, half the persons would be missed: 50.
    assert results['kaist/MR_day'] == pytest.approx(1e-8, rel=1e-9)
    # night: no positive at all, so no miss rate (not 100)
    assert math.isnan(results['kaist/MR_night'])
    # all: 1 positive, found; the night detection covers an ignore region
    # and is dropped. Were it a false positive ahead of the true one, the
    # curve would be (FPPI 0.5, miss 1), (0.5, 0) and MR 100 * 10^(-20/9).
    assert results['kaist/MR_all'] == pytest.approx(1e-8, rel=1e-9)


@pytest.mark.parametrize('setting, message', [
    (dict(iou_thr=0), r'iou_thr must be in \(0, 1\], got 0'),
    (dict(iou_thr=1.5), r'iou_thr must be in \(0, 1\], got 1.5'),
    (dict(bounds=(635, 5, 5, 507)), r'x_min < x_max.*\(635, 5, 5, 507\)'),
    (dict(bounds=(5, 507, 635, 507)), r'y_min < y_max.*\(5, 507, 635, 507\)'),
    (dict(occlusions=(0, 3)), r'occlusions .*\(0, 1, 2\), got \(0, 3\)'),
    (dict(occlusions=()), r'occlusions must be a non-empty'),
])
def test_impossible_settings_are_refused(tmp_path, setting, message):
    with pytest.raises(ValueError, match=message):
        KAISTMissRateMetric(
            ann_file=write_ann_file(tmp_path / 'a.json'), **setting)


def test_extreme_but_possible_settings_are_accepted(tmp_path):
    # only exact matches, only heavily occluded persons, no bounds
    metric = KAISTMissRateMetric(
        ann_file=write_ann_file(tmp_path / 'a.json'),
        iou_thr=1,
        occlusions=(2, ),
        bounds=None)
    results = evaluate(metric)
    # day: the occluded person of day 2 is the only positive and its
    # detection (0.7) matches it exactly. Day 1's person is an ignore region
    # now, but the 0.9 detection one pixel off covers only 39 / 40 of its
    # own area with it: a false positive. Two images: points (0.5, 1),
    # (0.5, 0); the seven references below 0.5 sample miss 1, 0.562 and 1
    # sample 0.
    assert results['kaist/MR_day'] == pytest.approx(
        100 * 10**(-20 / 9), rel=1e-9)
    assert math.isnan(results['kaist/MR_night'])


@pytest.fixture
def warnings_logged():
    """The warnings the current MMLogger records during a test."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_undefined_miss_rates_are_explained(tmp_path, warnings_logged):
    evaluate(KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'a.json')))
    assert not warnings_logged  # every subset has positives
    # no box is tall enough to be a positive
    results = evaluate(KAISTMissRateMetric(
        ann_file=write_ann_file(tmp_path / 'b.json'),
        height_range=(1000, math.inf)))
    assert all(math.isnan(mr) for mr in results.values())
    message, = [record.getMessage() for record in warnings_logged]
    assert message.startswith(
        'kaist/MR_all, kaist/MR_day, kaist/MR_night undefined (NaN): no '
        'image or no positive in the subset; positives are the boxes of '
        f'height {(1000.0, math.inf)}')


def test_images_left_out_of_the_evaluation_are_reported(tmp_path,
                                                        warnings_logged):
    metric = KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'a.json'))
    evaluate(metric)
    assert not warnings_logged
    # night 2 (no ground truth, no detection) left out by the loader
    results = evaluate(metric, PREDICTIONS[:3])
    message, = [record.getMessage() for record in warnings_logged]
    assert '1 of its 4 images were not evaluated' in message
    # night: 1 image now, FP 0.99 then TP 0.6 -> points (1, 1), (1, 0):
    # every reference up to 1 samples miss 1 but the last, 0 -> clamp
    assert results['kaist/MR_night'] == pytest.approx(
        100 * math.exp(8 / 9 * math.log(1) + 1 / 9 * math.log(1e-10)),
        rel=1e-9)


@pytest.mark.parametrize('setting, message', [
    # tuple('person') would be ('p', 'e', 'r', 's', 'o', 'n'): MR NaN
    (dict(positive_labels='person'),
     r"positive_labels .*\('person', \), not the string 'person'"),
    (dict(positive_labels=('person', 1)), r'positive_labels .*str labels'),
    (dict(positive_labels=()), r'positive_labels must be a non-empty'),
    (dict(det_height_margin=math.nan), r'det_height_margin .*got nan'),
    (dict(det_height_margin=math.inf), r'det_height_margin .*finite.*inf'),
    (dict(det_height_margin=0.5), r'det_height_margin .*>= 1, got 0\.5'),
    (dict(height_range=(math.nan, math.inf)), r'height_range .*\(nan, inf\)'),
    (dict(height_range=(55, math.nan)), r'height_range .*\(55, nan\)'),
    (dict(height_range=(math.inf, math.inf)), r'height_range .*finite min'),
    (dict(height_range=(-10, 100)), r'height_range .*min >= 0'),
    (dict(height_range=('55', 100)), r"height_range .*\('55', 100\)"),
    (dict(iou_thr=math.nan), r'iou_thr must be in \(0, 1\], got nan'),
    (dict(bounds=(5, 5, math.nan, 507)), r'bounds .*nan'),
    (dict(occlusions='01'), r"occlusions .*got '01'"),
    (dict(occlusions=(0, 1.0)), r'occlusions .*got \(0, 1\.0\)'),
])
def test_settings_that_cannot_hold_are_refused(tmp_path, setting, message):
    with pytest.raises(ValueError, match=message):
        KAISTMissRateMetric(
            ann_file=write_ann_file(tmp_path / 'a.json'), **setting)


def test_infinite_upper_height_and_bounds_are_accepted(tmp_path):
    metric = KAISTMissRateMetric(
        ann_file=write_ann_file(tmp_path / 'a.json'),
        height_range=(0, math.inf),
        bounds=(-math.inf, -math.inf, math.inf, math.inf),
        det_height_margin=1.25)
    assert metric.height_range == (0.0, math.inf)


def test_positive_labels_must_be_labels_of_the_file(tmp_path):
    path = write_ann_file(tmp_path / 'a.json')
    with pytest.raises(ValueError, match=(
            r"positive_labels \['Person'\] match no annotation label of "
            r".*a\.json, whose labels are \['people', 'person'\]")):
        KAISTMissRateMetric(ann_file=path, positive_labels=('Person', ))
    with pytest.raises(ValueError, match=r"\['cyclist'\] match no"):
        KAISTMissRateMetric(
            ann_file=path, positive_labels=('person', 'cyclist'))
    KAISTMissRateMetric(ann_file=path, positive_labels=('person', 'people'))
    # a file without any box: no positive whatever the labels (NaN)
    empty = write_ann_file(tmp_path / 'empty.json', annotations=[])
    KAISTMissRateMetric(ann_file=empty, positive_labels=('Person', ))


@pytest.mark.parametrize('field, value, message', [
    ('occlusion', 7, r'annotation 2 has occlusion 7; .*0 .*1 .*2'),
    ('occlusion', '0', r"annotation 2 has occlusion '0'"),
    ('iscrowd', 'no', r"annotation 2 has iscrowd 'no'; expected 0 or 1"),
    ('iscrowd', 2, r'annotation 2 has iscrowd 2'),
    ('bbox', [10, 10, 5], r'annotation 2 has bbox \[10, 10, 5\]; .*4 finite'),
    ('bbox', [10, 10, -5, 20], r'annotation 2 has bbox .*w, h >= 0'),
    ('bbox', [10, 10, math.nan, 20], r'annotation 2 has bbox \[10, 10, nan'),
    ('bbox', [10, 10, '5', 20], r"annotation 2 has bbox \[10, 10, '5', 20\]"),
    ('label', None, r'annotation 2 has label None'),
])
def test_annotation_fields_are_checked(tmp_path, field, value, message):
    path = write_ann_file(tmp_path / 'bad.json')
    coco = json.loads((tmp_path / 'bad.json').read_text())
    coco['annotations'][1][field] = value
    (tmp_path / 'bad.json').write_text(json.dumps(coco))
    with pytest.raises(ValueError, match=r'bad\.json: ' + message):
        KAISTMissRateMetric(ann_file=path)


def test_reused_image_id_is_refused(tmp_path):
    path = write_ann_file(tmp_path / 'bad.json')
    coco = json.loads((tmp_path / 'bad.json').read_text())
    coco['images'][1]['id'] = coco['images'][0]['id']
    (tmp_path / 'bad.json').write_text(json.dumps(coco))
    with pytest.raises(ValueError, match=(
            r'bad\.json: image id 7 is used by two images '
            r'\(set09/V000/lwir/I00019\.jpg and set06/V000/lwir/I00039')):
        KAISTMissRateMetric(ann_file=path)


def test_evaluator_json_of_another_split_is_refused(tmp_path):
    """The dataloader's sample 5 is another frame than image 5 of the
    evaluator's JSON (both converters number images from 1)."""
    metric = KAISTMissRateMetric(ann_file=write_ann_file(tmp_path / 'a.json'))
    metric.dataset_meta = dict(classes=('person', ))
    other = 'data/kaist/images/set00/V000/lwir/I00000.jpg'
    with pytest.raises(ValueError, match=(
            r"image id 5 is file_name 'set06/V000/lwir/I00019\.jpg' in the "
            rf'evaluator ann_file .*a\.json, but .* is {other}')):
        metric.process({}, [sample(5, [], [], img_path=other)])
    # the same image under another data root: accepted
    metric.process({}, [
        sample(5, [], [], img_path='/abs/root/set06/V000/lwir/I00019.jpg')
    ])
    # a JSON without file_name is checked on its frame
    coco = json.loads((tmp_path / 'a.json').read_text())
    for image in coco['images']:
        del image['file_name']
    (tmp_path / 'b.json').write_text(json.dumps(coco))
    metric = KAISTMissRateMetric(ann_file=str(tmp_path / 'b.json'))
    metric.process({}, [sample(5, [], [])])
    with pytest.raises(ValueError, match=r"image id 5 is frame "
                       r"'set06/V000/I00019'.*b\.json"):
        metric.process({}, [sample(5, [], [], img_path=other)])
