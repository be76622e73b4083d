"""FreqDecoupledLoss and the plain feature losses against numpy formulas."""
import math
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.registry import MODELS
from torch.autograd import gradcheck

from mmfreqkd.models.freq import DCTSplitter, HaarDWTSplitter
from mmfreqkd.models.losses import (FeatureCosineLoss, FeatureMSELoss,
                                    FreqDecoupledLoss)


pytestmark = pytest.mark.usefixtures('single_thread')


def random_pair(shape=(2, 6, 7, 9), seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(shape, generator=gen, dtype=dtype)
    teacher = 0.5 * student + torch.randn(shape, generator=gen, dtype=dtype)
    return student, teacher


def numpy_standardize(x):
    centred = x - x.mean(axis=(-2, -1), keepdims=True)
    return centred / np.sqrt((centred**2).sum(axis=1, keepdims=True))


def numpy_rect_split(x, cutoff):
    """The centred-rectangle low and high bands, with numpy (float64)."""
    height, width = x.shape[-2:]
    h = max(1, int(height * cutoff / 2))
    w = max(1, int(width * cutoff / 2))
    spectrum = np.fft.fftshift(np.fft.fft2(x, norm='ortho'), axes=(-2, -1))
    mask = np.zeros((height, width))
    mask[height // 2 - h:height // 2 + h, width // 2 - w:width // 2 + w] = 1

    def back(part):
        return np.fft.ifft2(
            np.fft.ifftshift(part, axes=(-2, -1)), norm='ortho').real

    return back(spectrum * mask), back(spectrum * (1 - mask))


def numpy_freqkd(student, teacher, cutoff=0.5, low_weight=1.0,
                 high_weight=0.1, loss_weight=1.0, per_sample=False):
    """w * (low_weight * MSE(S_low, T_low) + high_weight *
    MSE(log1p|S_high|, log1p|T_high|)) on standardised maps."""
    s_low, s_high = numpy_rect_split(numpy_standardize(student), cutoff)
    t_low, t_high = numpy_rect_split(numpy_standardize(teacher), cutoff)
    axes = (1, 2, 3) if per_sample else None
    low = ((s_low - t_low)**2).mean(axis=axes)
    high = ((np.log1p(np.abs(s_high)) - np.log1p(np.abs(t_high)))**2).mean(
        axis=axes)
    return loss_weight * low_weight * low, loss_weight * high_weight * high


@pytest.mark.parametrize('cutoff', [0.25, 0.5])
@pytest.mark.parametrize('shape', [(2, 6, 7, 9), (3, 16, 8, 8)])
def test_freqkd_matches_numpy_formula(shape, cutoff):
    student, teacher = random_pair(shape)
    loss = FreqDecoupledLoss(
        splitter=dict(type='FFTRectSplitter', cutoff=cutoff), loss_weight=2.0)
    out = loss(student, teacher)
    low, high = numpy_freqkd(student.numpy(), teacher.numpy(), cutoff,
                             loss_weight=2.0)
    assert set(out) == {'loss_low', 'loss_high'}
    assert out['loss_low'].shape == out['loss_high'].shape == ()
    np.testing.assert_allclose(out['loss_low'].item(), low, rtol=1e-10)
    np.testing.assert_allclose(out['loss_high'].item(), high, rtol=1e-10)
    assert low > 0 and high > 0


def test_freqkd_per_sample_matches_numpy_and_mean():
    student, teacher = random_pair((3, 8, 7, 9))
    per_sample = FreqDecoupledLoss(reduction='none')(student, teacher)
    mean = FreqDecoupledLoss()(student, teacher)
    low, high = numpy_freqkd(student.numpy(), teacher.numpy(),
                             per_sample=True)
    np.testing.assert_allclose(per_sample['loss_low'].numpy(), low,
                               rtol=1e-10)
    np.testing.assert_allclose(per_sample['loss_high'].numpy(), high,
                               rtol=1e-10)
    for key in ('loss_low', 'loss_high'):
        assert per_sample[key].shape == (3, )
        torch.testing.assert_close(per_sample[key].mean(), mean[key])


def test_freqkd_float32_matches_float64():
    student, teacher = random_pair((2, 64, 37, 46), dtype=torch.float32)
    out32 = FreqDecoupledLoss()(student, teacher)
    out64 = FreqDecoupledLoss()(student.double(), teacher.double())
    for key in out64:
        assert out32[key].dtype == torch.float32
        np.testing.assert_allclose(out32[key].item(), out64[key].item(),
                                   rtol=1e-4)


def test_identical_inputs_give_zero():
    student, _ = random_pair()
    out = FreqDecoupledLoss()(student, student.clone())
    assert out['loss_low'].item() == 0 and out['loss_high'].item() == 0


def test_nyquist_pattern_only_changes_the_high_band():
    """teacher = student + checkerboard (the Nyquist frequency of both axes):
    the low bands agree, the high bands differ by the checkerboard."""
    height, width = 8, 10
    gen = torch.Generator().manual_seed(0)
    rows = torch.arange(height, dtype=torch.float64)[:, None]
    cols = torch.arange(width, dtype=torch.float64)[None, :]
    # a smooth student: frequencies 0 and +-1, well inside the rectangle
    waves = torch.stack([
        torch.ones(height, width),
        torch.cos(2 * math.pi * rows / height).expand(height, width),
        torch.sin(2 * math.pi * cols / width).expand(height, width),
        torch.cos(2 * math.pi * (rows / height + cols / width)),
    ])
    coefficients = torch.randn(2, 4, 4, generator=gen, dtype=torch.float64)
    student = torch.einsum('bck,khw->bchw', coefficients, waves)
    checkerboard = torch.cos(math.pi * (rows + cols))
    teacher = student + 0.3 * checkerboard
    out = FreqDecoupledLoss(standardize=False)(student, teacher)
    assert out['loss_low'].item() < 1e-28
    # by hand: the student's high band is 0, the teacher's is 0.3 * (+-1)
    expected_high = 0.1 * math.log1p(0.3)**2
    np.testing.assert_allclose(out['loss_high'].item(), expected_high,
                               rtol=1e-10)


def test_single_band_ablations_omit_the_other_key():
    student, teacher = random_pair()
    both = FreqDecoupledLoss(low_weight=1.0, high_weight=0.5)(student, teacher)
    low_only = FreqDecoupledLoss(high_weight=0)(student, teacher)
    high_only = FreqDecoupledLoss(low_weight=0, high_weight=0.5)(student,
                                                                teacher)
    assert set(low_only) == {'loss_low'} and set(high_only) == {'loss_high'}
    torch.testing.assert_close(low_only['loss_low'], both['loss_low'])
    torch.testing.assert_close(high_only['loss_high'], both['loss_high'])


@pytest.mark.parametrize('distance', ['mse', 'log_mse', 'l1', 'cosine'])
def test_distances_on_both_bands(distance):
    student, teacher = random_pair()
    out = FreqDecoupledLoss(
        splitter=dict(type='GaussianSplitter'),
        low_distance=distance,
        high_distance=distance,
        high_weight=1.0)(student, teacher)
    splitter = MODELS.build(dict(type='GaussianSplitter'))
    s_low, s_high = (t.numpy() for t in splitter(
        torch.from_numpy(numpy_standardize(student.numpy()))))
    t_low, t_high = (t.numpy() for t in splitter(
        torch.from_numpy(numpy_standardize(teacher.numpy()))))

    def numpy_distance(a, b):
        if distance == 'mse':
            return ((a - b)**2).mean()
        if distance == 'log_mse':
            return ((np.log1p(np.abs(a)) - np.log1p(np.abs(b)))**2).mean()
        if distance == 'l1':
            return np.abs(a - b).mean()
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(
            b, axis=1)
        return (1 - cos).mean()

    np.testing.assert_allclose(out['loss_low'].item(),
                               numpy_distance(s_low, t_low), rtol=1e-10)
    np.testing.assert_allclose(out['loss_high'].item(),
                               numpy_distance(s_high, t_high), rtol=1e-10)


@pytest.mark.parametrize('splitter', [
    dict(type='FFTRectSplitter'),
    dict(type='FFTRectSplitter', impl='fft'),
    dict(type='FFTRadialSplitter', cutoff=0.6),
    dict(type='HaarDWTSplitter', levels=2),
    dict(type='DCTSplitter'),
])
def test_freqkd_gradcheck(splitter):
    student, teacher = random_pair((1, 3, 5, 6))
    student.requires_grad_()
    teacher.requires_grad_()
    loss = FreqDecoupledLoss(splitter=splitter, high_weight=0.5)

    def terms(s, t):
        out = loss(s, t)
        return out['loss_low'], out['loss_high']

    assert gradcheck(terms, (student, teacher))


@pytest.mark.parametrize('loss', [
    FeatureMSELoss(), FeatureCosineLoss(),
    FeatureCosineLoss(standardize=False), FeatureMSELoss(reduction='none')
], ids=['mse', 'cosine', 'cosine-raw', 'mse-none'])
def test_baseline_gradcheck(loss):
    student, teacher = random_pair((2, 3, 4, 5))
    student.requires_grad_()
    assert gradcheck(lambda s: tuple(loss(s, teacher).values()), (student, ))


@pytest.mark.parametrize('loss', [
    FreqDecoupledLoss(), FreqDecoupledLoss(standardize=False),
    FeatureMSELoss(), FeatureCosineLoss()
], ids=['freqkd', 'freqkd-raw', 'mse', 'cosine'])
@pytest.mark.parametrize('student_value, teacher_value', [(0.0, 0.0),
                                                          (0.7, 0.0),
                                                          (0.0, -3.0),
                                                          (2.5, 2.5)])
def test_constant_and_zero_maps_are_finite(loss, student_value,
                                           teacher_value):
    student = torch.full((2, 8, 6, 7), student_value, requires_grad=True)
    teacher = torch.full((2, 8, 6, 7), teacher_value)
    out = loss(student, teacher)
    total = sum(out.values())
    assert torch.isfinite(total)
    total.backward()
    assert torch.isfinite(student.grad).all()
    if loss.standardize:  # both standardise to zeros
        cosine = isinstance(loss, FeatureCosineLoss)
        assert total.item() == (1.0 if cosine else 0.0)


def test_feature_mse_and_cosine_match_numpy():
    student, teacher = random_pair((3, 5, 4, 6))
    s, t = numpy_standardize(student.numpy()), numpy_standardize(
        teacher.numpy())
    mse = FeatureMSELoss(loss_weight=3.0)(student, teacher)
    assert set(mse) == {'loss_mse'}
    np.testing.assert_allclose(mse['loss_mse'].item(),
                               3.0 * ((s - t)**2).mean(), rtol=1e-10)
    cosine = FeatureCosineLoss(reduction='none')(student, teacher)
    assert set(cosine) == {'loss_cosine'}
    # standardised positions are unit vectors: cos = dot product
    expected = (1 - (s * t).sum(1)).mean(axis=(1, 2))
    np.testing.assert_allclose(cosine['loss_cosine'].numpy(), expected,
                               rtol=1e-10)


def test_half_precision_maps_are_computed_in_float32():
    student, teacher = random_pair((2, 8, 6, 7), dtype=torch.float32)
    out = FreqDecoupledLoss()(student.bfloat16(), teacher.bfloat16())
    reference = FreqDecoupledLoss()(student.bfloat16().float(),
                                    teacher.bfloat16().float())
    mixed = FreqDecoupledLoss()(student, teacher.bfloat16())
    for key, value in out.items():
        assert value.dtype == mixed[key].dtype == torch.float32
        torch.testing.assert_close(value, reference[key])
    torch.testing.assert_close(
        mixed['loss_low'],
        FreqDecoupledLoss()(student, teacher.bfloat16().float())['loss_low'])


def test_built_from_config_with_a_splitter_instance():
    loss = MODELS.build(
        dict(type='FreqDecoupledLoss', splitter=HaarDWTSplitter(levels=2)))
    assert isinstance(loss.splitter, HaarDWTSplitter)
    assert not list(loss.parameters()) and not loss.state_dict()
    loss = FreqDecoupledLoss(splitter=DCTSplitter(cutoff=0.25))
    assert loss.splitter.cutoff == 0.25


def test_shape_errors_name_both_shapes():
    loss = FreqDecoupledLoss()
    with pytest.raises(ValueError, match=r'\(2, 8, 6, 7\).*\(2, 8, 6, 8\)'):
        loss(torch.zeros(2, 8, 6, 7), torch.zeros(2, 8, 6, 8))
    with pytest.raises(ValueError, match='student map'):
        loss(torch.zeros(8, 6, 7), torch.zeros(8, 6, 7))
    with pytest.raises(ValueError, match='teacher map'):
        FeatureMSELoss()(torch.zeros(1, 8, 6, 7), 'teacher')


@pytest.mark.parametrize('kwargs, message', [
    (dict(low_distance='kl'), "low_distance='kl'"),
    (dict(high_distance='log'), "high_distance='log'"),
    (dict(low_weight=-1), 'low_weight'),
    (dict(high_weight=float('nan')), 'high_weight'),
    (dict(low_weight=0, high_weight=0), 'both 0'),
    (dict(loss_weight=-0.5), 'loss_weight'),
    (dict(loss_weight=float('inf')),
     'FreqDecoupledLoss: loss_weight must be a finite number >= 0, got inf'),
    (dict(low_weight=float('inf')), 'low_weight .* got inf'),
    (dict(reduction='sum'), 'reduction'),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FreqDecoupledLoss(**kwargs)


def test_fused_must_be_a_bool():
    with pytest.raises(TypeError, match='FreqDecoupledLoss: fused must be a '
                       "bool, got 'no'"):
        FreqDecoupledLoss(fused='no')


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('splitter, band', [
    (dict(type='FFTRectSplitter', cutoff=1.0),
     r"FFTRectSplitter\(cutoff=1\.0, impl='matmul'\)"),
    (dict(type='FFTRadialSplitter', cutoff=2.0),
     r'FFTRadialSplitter\(cutoff=2\.0\)'),
    (dict(type='DCTSplitter', cutoff=1.0), r'DCTSplitter\(cutoff=1\.0\)'),
    # passes 1 - exp(-r^2 / 2e4) ~ 1e-4 of the amplitude at the corners
    (dict(type='GaussianSplitter', sigma=100.0),
     r'GaussianSplitter\(sigma=100\.0\)'),
])
def test_a_weighted_band_left_empty_is_refused(splitter, band, fused):
    """Such a band gave loss_high = 0 (or ~1e-11) at every step, silently."""
    student, teacher = random_pair((2, 6, 6, 6))
    loss = FreqDecoupledLoss(splitter=splitter, fused=fused)
    with pytest.raises(ValueError,
                       match=rf'FreqDecoupledLoss: {band} leaves the high '
                       r'band of \(H, W\) = \(6, 6\) maps empty, yet '
                       r'high_weight=0\.1'):
        loss(student, teacher)
    # without weight on that band, the loss is the low-only ablation
    low_only = FreqDecoupledLoss(splitter=splitter, high_weight=0,
                                 fused=fused)
    assert set(low_only(student, teacher)) == {'loss_low'}


def test_band_check_runs_once_per_map_size():
    loss = FreqDecoupledLoss(splitter=dict(type='FFTRectSplitter',
                                           cutoff=1.0))
    odd = random_pair((2, 6, 7, 7))  # half the outermost waves are high
    assert loss(*odd)['loss_high'] > 0
    with mock.patch.object(loss.splitter, 'empty_bands',
                           side_effect=AssertionError('checked again')):
        loss(*odd)
    with pytest.raises(ValueError, match=r'\(H, W\) = \(8, 6\)'):
        loss(*random_pair((2, 6, 8, 6)))


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('reduction', ['mean', 'none'])
def test_an_empty_batch_gives_zero_losses_with_a_gradient(reduction, fused):
    student = torch.randn(0, 6, 7, 9, requires_grad=True)
    losses = FreqDecoupledLoss(reduction=reduction, fused=fused)(
        student, torch.randn(0, 6, 7, 9))
    assert set(losses) == {'loss_low', 'loss_high'}
    for value in losses.values():
        assert value.shape == (() if reduction == 'mean' else (0, ))
        assert value.dtype == torch.float32
        assert not value.any()
    sum(value.sum() for value in losses.values()).backward()
    assert student.grad.shape == student.shape


def test_invalid_baseline_arguments():
    with pytest.raises(TypeError, match='standardize'):
        FeatureMSELoss(standardize='yes')
    with pytest.raises(ValueError, match='loss_weight .* got inf'):
        FeatureMSELoss(loss_weight=float('inf'))
    with pytest.raises(ValueError, match='reduction'):
        FeatureCosineLoss(reduction='batchmean')


@pytest.mark.parametrize('splitter', [
    dict(type='DCTSplitter', cutoff=0.05),
    dict(type='FFTRadialSplitter', cutoff=0.05),
    dict(type='GaussianSplitter', sigma=0.01),
])
def test_a_low_band_of_only_the_mean_is_refused_on_standardised_maps(
        splitter):
    """On a 10 x 12 grid these keep only the constant term, which
    standardisation removes: loss_low came out ~1e-8, silently."""
    student, teacher = torch.randn(2, 8, 10, 12), torch.randn(2, 8, 10, 12)
    loss = MODELS.build(dict(type='FreqDecoupledLoss', splitter=splitter))
    with pytest.raises(ValueError, match=r'keeps only the constant \(mean\) '
                       r'term of \(H, W\) = \(10, 12\) maps'):
        loss(student, teacher)
    # the same band is meaningful without standardisation, unused at
    # low_weight=0, and kept on larger maps
    MODELS.build(dict(type='FreqDecoupledLoss', splitter=splitter,
                      standardize=False))(student, teacher)
    MODELS.build(dict(type='FreqDecoupledLoss', splitter=splitter,
                      low_weight=0.0))(student, teacher)
    if splitter['type'] == 'DCTSplitter':
        MODELS.build(dict(type='FreqDecoupledLoss', splitter=splitter))(
            torch.randn(1, 8, 40, 48), torch.randn(1, 8, 40, 48))
