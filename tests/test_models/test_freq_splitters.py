"""Band splitters against independent numpy, scipy and PyWavelets results."""
import math

import numpy as np
import pytest
import pywt
import scipy.fft
import torch
from mmengine.registry import MODELS

from mmfreqkd.models.freq import (BaseBandSplitter, DCTSplitter,
                                  FFTRadialSplitter, FFTRectSplitter,
                                  GaussianSplitter, HaarDWTSplitter,
                                  build_splitter, dct_matrix,
                                  radial_band_masks, standardize_features,
                                  write_into)
from mmfreqkd.models.losses import FreqDecoupledLoss

SIZES = [(8, 8), (7, 9), (6, 11), (37, 46), (1, 5)]


pytestmark = pytest.mark.usefixtures('single_thread')


def random_maps(height, width, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, height, width, generator=gen, dtype=dtype)


def numpy_masked_low(x, shifted_mask):
    """Low band by the textbook route: fft2, fftshift, mask, back, real."""
    spectrum = np.fft.fftshift(np.fft.fft2(x, norm='ortho'), axes=(-2, -1))
    filtered = np.fft.ifftshift(spectrum * shifted_mask, axes=(-2, -1))
    return np.fft.ifft2(filtered, norm='ortho').real


def numpy_rect_mask(height, width, cutoff):
    h = max(1, int(height * cutoff / 2))
    w = max(1, int(width * cutoff / 2))
    mask = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            if height // 2 - h <= i < height // 2 + h and \
                    width // 2 - w <= j < width // 2 + w:
                mask[i, j] = 1
    return mask


def numpy_radius(height, width):
    cy, cx = height // 2, width // 2
    radius = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            radius[i, j] = math.hypot(i - cy, j - cx) / max(1, min(cy, cx))
    return radius


@pytest.mark.parametrize('impl', ['matmul', 'fft'])
@pytest.mark.parametrize('cutoff', [0.1, 0.25, 0.5, 0.75, 1.0])
@pytest.mark.parametrize('size', SIZES)
def test_rect_splitter_matches_numpy(size, cutoff, impl):
    x = random_maps(*size)
    low, high = FFTRectSplitter(cutoff=cutoff, impl=impl)(x)
    expected = numpy_masked_low(x.numpy(), numpy_rect_mask(*size, cutoff))
    np.testing.assert_allclose(low.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose((low + high).numpy(), x.numpy(), atol=1e-12)


@pytest.mark.parametrize('impl', ['matmul', 'fft'])
def test_rect_splitter_float32_sums_to_input(impl):
    x = random_maps(37, 46, dtype=torch.float32)
    low, high = FFTRectSplitter(impl=impl)(x)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low + high, x, atol=1e-6, rtol=0)
    expected = numpy_masked_low(x.double().numpy(),
                                numpy_rect_mask(37, 46, 0.5))
    np.testing.assert_allclose(low.numpy(), expected, atol=1e-5)


def test_rect_low_band_keeps_exactly_the_rectangle():
    """A single frequency inside (outside) the band lands in low (high)."""
    height, width = 10, 12
    rows = torch.arange(height, dtype=torch.float64)[:, None]
    cols = torch.arange(width, dtype=torch.float64)[None, :]
    # frequency (1, 2) is inside h = w = 2 / 3 (cutoff 0.5); (1, 4) is not.
    inside = torch.cos(2 * math.pi * (rows / height + 2 * cols / width))
    outside = torch.cos(2 * math.pi * (rows / height + 4 * cols / width))
    splitter = FFTRectSplitter(cutoff=0.5)
    low, high = splitter(inside[None, None])
    torch.testing.assert_close(low[0, 0], inside)
    assert high.abs().max() < 1e-12
    low, high = splitter(outside[None, None])
    assert low.abs().max() < 1e-12
    torch.testing.assert_close(high[0, 0], outside)


