"""FiGKDLoss, KDLoss and the logit wavelet against hand-worked examples."""
import math

import numpy as np
import pytest
import pywt
import torch
from mmengine.registry import MODELS
from torch.autograd import gradcheck

from mmfreqkd.models.losses import FiGKDLoss, KDLoss, LogitWavelet
from logit_reference import numpy_kl


pytestmark = pytest.mark.usefixtures('single_thread')


def random_logits(shape=(4, 10), seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return (3 * torch.randn(shape, generator=gen, dtype=dtype),
            3 * torch.randn(shape, generator=gen, dtype=dtype))


def test_figkd_worked_example_c4_haar():
    """C = 4, one Haar level, by hand.

    student [1, 3, 2, 6]: pair means 2, 4 -> high-pass [-1, 1, -2, 2],
    details (1 - 3) / sqrt2, (2 - 6) / sqrt2 = -sqrt2, -2 sqrt2.
    teacher [2, 2, 5, 1]: pair means 2, 3 -> high-pass [0, 0, 2, -2],
    details 0, 4 / sqrt2 = 2 sqrt2.
    """
    student = torch.tensor([[1., 3., 2., 6.]], dtype=torch.float64)
    teacher = torch.tensor([[2., 2., 5., 1.]], dtype=torch.float64)

    mse = FiGKDLoss(distance='mse')(student, teacher)
    # ((-sqrt2 - 0)^2 + (-2 sqrt2 - 2 sqrt2)^2) / 2 = (2 + 32) / 2
    assert mse.item() == pytest.approx(17.0, rel=1e-12)

    temperature = 2.0
    h_s = [-1, 1, -2, 2]
    h_t = [0, 0, 2, -2]
    z_s = sum(math.exp(v / temperature) for v in h_s)
    z_t = sum(math.exp(v / temperature) for v in h_t)
    expected = 0.0
    for s, t in zip(h_s, h_t):
        p_t = math.exp(t / temperature) / z_t
        p_s = math.exp(s / temperature) / z_s
        expected += p_t * math.log(p_t / p_s)
    expected *= temperature**2
    kl = FiGKDLoss(temperature=temperature)(student, teacher)
    assert kl.item() == pytest.approx(expected, rel=1e-12)


def test_logit_wavelet_haar_by_hand():
    wavelet = LogitWavelet('haar', levels=2)
    logits = torch.tensor([[1., 3., 2., 6., 4.]], dtype=torch.float64)
    # level 1 (pad 4 -> [.., 4, 4]): details (1-3)/r2, (2-6)/r2, 0;
    # approx 4/r2, 8/r2, 8/r2; level 2 (pad): details (4-8)/2, 0.
    r2 = math.sqrt(2)
    expected = [-2, 0, -2 / r2, -4 / r2, 0]
    np.testing.assert_allclose(wavelet.details(logits)[0].numpy(), expected,
                               atol=1e-12)
    # low: blocks of 4 averaged (3) and the padded block of 4s (4)
    np.testing.assert_allclose(
        wavelet.high_pass(logits)[0].numpy(), [-2, 0, -1, 3, 0], atol=1e-12)


@pytest.mark.filterwarnings('ignore:Level value')  # pywt: boundary effects
@pytest.mark.parametrize('wavelet', ['haar', 'db2', 'sym3'])
@pytest.mark.parametrize('levels', [1, 2, 3])
@pytest.mark.parametrize('classes', [8, 11, 100])
def test_logit_wavelet_matches_pywavelets(wavelet, levels, classes):
    logits, _ = random_logits((3, classes))
    transform = LogitWavelet(wavelet, levels)
    coeffs = pywt.wavedec(logits.numpy(), wavelet, mode='periodization',
                          level=levels, axis=-1)
    approx_only = [coeffs[0]] + [np.zeros_like(c) for c in coeffs[1:]]
    low = pywt.waverec(approx_only, wavelet, mode='periodization',
                       axis=-1)[:, :classes]
    np.testing.assert_allclose(
        transform.details(logits).numpy(),
        np.concatenate(coeffs[1:], axis=-1),
        atol=1e-10)
    np.testing.assert_allclose(
        transform.high_pass(logits).numpy(), logits.numpy() - low, atol=1e-10)


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(distance='mse'),
    dict(levels=2, wavelet='db2'),
    dict(levels=3, distance='mse', wavelet='db2'),
])
def test_figkd_identical_and_shifted_logits_give_zero(kwargs):
    """The detail band of a constant is zero, so a constant shift of the
    logits (which softmax also ignores) changes nothing."""
    student, _ = random_logits((4, 13))
    loss = FiGKDLoss(**kwargs)
    assert loss(student, student.clone()).item() == 0
    shift = torch.tensor([[1.5], [-7.0], [0.25], [30.0]], dtype=torch.float64)
    assert abs(loss(student, student + shift).item()) < 1e-12
    _, teacher = random_logits((4, 13))
    assert loss(student, teacher).item() > 0


@pytest.mark.parametrize('wavelet', ['haar', 'db2'])
@pytest.mark.parametrize('classes', [100, 13])
def test_figkd_at_the_most_levels_is_kd(wavelet, classes):
    """With ceil(log2(C)) levels the approximation band reconstructs to a
    constant, which the KL of softened logits ignores."""
    student, teacher = random_logits((6, classes))
    levels = math.ceil(math.log2(classes))
    torch.testing.assert_close(
        FiGKDLoss(wavelet=wavelet, levels=levels)(student, teacher),
        KDLoss()(student, teacher), rtol=1e-12, atol=0)
    # one level fewer keeps two approximation coefficients: not KD
    fewer = FiGKDLoss(wavelet=wavelet, levels=levels - 1)(student, teacher)
    assert abs(fewer.item() - KDLoss()(student, teacher).item()) > 1e-3


