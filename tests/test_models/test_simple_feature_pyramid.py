"""SimpleFeaturePyramid: level sizes, resampling paths, errors, registry."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import DefaultScope

import mmfreqkd  # noqa: F401
from mmfreqkd.models.necks import SimpleFeaturePyramid


def test_levels_have_the_scaled_sizes_and_out_channels():
    neck = SimpleFeaturePyramid(in_channels=64, out_channels=32)
    x = torch.randn(2, 64, 13, 15)
    outs = neck((torch.randn(2, 8, 1, 1), x))  # the last input is used
    # up: exact multiples; down: max pooling rounds down
    expected = [(52, 60), (26, 30), (13, 15), (6, 7), (3, 3)]
    assert [tuple(o.shape[-2:]) for o in outs] == expected
    assert {o.shape[:2] for o in outs} == {(2, 32)}


def test_resampling_paths_match_independent_computations():
    torch.manual_seed(0)
    neck = SimpleFeaturePyramid(
        in_channels=64, out_channels=32, scale_factors=(4, 1, 0.25))
    x = torch.randn(1, 64, 8, 12)
    up4, same, down4 = neck([x])

    # 1x: only the 1x1 + 3x3 output convolutions
    torch.testing.assert_close(same, neck.output_convs[1](x))
    # 1/4: 4x4 max pooling with stride 4, then the output convolutions
    torch.testing.assert_close(
        down4, neck.output_convs[2](F.max_pool2d(x, 4, 4)))
    # 4x: deconv (C -> C/2), norm, GELU, deconv (C/2 -> C/4)
    first, norm, _, second = neck.resamplers[0]
    assert (first.in_channels, first.out_channels) == (64, 32)
    assert (second.in_channels, second.out_channels) == (32, 16)
    hidden = F.gelu(norm(F.conv_transpose2d(
        x, first.weight, first.bias, stride=2)))
    upsampled = F.conv_transpose2d(hidden, second.weight, second.bias,
                                   stride=2)
    torch.testing.assert_close(up4, neck.output_convs[0](upsampled))
    # each output projection: 1x1 then 3x3 convolution, GroupNorm after both
    one, three = neck.output_convs[0]
    assert one.conv.kernel_size == (1, 1) and three.conv.kernel_size == (3, 3)
    for conv in (one, three):
        assert isinstance(conv.gn, nn.GroupNorm) and not conv.with_activation


def test_every_parameter_gets_a_gradient():
    neck = SimpleFeaturePyramid(in_channels=64, out_channels=32)
    x = torch.randn(2, 64, 8, 8, requires_grad=True)
    sum(o.square().mean() for o in neck([x])).backward()
    assert x.grad is not None
    for name, param in neck.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize('scale', [3, 0, -2, 0.3])
def test_scale_factors_must_be_powers_of_two(scale):
    with pytest.raises(ValueError, match='powers of two'):
        SimpleFeaturePyramid(64, 32, scale_factors=(1, scale))


def test_channel_errors_are_reported():
    with pytest.raises(ValueError, match='divisible by 8'):
        SimpleFeaturePyramid(36, 32, scale_factors=(8, 1))
    neck = SimpleFeaturePyramid(64, 32)
    with pytest.raises(ValueError, match='in_channels=64'):
        neck([torch.randn(1, 48, 8, 8)])


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_builds_from_the_task_registries(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS'])
    with DefaultScope.overwrite_default_scope(scope):
        neck = registry.MODELS.build(
            dict(type='SimpleFeaturePyramid', in_channels=64,
                 out_channels=32, scale_factors=(2, 1)))
    assert isinstance(neck, SimpleFeaturePyramid)
    assert len(neck([torch.randn(1, 64, 4, 4)])) == 2
