"""FeatureConnector: bilinear resize to the teacher grid, then a 1x1 conv,
checked against a numpy reference and worked examples."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

import mmfreqkd  # noqa: F401
from mmfreqkd.models.connectors.feature_connector import FeatureConnector

pytestmark = pytest.mark.usefixtures('single_thread')


def numpy_bilinear(x, size):
    """Bilinear resize of (B, C, H, W) maps, half-pixel centres (PyTorch's
    ``align_corners=False``, no antialiasing), written out in numpy."""
    out = x
    for axis, new in ((2, size[0]), (3, size[1])):
        old = out.shape[axis]
        # source coordinate of each output centre, clamped at the first pixel
        src = np.maximum((np.arange(new) + 0.5) * old / new - 0.5, 0)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, old - 1)
        frac = src - low
        shape = [1, 1, 1, 1]
        shape[axis] = new
        frac = frac.reshape(shape)
        out = (np.take(out, low, axis=axis) * (1 - frac) +
               np.take(out, high, axis=axis) * frac)
    return out


def numpy_conv1x1(x, weight, bias):
    """1x1 convolution: (B, C_in, H, W), (C_out, C_in, 1, 1), (C_out, )."""
    return np.einsum('oc,bchw->bohw', weight[:, :, 0, 0],
                     x) + bias[None, :, None, None]


def randomised(connector, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in connector.parameters():
            param.copy_(torch.randn(param.shape, generator=gen,
                                    dtype=param.dtype))
    return connector


def test_numpy_bilinear_matches_a_worked_example():
    # 1 x 2 -> 1 x 4: output centres at 1/8, 3/8, 5/8, 7/8 of the row fall
    # on source coordinates -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped)
    x = np.array([0.0, 4.0]).reshape(1, 1, 1, 2)
    np.testing.assert_allclose(
        numpy_bilinear(x, (1, 4)).ravel(), [0, 1, 3, 4])
    # 4 -> 2 averages neighbouring pairs (coordinates 0.5 and 2.5)
    x = np.array([1.0, 3.0, 5.0, 11.0]).reshape(1, 1, 4, 1)
    np.testing.assert_allclose(numpy_bilinear(x, (2, 1)).ravel(), [2, 8])


def test_worked_example():
    connector = FeatureConnector(1, 2)
    with torch.no_grad():
        connector.proj.weight.copy_(torch.tensor([[2.0], [-1.0]]).view(
            2, 1, 1, 1))
        connector.proj.bias.copy_(torch.tensor([1.0, 0.5]))
    x = torch.tensor([[[[0.0, 4.0]]]])
    out = connector(x, (1, 4))
    # resized: [0, 1, 3, 4]; channel 0: 2 * r + 1, channel 1: -r + 0.5
    expected = torch.tensor([[[[1.0, 3.0, 7.0, 9.0]],
                              [[0.5, -0.5, -2.5, -3.5]]]])
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('in_size,out_size', [
    ((12, 10), (7, 9)),  # finer student grid (both sides shrink / mixed)
    ((4, 5), (9, 13)),  # coarser student grid: upsampled
    ((3, 8), (3, 5)),  # one side unchanged
], ids=['down', 'up', 'one_side'])
def test_resizes_bilinearly_then_projects(in_size, out_size):
    connector = randomised(FeatureConnector(5, 7))
    x = torch.randn(2, 5, *in_size, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(1))
    connector = connector.double()
    out = connector(x, out_size)
    assert out.shape == (2, 7, *out_size)
    expected = numpy_conv1x1(
        numpy_bilinear(x.numpy(), out_size),
        connector.proj.weight.detach().numpy(),
        connector.proj.bias.detach().numpy())
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10,
                               atol=1e-12)
    # the same with plain torch ops, and in float32 as built
    connector = connector.float()
    out = connector(x.float(), out_size)
    torch.testing.assert_close(
        out,
        F.conv2d(
            F.interpolate(x.float(), size=out_size, mode='bilinear',
                          align_corners=False), connector.proj.weight,
            connector.proj.bias))


def test_resize_and_projection_commute():
    """The docstring's reason for resizing first: the order does not change
    the result (bilinear weights sum to one, so the bias commutes too)."""
    connector = randomised(FeatureConnector(6, 3)).double()
    x = torch.randn(1, 6, 10, 14, dtype=torch.float64)
    weight, bias = connector.proj.weight, connector.proj.bias
    projected_first = F.interpolate(
        F.conv2d(x, weight, bias), size=(5, 9), mode='bilinear',
        align_corners=False)
    torch.testing.assert_close(connector(x, (5, 9)), projected_first,
                               rtol=1e-12, atol=1e-12)


def test_no_resize_on_the_teacher_grid():
    connector = randomised(FeatureConnector(4, 6))
    x = torch.randn(2, 4, 6, 9)
    out = connector(x, (6, 9))
    expected = numpy_conv1x1(x.numpy(),
                             connector.proj.weight.detach().numpy(),
                             connector.proj.bias.detach().numpy())
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5,
                               atol=1e-6)


def test_equal_channels_skip_the_projection_unless_asked():
    x = torch.randn(1, 4, 6, 8)
    identity = FeatureConnector(4, 4)
    assert list(identity.parameters()) == []
    assert torch.equal(identity(x, (6, 8)), x)
    # only the resize
    np.testing.assert_allclose(
        identity(x, (3, 5)).numpy(), numpy_bilinear(x.numpy(), (3, 5)),
        rtol=1e-5, atol=1e-6)

    projected = randomised(MODELS.build(
        dict(type='FeatureConnector', in_channels=4, out_channels=4,
             always_project=True)))
    assert projected.proj.weight.shape == (4, 4, 1, 1)
    expected = numpy_conv1x1(x.numpy(), projected.proj.weight.detach().numpy(),
                             projected.proj.bias.detach().numpy())
    np.testing.assert_allclose(projected(x, (6, 8)).detach().numpy(),
                               expected, rtol=1e-5, atol=1e-6)


def test_wrong_input_channels_and_sizes_are_rejected():
    with pytest.raises(ValueError, match='expects 5 input channels'):
        FeatureConnector(5, 7)(torch.zeros(1, 4, 3, 3), (3, 3))
    with pytest.raises(ValueError, match='channels must be positive'):
        FeatureConnector(0, 7)
    # a bool is no channel count (True built a 1-channel convolution)
    with pytest.raises(ValueError, match='channels must be positive ints, got '
                       'in_channels=True'):
        FeatureConnector(True, 7)
    with pytest.raises(ValueError, match='out_channels=7.5'):
        FeatureConnector(4, 7.5)
    with pytest.raises(TypeError, match='always_project must be a bool'):
        FeatureConnector(4, 4, always_project='no')