@pytest.mark.parametrize('cutoff', [0.25, 0.5, 1.0])
@pytest.mark.parametrize('size', SIZES)
def test_radial_splitter_matches_numpy(size, cutoff):
    x = random_maps(*size)
    low, high = FFTRadialSplitter(cutoff=cutoff)(x)
    mask = (numpy_radius(*size) <= cutoff).astype(float)
    np.testing.assert_allclose(
        low.numpy(), numpy_masked_low(x.numpy(), mask), atol=1e-12)
    np.testing.assert_allclose((low + high).numpy(), x.numpy(), atol=1e-12)


@pytest.mark.parametrize('sigma', [0.2, 0.4])
@pytest.mark.parametrize('size', SIZES)
def test_gaussian_splitter_matches_numpy(size, sigma):
    x = random_maps(*size)
    low, high = GaussianSplitter(sigma=sigma)(x)
    gain = np.exp(-numpy_radius(*size)**2 / (2 * sigma**2))
    np.testing.assert_allclose(
        low.numpy(), numpy_masked_low(x.numpy(), gain), atol=1e-12)
    np.testing.assert_allclose((low + high).numpy(), x.numpy(), atol=1e-12)


def test_radial_band_masks():
    low, high = radial_band_masks(9, 12, low_radius=0.25, high_radius=0.75)
    radius = numpy_radius(9, 12)
    np.testing.assert_array_equal(low.numpy(), radius <= 0.25)
    np.testing.assert_array_equal(high.numpy(), radius >= 0.75)
    assert low.dtype == high.dtype == torch.bool
    assert low[4, 6] and not high[4, 6]  # the zero frequency
    assert not (low & high).any()
    ring = ~(low | high)
    assert ring.any()  # the middle ring belongs to neither band
    with pytest.raises(ValueError, match='low_radius < high_radius'):
        radial_band_masks(9, 12, low_radius=0.8, high_radius=0.5)


def haar_block_means_one_level(x):
    """Replace every 2x2 block by its mean; odd sizes repeat the last
    row / column first (explicit loops)."""
    height, width = x.shape
    padded = np.pad(x, ((0, height % 2), (0, width % 2)), mode='edge')
    out = np.zeros_like(padded)
    for i in range(0, padded.shape[0], 2):
        for j in range(0, padded.shape[1], 2):
            out[i:i + 2, j:j + 2] = (padded[i, j] + padded[i + 1, j] +
                                     padded[i, j + 1] +
                                     padded[i + 1, j + 1]) / 4
    return out[:height, :width]


def haar_coarse_one_level(x):
    """The 2x2 block means of one level (the next level's input)."""
    return haar_block_means_one_level(x)[::2, ::2]


@pytest.mark.parametrize('size', [(8, 8), (7, 9), (6, 11), (5, 4)])
def test_haar_one_level_is_pairwise_average(size):
    x = random_maps(*size)
    low, high = HaarDWTSplitter(levels=1)(x)
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(
                low[b, c].numpy(), haar_block_means_one_level(x[b, c].numpy()),
                atol=1e-12)
    np.testing.assert_allclose((low + high).numpy(), x.numpy(), atol=1e-12)


@pytest.mark.parametrize('size', [(8, 8), (7, 9), (6, 10)])
def test_haar_two_levels(size):
    x = random_maps(*size)
    low, _ = HaarDWTSplitter(levels=2)(x)
    plane = x[0, 0].numpy()
    coarse = haar_coarse_one_level(haar_coarse_one_level(plane))
    expected = np.repeat(np.repeat(coarse, 2, 0), 2, 1)
    level1_shape = haar_coarse_one_level(plane).shape
    expected = expected[:level1_shape[0], :level1_shape[1]]
    expected = np.repeat(np.repeat(expected, 2, 0), 2, 1)[:size[0], :size[1]]
    np.testing.assert_allclose(low[0, 0].numpy(), expected, atol=1e-12)
    if size == (8, 8):  # no padding: plain 4x4 block means
        blocks = plane.reshape(2, 4, 2, 4).mean(axis=(1, 3))
        np.testing.assert_allclose(
            low[0, 0].numpy(), np.kron(blocks, np.ones((4, 4))), atol=1e-12)


