"""PairedDataPreprocessor: batching, normalisation and padding of RGB + IR."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.registry import MODELS
from mmseg.structures import SegDataSample

import mmfreqkd  # noqa: F401  (registration)
from mmfreqkd.datasets.transforms import PackPairedDetInputs
from mmfreqkd.models.data_preprocessors import PairedDataPreprocessor

RGB_MEAN, RGB_STD = [120.0, 110.0, 100.0], [60.0, 50.0, 40.0]


def random_image(channels, height, width, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, (channels, height, width), generator=generator,
        dtype=torch.uint8)


def expected(image, mean, std, bgr_to_rgb, size, pad_value):
    """Reference in numpy: convert, normalise, pad bottom/right."""
    image = image.numpy().astype(np.float64)
    if bgr_to_rgb and image.shape[0] == 3:
        image = image[::-1]
    mean = np.asarray(mean, np.float64).reshape(-1, 1, 1)
    std = np.asarray(std, np.float64).reshape(-1, 1, 1)
    out = np.full((image.shape[0], ) + size, pad_value, np.float64)
    out[:, :image.shape[1], :image.shape[2]] = (image - mean) / std
    return out


@pytest.mark.parametrize('bgr_to_rgb', [True, False])
def test_list_inputs_normalised_and_padded_to_14(bgr_to_rgb):
    sizes = [(30, 40), (25, 50)]
    rgb = [random_image(3, h, w, seed) for seed, (h, w) in enumerate(sizes)]
    ir = [random_image(1, h, w, 10 + seed) for seed, (h, w) in
          enumerate(sizes)]
    samples = [DetDataSample(), SegDataSample()]
    preprocessor = MODELS.build(
        dict(
            type='PairedDataPreprocessor',
            rgb_mean=RGB_MEAN,
            rgb_std=RGB_STD,
            ir_mean=[90.0],
            ir_std=[30.0],
            bgr_to_rgb=bgr_to_rgb,
            pad_value=-2.5))
    out = preprocessor(
        dict(inputs=dict(rgb=rgb, ir=ir), data_samples=samples))
    batch_rgb, batch_ir = out['inputs']['rgb'], out['inputs']['ir']
    # max H 30 -> 42, max W 50 -> 56
    assert batch_rgb.shape == (2, 3, 42, 56)
    assert batch_ir.shape == (2, 1, 42, 56)
    assert batch_rgb.dtype == batch_ir.dtype == torch.float32
    for index in range(2):
        np.testing.assert_allclose(
            batch_rgb[index].numpy(),
            expected(rgb[index], RGB_MEAN, RGB_STD, bgr_to_rgb, (42, 56),
                     -2.5),
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            batch_ir[index].numpy(),
            expected(ir[index], [90.0], [30.0], bgr_to_rgb, (42, 56), -2.5),
            rtol=1e-5, atol=1e-5)
    det_sample, seg_sample = out['data_samples']
    assert isinstance(det_sample, DetDataSample)
    assert isinstance(seg_sample, SegDataSample)
    assert det_sample.batch_input_shape == (42, 56)
    assert seg_sample.batch_input_shape == (42, 56)
    assert det_sample.pad_shape == (42, 42)  # (30, 40) rounded up to 14
    assert seg_sample.pad_shape == (28, 56)  # (25, 50)


def test_three_channel_ir():
    """A three-channel IR image with per-channel statistics."""
    rgb = [random_image(3, 29, 33, 0)]
    ir = [random_image(3, 29, 33, 1)]
    ir_mean, ir_std = [10.0, 20.0, 30.0], [2.0, 3.0, 4.0]
    preprocessor = PairedDataPreprocessor(
        rgb_mean=RGB_MEAN, rgb_std=RGB_STD, ir_mean=ir_mean, ir_std=ir_std)
    out = preprocessor(dict(inputs=dict(rgb=rgb, ir=ir)))
    assert out['inputs']['rgb'].shape == (1, 3, 42, 42)
    assert out['inputs']['ir'].shape == (1, 3, 42, 42)
    np.testing.assert_allclose(
        out['inputs']['ir'][0].numpy(),
        expected(ir[0], ir_mean, ir_std, True, (42, 42), 0),
        rtol=1e-5, atol=1e-5)
    assert out['data_samples'] is None


def test_stacked_tensor_inputs_without_normalisation():
    rgb = torch.stack([random_image(3, 28, 28, seed) for seed in range(3)])
    ir = torch.stack([random_image(1, 28, 28, 5 + seed) for seed in range(3)])
    out = PairedDataPreprocessor(bgr_to_rgb=False)(
        dict(inputs=dict(rgb=rgb, ir=ir)))
    torch.testing.assert_close(out['inputs']['rgb'], rgb.float())
    torch.testing.assert_close(out['inputs']['ir'], ir.float())


def test_packed_and_collated_paired_samples():
    """PackPairedDetInputs -> pseudo_collate / default_collate -> batch."""
    rng = np.random.default_rng(0)
    packer = PackPairedDetInputs()
    packed = [
        packer(
            dict(
                img=rng.integers(0, 256, (30, 45, 1), dtype=np.uint8),
                img_rgb=rng.integers(0, 256, (30, 45, 3), dtype=np.uint8),
                img_shape=(30, 45))) for _ in range(2)
    ]
    preprocessor = PairedDataPreprocessor(
        rgb_mean=RGB_MEAN, rgb_std=RGB_STD, ir_mean=[90.0], ir_std=[30.0])
    for collate in (pseudo_collate, default_collate):
        out = preprocessor(collate(packed))
        assert out['inputs']['rgb'].shape == (2, 3, 42, 56)
        assert out['inputs']['ir'].shape == (2, 1, 42, 56)
        for index in range(2):
            np.testing.assert_allclose(
                out['inputs']['ir'][index].numpy(),
                expected(packed[index]['inputs']['ir'], [90.0], [30.0], True,
                         (42, 56), 0),
                rtol=1e-5, atol=1e-5)
        assert all(sample.batch_input_shape == (42, 56)
                   for sample in out['data_samples'])


def test_configuration_errors():
    with pytest.raises(ValueError, match='rgb_mean'):
        PairedDataPreprocessor(rgb_mean=[1.0], rgb_std=[1.0])
    with pytest.raises(ValueError, match='ir_mean'):
        PairedDataPreprocessor(ir_mean=[1.0, 2.0], ir_std=[1.0, 2.0])
    with pytest.raises(ValueError, match='both'):
        PairedDataPreprocessor(ir_mean=[1.0])
    with pytest.raises(ValueError, match='ir_std must be positive'):
        PairedDataPreprocessor(ir_mean=[1.0], ir_std=[0.0])
    with pytest.raises(ValueError, match='rgb_std must be positive'):
        PairedDataPreprocessor(rgb_mean=[0.0] * 3, rgb_std=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match='pad_size_divisor'):
        PairedDataPreprocessor(pad_size_divisor=0)
    # an infinite std blanked the images, a NaN mean made them NaN
    with pytest.raises(ValueError, match=r'rgb_std must hold finite '
                       r'numbers, got \[inf, inf, inf\]'):
        PairedDataPreprocessor(rgb_mean=[0.0] * 3, rgb_std=[float('inf')] * 3)
    with pytest.raises(ValueError, match='ir_mean must hold finite numbers'):
        PairedDataPreprocessor(ir_mean=[float('nan')], ir_std=[1.0])
    with pytest.raises(ValueError, match=r'rgb_mean must have 3 values, '
                       'got 123.0'):
        PairedDataPreprocessor(rgb_mean=123.0, rgb_std=[1.0] * 3)


def test_input_errors():
    preprocessor = PairedDataPreprocessor(
        ir_mean=[1.0, 2.0, 3.0], ir_std=[1.0, 1.0, 1.0])
    rgb = [random_image(3, 14, 14, 0)]
    with pytest.raises(TypeError, match="'rgb' and 'ir'"):
        preprocessor(dict(inputs=torch.zeros(1, 3, 14, 14)))
    with pytest.raises(TypeError, match="'rgb' and 'ir'"):
        preprocessor(dict(inputs=dict(rgb=rgb)))
    with pytest.raises(ValueError, match='3 values but the ir images have 1'):
        preprocessor(dict(inputs=dict(rgb=rgb, ir=[random_image(1, 14, 14,
                                                                1)])))
    with pytest.raises(ValueError, match='1 RGB images but 2 IR'):
        preprocessor(
            dict(inputs=dict(rgb=rgb, ir=[random_image(3, 14, 14, 1)] * 2)))
    with pytest.raises(ValueError, match='3 channels'):
        preprocessor(
            dict(inputs=dict(rgb=[random_image(1, 14, 14, 0)],
                             ir=[random_image(3, 14, 14, 1)])))
    with pytest.raises(ValueError, match='mixes channel counts'):
        preprocessor(
            dict(inputs=dict(rgb=rgb * 2,
                             ir=[random_image(3, 14, 14, 1),
                                 random_image(1, 14, 14, 1)])))


def test_pairs_that_are_no_longer_aligned_are_refused():
    """IR and RGB of one sample must have the same size: padding them into
    one canvas would pair unrelated pixels (e.g. a Resize of the IR image
    only, written outside PairedGeometric)."""
    preprocessor = PairedDataPreprocessor()
    rgb = [random_image(3, 30, 40, 0), random_image(3, 30, 40, 1)]
    ir = [random_image(1, 30, 40, 2), random_image(1, 15, 20, 3)]
    samples = [
        DetDataSample(metainfo=dict(img_path='a/lwir/f0.png')),
        DetDataSample(
            metainfo=dict(img_path='a/lwir/f1.png',
                          rgb_path='a/visible/f1.png'))
    ]
    with pytest.raises(ValueError, match=(
            r'sample 1 \(img_path=a/lwir/f1\.png, rgb_path=a/visible/f1\.png'
            r'\) has an IR image of \(15, 20\) .* RGB image of \(30, 40\).*'
            'PairedGeometric')):
        preprocessor(dict(inputs=dict(rgb=rgb, ir=ir), data_samples=samples))
    # without data samples the index alone is named
    with pytest.raises(ValueError, match=r'sample 1 has an IR image'):
        preprocessor(dict(inputs=dict(rgb=rgb, ir=ir)))
    # same IR / RGB size per sample, different sizes across samples: fine
    out = preprocessor(
        dict(inputs=dict(rgb=[rgb[0], random_image(3, 15, 20, 4)], ir=ir)))
    assert out['inputs']['rgb'].shape == (2, 3, 42, 42)


def test_same_size_batch_is_processed_as_one_tensor():
    """Images of one size take the stacked path; the result is the
    per-image reference, padding included."""
    rgb = [random_image(3, 512 // 16, 640 // 16, seed) for seed in range(3)]
    ir = [random_image(3, 512 // 16, 640 // 16, 7 + seed) for seed in
          range(3)]
    preprocessor = PairedDataPreprocessor(
        rgb_mean=RGB_MEAN, rgb_std=RGB_STD, ir_mean=[90.0], ir_std=[30.0],
        pad_value=-1.0)
    out = preprocessor(dict(inputs=dict(rgb=rgb, ir=ir)))
    assert out['inputs']['rgb'].shape == (3, 3, 42, 42)  # 32 x 40 -> 42 x 42
    for index in range(3):
        np.testing.assert_allclose(
            out['inputs']['rgb'][index].numpy(),
            expected(rgb[index], RGB_MEAN, RGB_STD, True, (42, 42), -1.0),
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            out['inputs']['ir'][index].numpy(),
            expected(ir[index], [90.0], [30.0], True, (42, 42), -1.0),
            rtol=1e-5, atol=1e-5)
