"""The visualization hooks: paired classification inputs and KAIST's
repeated frame names in detection drawings."""
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import DATASETS
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmpretrain.structures import DataSample
from mmpretrain.visualization import UniversalVisualizer

from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.engine.hooks import (PairedClsVisualizationHook,
                                   SubfolderDetVisualizationHook)
from mmfreqkd.engine.hooks.subfolder_det_visualization_hook import (
    drawing_folder, image_folder_of)

IR_VALUE, RGB_VALUE = 200, 40


def cls_sample(img_path, sample_idx):
    sample = DataSample(
        metainfo=dict(img_path=img_path, sample_idx=sample_idx))
    return sample.set_pred_score(torch.tensor([0.1, 0.7, 0.2]))


def paired_batch(num):
    return dict(inputs=dict(
        ir=[torch.full((3, 48, 48), IR_VALUE, dtype=torch.uint8)] * num,
        rgb=[torch.full((3, 48, 48), RGB_VALUE, dtype=torch.uint8)] * num))


def test_paired_hook_draws_every_crop_of_an_image_from_the_ir_input(
        tmp_path):
    UniversalVisualizer.get_instance('test_paired_cls_hook_ir')
    hook = PairedClsVisualizationHook(
        enable=True, interval=1, out_dir=str(tmp_path))
    # three crops of one frame: one drawing each, named by dataset index
    samples = [cls_sample('data/JPEGImages/FLIR_00001.jpg', index)
               for index in (4, 5, 6)]
    hook.after_test_iter(None, 0, paired_batch(3), samples)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f'FLIR_00001_{index}.jpg_0.png' for index in (4, 5, 6)]
    drawing = cv2.imread(str(tmp_path / names[0]))
    assert drawing.shape[:2] == (48, 48)
    # the label text covers a corner; the rest is the IR image
    assert np.median(drawing) == IR_VALUE
    # the model's outputs keep their own paths
    assert samples[0].img_path == 'data/JPEGImages/FLIR_00001.jpg'


def test_paired_hook_draws_the_rgb_input_when_asked(tmp_path):
    UniversalVisualizer.get_instance('test_paired_cls_hook_rgb')
    hook = PairedClsVisualizationHook(
        modality='rgb', enable=True, interval=1, out_dir=str(tmp_path))
    hook.after_test_iter(None, 0, paired_batch(1),
                         [cls_sample('FLIR_00002.jpg', 0)])
    drawing = cv2.imread(str(tmp_path / 'FLIR_00002_0.jpg_0.png'))
    assert np.median(drawing) == RGB_VALUE


def test_paired_hook_passes_plain_inputs_and_unnamed_samples(tmp_path):
    UniversalVisualizer.get_instance('test_paired_cls_hook_plain')
    hook = PairedClsVisualizationHook(
        enable=True, interval=2, out_dir=str(tmp_path))
    # CIFAR-style samples: no image file, named by their place in the loop
    samples = [DataSample().set_pred_score(torch.tensor([0.6, 0.4]))
               for _ in range(3)]
    batch = dict(inputs=[torch.full((3, 32, 32), 90, dtype=torch.uint8)] * 3)
    hook.after_test_iter(None, 1, batch, samples)  # samples 3, 4, 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ['4_0.png']


def test_paired_hook_is_silent_when_disabled(tmp_path):
    UniversalVisualizer.get_instance('test_paired_cls_hook_off')
    hook = PairedClsVisualizationHook(interval=1, out_dir=str(tmp_path))
    hook.after_test_iter(None, 0, paired_batch(1),
                         [cls_sample('FLIR_00003.jpg', 0)])
    assert not list(tmp_path.iterdir())


def test_paired_hook_refuses_unknown_and_absent_modalities(tmp_path):
    UniversalVisualizer.get_instance('test_paired_cls_hook_errors')
    with pytest.raises(ValueError, match="modality must be one of .*'lwir'"):
        PairedClsVisualizationHook(modality='lwir')
    hook = PairedClsVisualizationHook(
        modality='rgb', enable=True, interval=1, out_dir=str(tmp_path))
    batch = dict(inputs=dict(ir=paired_batch(1)['inputs']['ir']))
    with pytest.raises(KeyError, match=r"modality 'rgb' is not in the "
                       r"paired inputs \(keys \['ir'\]\)"):
        hook.after_test_iter(None, 0, batch, [cls_sample('a.jpg', 0)])


@pytest.mark.parametrize('img_path, folder, expected', [
    ('data/kaist/images/set06/V000/lwir/I00019.jpg', 'data/kaist/images/',
     osp.join('set06', 'V000', 'lwir')),
    ('data/kaist/images/I00019.jpg', 'data/kaist/images', ''),
    # outside the image folder, or no folder: the whole folder, made
    # relative
    ('/other/set06/V000/lwir/I00019.jpg', 'data/kaist/images/',
     'other/set06/V000/lwir'),
    ('data/kaist/images2/a/b.jpg', 'data/kaist/images', 'data/kaist/images2/a'),
    ('s3://bucket/kaist/set06/b.jpg', None, 'bucket/kaist/set06'),
])
def test_drawing_folder(img_path, folder, expected):
    assert drawing_folder(img_path, folder) == expected


def synthetic_kaist_test_set(root):
    make_synthetic_dataset('kaist', str(root), num=12, size=(96, 64))
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(dict(
            type='KAISTDataset',
            data_root=str(root),
            ann_file='annotations/test-all-20.json',
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline=[]))