@pytest.mark.filterwarnings('ignore:Level value')  # pywt: boundary effects
@pytest.mark.parametrize('levels', [1, 2, 3])
@pytest.mark.parametrize('size', [(8, 8), (7, 9), (37, 46)])
def test_haar_matches_pywavelets(size, levels):
    x = random_maps(*size)[0, 0].numpy()
    coeffs = pywt.wavedec2(x, 'haar', mode='periodization', level=levels)
    approx_only = [coeffs[0]] + [
        tuple(np.zeros_like(d) for d in detail) for detail in coeffs[1:]
    ]
    expected = pywt.waverec2(approx_only, 'haar',
                             mode='periodization')[:size[0], :size[1]]
    low, _ = HaarDWTSplitter(levels=levels)(torch.from_numpy(x)[None, None])
    np.testing.assert_allclose(low[0, 0].numpy(), expected, atol=1e-12)


@pytest.mark.parametrize('cutoff', [0.3, 0.5, 1.0])
@pytest.mark.parametrize('size', SIZES)
def test_dct_splitter_matches_scipy(size, cutoff):
    x = random_maps(*size)
    low, high = DCTSplitter(cutoff=cutoff)(x)
    coefficients = scipy.fft.dctn(x.numpy(), axes=(-2, -1), norm='ortho')
    kh, kw = max(1, int(size[0] * cutoff)), max(1, int(size[1] * cutoff))
    coefficients[..., kh:, :] = 0
    coefficients[..., :, kw:] = 0
    expected = scipy.fft.idctn(coefficients, axes=(-2, -1), norm='ortho')
    np.testing.assert_allclose(low.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose((low + high).numpy(), x.numpy(), atol=1e-12)


def test_dct_matrix_is_scipy_dct():
    expected = scipy.fft.dct(np.eye(7), norm='ortho', axis=0)
    np.testing.assert_allclose(dct_matrix(7).numpy(), expected, atol=1e-14)


@pytest.mark.parametrize('splitter', [
    FFTRectSplitter(), FFTRectSplitter(impl='fft'), FFTRadialSplitter(),
    GaussianSplitter(), DCTSplitter()
], ids=lambda s: f'{type(s).__name__}-{getattr(s, "impl", "")}')
def test_operators_are_cached(splitter):
    x = random_maps(7, 9, dtype=torch.float32)
    splitter(x)
    cached = dict(splitter.operator_cache)
    assert cached and all(key[-1] == torch.float32 for key in cached)
    splitter(x + 1)
    assert splitter.operator_cache.keys() == cached.keys()
    for key, value in cached.items():
        assert splitter.operator_cache[key] is value
    splitter(x.double())
    assert len(splitter.operator_cache) > len(cached)


def test_cache_is_bounded():
    splitter = FFTRectSplitter(impl='fft')
    for width in range(2, 2 + splitter.max_cached + 3):
        splitter(torch.zeros(1, 1, 4, width))
    assert len(splitter.operator_cache) == splitter.max_cached
    assert ('rfft_gain', 4, 2 + splitter.max_cached + 2, torch.device('cpu'),
            torch.float32) in splitter.operator_cache


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_precision_is_computed_in_float32(dtype):
    x = random_maps(6, 8, dtype=torch.float32).to(dtype)
    low, high = FFTRectSplitter()(x)
    assert low.dtype == high.dtype == dtype
    expected, _ = FFTRectSplitter()(x.float())
    torch.testing.assert_close(low.float(), expected, atol=1e-2, rtol=1e-2)


def test_splitter_gradient_is_the_transposed_operator():
    """The low pass is linear: <low(x), y> == <x, low^T(y)>, checked with
    autograd against the explicit matrix of the operator."""
    splitter = FFTRectSplitter(cutoff=0.5)
    x = random_maps(5, 6)[:1, :1].requires_grad_()
    y = random_maps(5, 6, seed=1)[:1, :1]
    (splitter(x)[0] * y).sum().backward()
    basis = torch.eye(30, dtype=torch.float64).reshape(30, 1, 5, 6)
    matrix = splitter(basis)[0].reshape(30, 30)  # row k = low(e_k)
    expected = (matrix @ y.reshape(30)).reshape(5, 6)
    torch.testing.assert_close(x.grad[0, 0], expected)


def test_build_splitter():
    splitter = build_splitter(dict(type='HaarDWTSplitter', levels=2))
    assert isinstance(splitter, HaarDWTSplitter) and splitter.levels == 2
    assert build_splitter(splitter) is splitter
    assert isinstance(MODELS.build(dict(type='FFTRectSplitter')),
                      FFTRectSplitter)
    with pytest.raises(TypeError, match="'type' key"):
        build_splitter(dict(cutoff=0.5))
    with pytest.raises(TypeError, match='not a band splitter'):
        build_splitter(dict(type='FeatureMSELoss'))


@pytest.mark.parametrize('factory, message', [
    (lambda: FFTRectSplitter(cutoff=0), 'cutoff'),
    (lambda: FFTRectSplitter(cutoff=1.5), 'cutoff'),
    (lambda: FFTRectSplitter(impl='cuda'), 'impl'),
    (lambda: FFTRadialSplitter(cutoff=-1), 'cutoff'),
    (lambda: GaussianSplitter(sigma=0), 'sigma'),
    (lambda: HaarDWTSplitter(levels=0), 'levels'),
    (lambda: DCTSplitter(cutoff='half'), 'cutoff'),
    # non-finite values arrive from --cfg-options (DictAction parses 'nan')
    (lambda: FFTRectSplitter(cutoff=float('nan')), 'cutoff'),
    (lambda: DCTSplitter(cutoff=float('nan')), 'cutoff'),
    (lambda: FFTRadialSplitter(cutoff=float('nan')),
     'FFTRadialSplitter: cutoff must be a finite number > 0, got nan'),
    (lambda: FFTRadialSplitter(cutoff=float('inf')),
     'FFTRadialSplitter: cutoff must be a finite number > 0, got inf'),
    (lambda: GaussianSplitter(sigma=float('nan')),
     'GaussianSplitter: sigma must be a finite number > 0, got nan'),
    (lambda: GaussianSplitter(sigma=float('inf')),
     'GaussianSplitter: sigma must be a finite number > 0, got inf'),
    (lambda: radial_band_masks(9, 12, 0.25, float('inf')),
     'high_radius=inf'),
])
def test_invalid_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


@pytest.mark.parametrize('size, levels', [((6, 6), 3), ((2, 64), 6),
                                          ((5, 3), 3), ((1, 2), 1)])
def test_haar_levels_beyond_the_map_are_refused(size, levels):
    """As many levels as halve the longer side to 1 fit; more would repeat
    the last level, so that levels=10 gave the bands of levels=3."""
    x = random_maps(*size)
    HaarDWTSplitter(levels)(x)
    with pytest.raises(ValueError,
                       match=rf'HaarDWTSplitter: {levels + 1} levels need '
                       rf'maps larger than \(H, W\) = \({size[0]}, '
                       rf'{size[1]}\): at most {levels} levels fit'):
        HaarDWTSplitter(levels + 1)(x)
    with pytest.raises(ValueError, match='at most 0 levels fit'):
        HaarDWTSplitter()(random_maps(1, 1))


@pytest.mark.parametrize('splitter, size, empty', [
    # cutoff 1 keeps the whole spectrum of an even grid in the rectangle
    (FFTRectSplitter(cutoff=1.0), (6, 6), (False, True)),
    (FFTRectSplitter(cutoff=1.0, impl='fft'), (6, 8), (False, True)),
    # odd grids keep half of the outermost waves in the high band
    (FFTRectSplitter(cutoff=1.0), (7, 7), (False, False)),
    (FFTRectSplitter(), (6, 6), (False, False)),
    # a disk beyond the corner (radius sqrt(2) on a square grid)
    (FFTRadialSplitter(cutoff=2.0), (6, 6), (False, True)),
    (FFTRadialSplitter(cutoff=1.0), (6, 6), (False, False)),
    (DCTSplitter(cutoff=1.0), (7, 9), (False, True)),
    (DCTSplitter(cutoff=0.9), (6, 6), (False, False)),
    (DCTSplitter(cutoff=0.9), (1, 1), (False, True)),
    (GaussianSplitter(), (6, 6), (False, False)),
    (HaarDWTSplitter(), (6, 6), (False, False)),
], ids=str)
def test_empty_bands_are_told_from_the_operators(splitter, size, empty):
    assert splitter.empty_bands(*size) == empty
    low, high = splitter(random_maps(*size))
    for band, is_empty in zip((low, high), empty):
        assert (band.abs().max() < 1e-12) == is_empty


def test_invalid_inputs():
    splitter = FFTRectSplitter()
    with pytest.raises(ValueError, match=r'\(B, C, H, W\).*\(3, 4\)'):
        splitter(torch.zeros(3, 4))
    with pytest.raises(TypeError, match='floating point'):
        splitter(torch.zeros(1, 1, 4, 4, dtype=torch.long))


def numpy_standardize(x):
    centred = x - x.mean(axis=(-2, -1), keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=1, keepdims=True))
    return centred / norm


