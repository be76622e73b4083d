"""FusedBandLossFunction against the op-by-op FreqDecoupledLoss."""
import pytest
import torch
from torch.autograd import gradcheck

from mmfreqkd.models.losses import FreqDecoupledLoss
from mmfreqkd.models.losses import fused_band_loss
from mmfreqkd.models.losses.fused_band_loss import (FusedBandLossFunction,
                                                    sample_chunks)


pytestmark = pytest.mark.usefixtures('single_thread')


@pytest.fixture(params=['one-sample-chunks', 'whole-batch'])
def chunking(request, monkeypatch):
    """Run every test with one sample per chunk and with a single chunk."""
    numel = 1 if request.param == 'one-sample-chunks' else 1 << 30
    monkeypatch.setattr(fused_band_loss, 'CPU_CHUNK_NUMEL', numel)
    return request.param


def random_pair(shape=(3, 8, 7, 9), seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(shape, generator=gen, dtype=dtype)
    teacher = 0.5 * student + torch.randn(shape, generator=gen, dtype=dtype)
    return student, teacher


def assert_close_relative(actual, expected):
    """assert_close on the scale of ``expected`` (gradients of mean losses
    are far below the default absolute tolerance)."""
    scale = expected.abs().max()
    assert scale > 0
    torch.testing.assert_close(actual / scale, expected / scale)


def values_and_grad(loss, student, teacher, weights):
    """Loss terms and d(sum_k w_k . term_k)/d student."""
    student = student.detach().clone().requires_grad_()
    out = loss(student, teacher)
    total = sum((weights[key] * value).sum() for key, value in out.items())
    total.backward()
    return out, student.grad


CONFIGS = [
    dict(),
    dict(reduction='none'),
    dict(standardize=False),
    dict(low_distance='log_mse', high_distance='mse'),
    dict(low_distance='mse', high_distance='mse', loss_weight=2.5),
    dict(low_weight=0.0),
    dict(high_weight=0.0, reduction='none'),
    dict(splitter=dict(type='FFTRectSplitter', cutoff=0.3, impl='fft')),
    dict(splitter=dict(type='FFTRadialSplitter', cutoff=0.4)),
    dict(splitter=dict(type='GaussianSplitter')),
    dict(splitter=dict(type='DCTSplitter')),
    dict(splitter=dict(type='HaarDWTSplitter', levels=2)),
]


@pytest.mark.parametrize('config', CONFIGS, ids=str)
def test_fused_matches_op_by_op(config, chunking):
    """Values and gradients of both routes agree in float64, for every
    splitter (Haar: not self-adjoint), distance, weight and reduction, with
    random weights on the returned terms."""
    student, teacher = random_pair()
    fused, reference = FreqDecoupledLoss(**config), FreqDecoupledLoss(
        fused=False, **config)
    assert fused.fused and not reference.fused
    gen = torch.Generator().manual_seed(1)
    weights = {
        key: torch.rand(3 if config.get('reduction') == 'none' else (),
                        generator=gen, dtype=torch.float64) + 0.5
        for key in ('loss_low', 'loss_high')
    }
    out, grad = values_and_grad(fused, student, teacher, weights)
    expected_out, expected_grad = values_and_grad(reference, student,
                                                  teacher, weights)
    assert out.keys() == expected_out.keys()
    for key in out:
        assert_close_relative(out[key], expected_out[key])
    assert_close_relative(grad, expected_grad)


@pytest.mark.parametrize('config', [dict(), dict(standardize=False)],
                         ids=str)
def test_fused_gradcheck(config, chunking):
    student, teacher = random_pair((2, 3, 5, 6))
    student.requires_grad_()
    loss = FreqDecoupledLoss(high_weight=0.5, reduction='none', **config)
    assert gradcheck(lambda s: tuple(loss(s, teacher).values()),
                     (student, ))


def test_clamped_norms_match_op_by_op(chunking):
    """Positions whose norm falls under eps (tiny maps) take the clamped
    branch of the standardisation in both routes alike."""
    student, teacher = random_pair((2, 4, 5, 6))
    student = student * 1e-8
    student[0, :, 0, 0] = 0.0
    weights = dict(loss_low=1.0, loss_high=1.0)
    _, grad = values_and_grad(FreqDecoupledLoss(), student, teacher, weights)
    _, expected = values_and_grad(
        FreqDecoupledLoss(fused=False), student, teacher, weights)
    assert_close_relative(grad, expected)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_precision_maps(dtype, chunking):
    """Computed in float32; the gradient comes back in the student's dtype."""
    student, teacher = random_pair((2, 8, 6, 7), dtype=torch.float32)
    student, teacher = student.to(dtype), teacher.to(dtype)
    weights = dict(loss_low=1.0, loss_high=1.0)
    out, grad = values_and_grad(FreqDecoupledLoss(), student, teacher,
                                weights)
    assert grad.dtype == dtype and out['loss_low'].dtype == torch.float32
    expected_out, expected_grad = values_and_grad(
        FreqDecoupledLoss(fused=False), student.float(), teacher.float(),
        weights)
    torch.testing.assert_close(out['loss_high'], expected_out['loss_high'])
    torch.testing.assert_close(
        grad.float(), expected_grad, atol=1e-3 * expected_grad.abs().max(),
        rtol=1e-2)


def test_without_gradient_nothing_is_saved():
    student, teacher = random_pair()
    loss = FreqDecoupledLoss()
    expected = FreqDecoupledLoss(fused=False)(student, teacher)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda x: saved.append(x) or x, lambda x: x):
        with torch.no_grad():
            out = loss(student.requires_grad_(), teacher)
        plain = loss(student.detach(), teacher)
    assert saved == []
    for key in expected:
        assert_close_relative(out[key], expected[key])
        assert_close_relative(plain[key], expected[key])
        assert not out[key].requires_grad