def test_image_folder_of_a_dataset_and_its_wrappers(tmp_path):
    dataset = synthetic_kaist_test_set(tmp_path / 'kaist')
    images = osp.join(str(tmp_path / 'kaist'), 'images/')
    assert image_folder_of(dataset) == images
    assert image_folder_of(SimpleNamespace(dataset=dataset)) == images
    assert image_folder_of(
        SimpleNamespace(datasets=[dataset, None])) == images
    assert image_folder_of(SimpleNamespace()) is None


def draw_test_set(hook, dataset, work_dir):
    runner = SimpleNamespace(
        work_dir=str(work_dir), timestamp='20261122_000000',
        test_dataloader=SimpleNamespace(dataset=dataset))
    samples = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        sample = DetDataSample(metainfo=dict(
            img_path=info['img_path'], img_shape=(64, 96)))
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor([[10., 10., 40., 50.]]),
            scores=torch.tensor([0.9]), labels=torch.tensor([0]))
        samples.append(sample)
    hook.after_test_iter(runner, 0, {}, samples)
    return [s.img_path for s in samples]


def test_subfolder_hook_keeps_every_kaist_frame(tmp_path):
    dataset = synthetic_kaist_test_set(tmp_path / 'kaist')
    DetLocalVisualizer.get_instance('test_subfolder_det_hook')
    paths = draw_test_set(
        SubfolderDetVisualizationHook(draw=True, test_out_dir='vis'),
        dataset, tmp_path / 'work')
    names = [osp.basename(p) for p in paths]
    assert len(set(names)) < len(names)  # KAIST repeats frame names
    out = tmp_path / 'work' / '20261122_000000' / 'vis'
    drawn = sorted(str(p.relative_to(out)) for p in out.rglob('*.jpg'))
    images = osp.join(str(tmp_path / 'kaist'), 'images')
    assert drawn == sorted(osp.relpath(p, images) for p in paths)
    # each drawing is of its own frame: ground truth | prediction, the
    # frame itself away from the drawn box
    for path in paths:
        drawing = cv2.imread(str(out / osp.relpath(path, images)))
        frame = cv2.imread(path)
        assert drawing.shape == (64, 2 * 96, 3)
        prediction = drawing[:, 96:]
        assert np.abs(prediction[55:, 50:].astype(int)
                      - frame[55:, 50:]).mean() < 3  # jpeg round trip
    # MMDetection's own hook keeps one drawing per file name
    DetLocalVisualizer.get_instance('test_plain_det_hook')
    draw_test_set(DetVisualizationHook(draw=True, test_out_dir='plain'),
                  dataset, tmp_path / 'work')
    plain = list((tmp_path / 'work' / '20261122_000000' / 'plain').iterdir())
    assert len(plain) == len(set(names))


def test_subfolder_hook_without_out_dir_is_mmdetections(tmp_path):
    dataset = synthetic_kaist_test_set(tmp_path / 'kaist')
    DetLocalVisualizer.get_instance('test_subfolder_det_hook_no_dir')
    draw_test_set(SubfolderDetVisualizationHook(draw=True), dataset,
                  tmp_path / 'work')
    assert not (tmp_path / 'work').exists()


def test_thermal_hook_draws_every_mfnet_image_on_its_thermal_channel(
        tmp_path):
    from mmseg.engine.hooks import SegVisualizationHook
    from mmseg.structures import SegDataSample
    from mmseg.visualization import SegLocalVisualizer

    from mmfreqkd.engine.hooks import ThermalSegVisualizationHook
    make_synthetic_dataset('mfnet', str(tmp_path / 'mfnet'), num=3,
                           size=(32, 24))
    paths = sorted(str(p) for p in (tmp_path / 'mfnet' / 'images').iterdir())
    visualizer = SegLocalVisualizer.get_instance(
        'test_thermal_seg_hook', save_dir=str(tmp_path / 'vis'),
        vis_backends=[dict(type='LocalVisBackend')])
    visualizer.dataset_meta = dict(classes=('a', 'b'),
                                   palette=[[0, 0, 0], [255, 0, 0]])
    drawn = []
    add_datasample = visualizer.add_datasample

    def recording(name, image, **kwargs):
        drawn.append((name, image))
        return add_datasample(name, image, **kwargs)

    visualizer.add_datasample = recording
    samples = []
    for path in paths:
        sample = SegDataSample(metainfo=dict(img_path=path))
        sample.set_data(dict(pred_sem_seg=PixelData(
            data=torch.zeros(1, 24, 32, dtype=torch.long))))
        samples.append(sample)
    hook = ThermalSegVisualizationHook(draw=True, interval=1)
    hook.after_test_iter(SimpleNamespace(iter=0), 0, {}, samples)
    assert [name for name, _ in drawn] == [
        f'test_{osp.basename(p)}' for p in paths]
    for path, (_, image) in zip(paths, drawn):
        rgbt = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        for channel in range(3):  # the thermal channel, as grey
            np.testing.assert_array_equal(image[..., channel], rgbt[..., 3])
    written = list((tmp_path / 'vis').rglob('*.png'))
    assert len(written) == len(paths)
    # MMSegmentation's hook draws the colour channels
    drawn.clear()
    SegVisualizationHook(draw=True, interval=1).after_test_iter(
        SimpleNamespace(iter=0), 0, {}, samples[:1])
    rgbt = cv2.imread(paths[0], cv2.IMREAD_UNCHANGED)
    assert not np.array_equal(drawn[0][1][..., 0], rgbt[..., 3])