def test_figkd_ignores_the_approximation_band():
    """Changing the pair means (Haar approximation) alone costs nothing."""
    student, _ = random_logits((2, 10))
    pair_offsets = torch.randn(2, 5, dtype=torch.float64).repeat_interleave(
        2, dim=-1)
    for distance in ('kl', 'mse'):
        loss = FiGKDLoss(distance=distance)
        assert abs(loss(student, student + pair_offsets).item()) < 1e-12
    assert KDLoss()(student, student + pair_offsets).item() > 1e-3


def test_kd_matches_direct_formula():
    student, teacher = random_logits((5, 7))
    for temperature in (1.0, 4.0):
        expected = numpy_kl(student.numpy(), teacher.numpy(), temperature)
        per_sample = KDLoss(temperature, reduction='none')(student, teacher)
        np.testing.assert_allclose(per_sample.numpy(), expected, rtol=1e-10)
        mean = KDLoss(temperature, loss_weight=0.5)(student, teacher)
        np.testing.assert_allclose(mean.item(), 0.5 * expected.mean(),
                                   rtol=1e-10)
    assert KDLoss()(student, student).item() == 0


def test_figkd_kl_is_kd_on_the_high_pass_logits():
    student, teacher = random_logits((5, 12))
    loss = FiGKDLoss(levels=2, temperature=3.0, reduction='none')
    transform = LogitWavelet('haar', 2)
    expected = numpy_kl(
        transform.high_pass(student).numpy(),
        transform.high_pass(teacher).numpy(), 3.0)
    np.testing.assert_allclose(loss(student, teacher).numpy(), expected,
                               rtol=1e-10)


@pytest.mark.parametrize('loss', [
    FiGKDLoss(),
    FiGKDLoss(distance='mse', levels=2),
    FiGKDLoss(wavelet='db2', levels=2),
    FiGKDLoss(reduction='none', temperature=2.0),
    KDLoss(),
    KDLoss(reduction='none'),
],
                         ids=[
                             'figkd-kl', 'figkd-mse', 'figkd-db2',
                             'figkd-none', 'kd', 'kd-none'
                         ])
def test_logit_losses_gradcheck(loss):
    student, teacher = random_logits((3, 9))
    student.requires_grad_()
    teacher.requires_grad_()
    assert gradcheck(loss, (student, teacher))


def test_reductions_and_weight():
    student, teacher = random_logits((6, 10))
    for cls in (FiGKDLoss, KDLoss):
        per_sample = cls(reduction='none')(student, teacher)
        assert per_sample.shape == (6, )
        mean = cls(loss_weight=2.0)(student, teacher)
        assert mean.shape == ()
        torch.testing.assert_close(mean, 2.0 * per_sample.mean())


def test_built_from_registry_and_float32():
    loss = MODELS.build(dict(type='FiGKDLoss', levels=2, distance='mse'))
    student, teacher = random_logits((2, 100), dtype=torch.float32)
    value = loss(student, teacher)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert isinstance(MODELS.build(dict(type='KDLoss')), KDLoss)


@pytest.mark.parametrize('factory, message', [
    (lambda: FiGKDLoss(distance='l2'), 'distance'),
    (lambda: FiGKDLoss(wavelet='morl'), 'discrete wavelet'),
    (lambda: FiGKDLoss(wavelet='no-such-wavelet'), 'discrete wavelet'),
    # an FIR approximation whose high-pass filter leaks constants
    (lambda: FiGKDLoss(wavelet='dmey'),
     r"'dmey': its high-pass filter sums to 0\.0011, not 0"),
    (lambda: FiGKDLoss(levels=0),
     'FiGKDLoss: wavelet levels must be an int >= 1, got 0'),
    (lambda: FiGKDLoss(temperature=0), 'temperature'),
    (lambda: KDLoss(temperature=-1), 'temperature'),
    (lambda: KDLoss(reduction='batchmean'), 'reduction'),
    (lambda: FiGKDLoss(loss_weight=-1), 'loss_weight'),
    # infinite temperature: softmax(x / inf) is uniform and T**2 * KL = NaN
    (lambda: KDLoss(temperature=float('inf')),
     'temperature must be a finite number > 0, got inf'),
    (lambda: FiGKDLoss(temperature=float('nan')), 'got nan'),
    (lambda: KDLoss(loss_weight=float('inf')),
     'KDLoss: loss_weight must be a finite number >= 0, got inf'),
])
def test_invalid_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_too_many_levels_for_the_classes_name_the_loss():
    with pytest.raises(ValueError, match='FiGKDLoss: 3 wavelet levels need '
                       'more than 4 classes: at most 2 levels fit'):
        FiGKDLoss(levels=3)(torch.randn(2, 4), torch.randn(2, 4))


def test_invalid_inputs():
    with pytest.raises(ValueError, match=r'\(4, 10\).*\(4, 11\)'):
        FiGKDLoss()(torch.zeros(4, 10), torch.zeros(4, 11))
    with pytest.raises(ValueError, match='student logits'):
        KDLoss()(torch.zeros(4, 10, 1), torch.zeros(4, 10, 1))
    with pytest.raises(ValueError, match='at most 2 levels'):
        FiGKDLoss(levels=3)(torch.zeros(2, 4), torch.zeros(2, 4))