def test_saves_two_new_maps_per_layer():
    """The two band gradients, plus the student map itself (the
    standardisation is recomputed from it): far less than op-by-op autograd
    keeps."""
    student, teacher = random_pair((2, 16, 9, 10))
    student.requires_grad_()

    def saved_bytes(loss):
        """Bytes of the saved storages other than the student's own."""
        storages = {}

        def pack(tensor):
            storage = tensor.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
            loss(student, teacher)
        storages.pop(student.untyped_storage().data_ptr(), None)
        return sum(storages.values())

    map_bytes = student.numel() * student.element_size()
    assert saved_bytes(FreqDecoupledLoss()) == 2 * map_bytes
    assert saved_bytes(FreqDecoupledLoss(high_weight=0)) == map_bytes
    assert saved_bytes(FreqDecoupledLoss(fused=False)) > 5 * map_bytes


def test_backward_twice_with_retained_graph():
    student, teacher = random_pair()
    student.requires_grad_()
    total = sum(FreqDecoupledLoss()(student, teacher).values())
    first, = torch.autograd.grad(total, student, retain_graph=True)
    second, = torch.autograd.grad(total, student)
    assert_close_relative(first, second)


def test_teacher_with_gradient_takes_the_op_by_op_route():
    """Mutual distillation (the teacher map needs a gradient too) is served
    by autograd: both maps get their gradients."""
    student, teacher = random_pair()
    student.requires_grad_()
    teacher.requires_grad_()
    sum(FreqDecoupledLoss()(student, teacher).values()).backward()
    assert teacher.grad is not None and teacher.grad.abs().max() > 0
    expected_student = student.grad.clone()
    student.grad = None
    sum(FreqDecoupledLoss()(student, teacher.detach()).values()).backward()
    assert_close_relative(student.grad, expected_student)


def test_non_contiguous_maps():
    """Token maps reshaped from (B, N, C) arrive channels-last in memory."""
    student, teacher = random_pair((2, 9, 10, 8))
    student_nhwc = student.permute(0, 2, 3, 1).contiguous().permute(
        0, 3, 1, 2)
    weights = dict(loss_low=1.0, loss_high=1.0)
    out, grad = values_and_grad(FreqDecoupledLoss(), student_nhwc, teacher,
                                weights)
    expected_out, expected_grad = values_and_grad(
        FreqDecoupledLoss(fused=False), student, teacher, weights)
    for key in out:
        assert_close_relative(out[key], expected_out[key])
    assert_close_relative(grad, expected_grad)


def test_other_distances_are_not_fused():
    assert not FreqDecoupledLoss(high_distance='l1').fused
    assert not FreqDecoupledLoss(low_distance='cosine').fused
    assert not FreqDecoupledLoss(fused=False).fused


def test_sample_chunks(monkeypatch):
    cpu, cuda = torch.device('cpu'), torch.device('cuda')
    monkeypatch.setattr(fused_band_loss, 'CPU_CHUNK_NUMEL', 100)
    assert sample_chunks(5, 40, cpu) == [(0, 2), (2, 4), (4, 5)]
    assert sample_chunks(3, 1000, cpu) == [(0, 1), (1, 2), (2, 3)]
    assert sample_chunks(5, 40, cuda) == [(0, 5)]


def test_function_returns_zero_for_a_disabled_band():
    student, teacher = random_pair()
    low, high = FusedBandLossFunction.apply(
        student, teacher, torch.float64, FreqDecoupledLoss().splitter,
        (1.0, 0.0),
        ('mse', 'log_mse'), True, 1e-6, 'mean', False)
    assert high.item() == 0.0 and low.item() > 0


@pytest.mark.parametrize('fused', [True, False])
def test_zero_loss_weight_gives_zero_losses_and_gradient(fused, chunking):
    """loss_weight=0 switches a layer pair off; backward must still run."""
    student, teacher = random_pair()
    out, grad = values_and_grad(
        FreqDecoupledLoss(loss_weight=0.0, fused=fused), student, teacher,
        dict(loss_low=1.0, loss_high=1.0))
    assert sorted(out) == ['loss_high', 'loss_low']
    assert all(value.item() == 0.0 for value in out.values())
    assert grad is not None and grad.shape == student.shape
    assert torch.count_nonzero(grad) == 0


def test_sum_of_squares_is_accurate_on_a_vit_l_sample():
    """A float32 map of one ViT-L sample (1024 x 37 x 46): plane sums added
    in float64 keep the relative error near float32 rounding."""
    gen = torch.Generator().manual_seed(0)
    x = 0.03 * torch.randn(2, 1024, 37, 46, generator=gen)
    expected = x.double().square().sum(dim=(1, 2, 3))
    result = fused_band_loss.sum_of_squares(x)
    assert result.dtype == torch.float32 and result.shape == (2, )
    assert ((result.double() - expected).abs() / expected).max() < 1e-6


@pytest.mark.parametrize('fused', [True, False])
def test_autocast_region_does_not_lower_the_precision(fused):
    """Called inside a bfloat16 autocast region, the loss is still computed
    in float32 by both routes: same values and gradient as outside (the
    backward pass called outside the region, as PyTorch recommends)."""
    student, teacher = random_pair((2, 16, 9, 10), dtype=torch.float32)
    weights = dict(loss_low=1.0, loss_high=1.0)
    loss = FreqDecoupledLoss(fused=fused)
    expected_out, expected_grad = values_and_grad(loss, student, teacher,
                                                  weights)
    student.requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(student, teacher)
    sum(out.values()).backward()
    for key in out:
        assert out[key].dtype == torch.float32
        assert_close_relative(out[key], expected_out[key])
    assert_close_relative(student.grad, expected_grad)