def test_standardize_features_matches_numpy():
    x = random_maps(5, 7) * 3 + 2
    out = standardize_features(x)
    np.testing.assert_allclose(out.numpy(), numpy_standardize(x.numpy()),
                               atol=1e-12)
    np.testing.assert_allclose(
        out.square().sum(1).numpy(), np.ones((2, 5, 7)), atol=1e-12)


@pytest.mark.parametrize('value', [0.0, 0.1, -2.2, 7.77, 1e4])
def test_standardize_constant_maps_give_zeros(value):
    """Constant channels centre to exact zeros (float32 included), and the
    gradient stays finite."""
    x = torch.full((2, 8, 37, 46), value, requires_grad=True)
    out = standardize_features(x)
    assert torch.equal(out, torch.zeros_like(out))
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_standardize_rejects_bad_shape():
    with pytest.raises(ValueError, match='standardize_features'):
        standardize_features(torch.zeros(2, 3, 4))


def explicit_matrix(splitter, height, width):
    """The (HW, HW) matrix of the low pass, row k = low(e_k)."""
    size = height * width
    basis = torch.eye(size, dtype=torch.float64).reshape(
        size, 1, height, width)
    return splitter.low_pass(basis).reshape(size, size)


EVERY_SPLITTER = [
    FFTRectSplitter(),
    FFTRectSplitter(cutoff=0.3, impl='fft'),
    FFTRadialSplitter(),
    GaussianSplitter(),
    DCTSplitter(),
    HaarDWTSplitter(),
    HaarDWTSplitter(levels=2)
]


@pytest.mark.parametrize(
    'splitter', EVERY_SPLITTER, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize('size', [(5, 6), (7, 9), (8, 4)])
def test_low_pass_adjoint_is_the_transposed_matrix(splitter, size):
    """``low_pass_adjoint`` against the transpose of the explicit matrix;
    the splitters that declare themselves self-adjoint are symmetric."""
    matrix = explicit_matrix(splitter, *size)
    y = random_maps(*size, seed=1)
    expected = (y.reshape(6, -1) @ matrix.T).reshape(y.shape)
    torch.testing.assert_close(splitter.low_pass_adjoint(y), expected)
    if splitter.self_adjoint:
        torch.testing.assert_close(matrix, matrix.T)


@pytest.mark.parametrize(
    'splitter', EVERY_SPLITTER, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_low_pass_writes_into_out(splitter, dtype):
    """``out=`` returns the given buffer, filled with the same band."""
    x = random_maps(7, 9, dtype=dtype)
    for method in (splitter.low_pass, splitter.low_pass_adjoint):
        out = torch.full_like(x, float('nan'))
        result = method(x, out=out)
        assert result.data_ptr() == out.data_ptr()
        torch.testing.assert_close(out, method(x), rtol=0, atol=0)


def test_multi_level_haar_on_odd_sizes_is_not_symmetric():
    """Why Haar keeps the autograd adjoint: from the second level on, a
    replicated edge row weighs twice in a block mean."""
    matrix = explicit_matrix(HaarDWTSplitter(levels=2), 7, 9)
    assert not torch.allclose(matrix, matrix.T)


@pytest.mark.parametrize('length', [1, 2, 5, 6, 37, 46])
@pytest.mark.parametrize('cutoff', [0.2, 0.5, 1.0])
def test_rect_axis_factors_rebuild_the_complex_operator(length, cutoff):
    """``ifft(diag(band) fft(I)) == U (diag(d) + i Y Z^T) U^T`` with
    orthonormal U, gains 1 or 1/2, and an imaginary part of rank <= 2."""
    splitter = FFTRectSplitter(cutoff=cutoff)
    basis, gains, skew_left, skew_right = splitter.axis_factors(length)
    band = np.fft.ifftshift(
        FFTRectSplitter(cutoff=cutoff).shifted_mask(1, length)[0].numpy())
    eye = np.eye(length)
    expected = np.fft.ifft(band[:, None] * np.fft.fft(eye, axis=0), axis=0)
    basis_np = basis.numpy()
    rebuilt = basis_np @ (np.diag(gains.numpy()) + 1j * skew_left.numpy()
                          @ skew_right.numpy().T) @ basis_np.T
    np.testing.assert_allclose(rebuilt, expected, atol=1e-12)
    torch.testing.assert_close(basis.T @ basis,
                               torch.eye(basis.shape[1], dtype=basis.dtype))
    assert set(np.round(gains.numpy(), 9)) <= {0.5, 1.0}
    assert skew_left.shape[1] <= 2


@pytest.mark.parametrize('size, rank_w', [((37, 46), 24), ((7, 9), 5),
                                          ((6, 16), 9), ((9, 30), 16)])
def test_rect_width_rank_is_padded_with_zeros(size, rank_w):
    """k_w = 23 on the ViT-L grid runs as 24 and 15 as 16; padding that
    would add more than an eighth (5 -> 8, 9 -> 16) is skipped. The band is
    unchanged either way (``test_rect_splitter_matches_numpy``)."""
    splitter = FFTRectSplitter()
    (_, reduce_w, _, expand_w), _ = splitter.band_operators(
        *size, torch.device('cpu'), torch.float64)
    kept = splitter.axis_factors(size[1])[0].shape[1]
    assert reduce_w.shape == (size[1], rank_w)
    assert expand_w.shape == (rank_w, size[1])
    assert not reduce_w[:, kept:].any() and not expand_w[kept:].any()
    assert reduce_w[:, :kept].abs().sum(dim=0).min() > 0


def test_a_new_splitter_needs_low_pass_with_out():
    """The extension point: a subclass defining low_pass(x) without out is
    refused when the class is defined; with out (and write_into) it works
    in the fused loss."""
    with pytest.raises(TypeError, match='Halves.low_pass must accept an out'):

        class Halves(BaseBandSplitter):

            def low_pass(self, x):
                return 0.5 * x

    class HalfSplitter(BaseBandSplitter):
        self_adjoint = True

        def low_pass(self, x, out=None):
            return write_into(out, 0.5 * x)

    student = random_maps(5, 6, dtype=torch.float64).requires_grad_()
    teacher = random_maps(5, 6, seed=1)
    fused = FreqDecoupledLoss(splitter=HalfSplitter())
    plain = FreqDecoupledLoss(splitter=HalfSplitter(), fused=False)
    got, expected = fused(student, teacher), plain(student, teacher)
    for key in ('loss_low', 'loss_high'):
        torch.testing.assert_close(got[key], expected[key])
        torch.testing.assert_close(
            torch.autograd.grad(got[key], student, retain_graph=True)[0],
            torch.autograd.grad(expected[key], student, retain_graph=True)[0])
