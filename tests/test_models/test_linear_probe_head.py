"""LinearProbeHead: logits against numpy, shapes, loss, gradients, use
inside EncoderDecoder."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmfreqkd.models.heads import LinearProbeHead

from test_feature_connector import numpy_bilinear, numpy_conv1x1


def levels(batch=2, channels=(8, 8, 8, 8, 8), sizes=(8, 8, 4, 4, 2)):
    return [
        torch.randn(batch, c, s, s, requires_grad=True)
        for c, s in zip(channels, sizes)
    ]


def seg_samples(batch, size, num_classes):
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size)))
        sample.set_metainfo(dict(img_shape=(size, size)))
        samples.append(sample)
    return samples


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build in the mmseg scope whatever scope earlier tests left (a Runner
    leaves its own as the current default)."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def test_forward_shape_and_structure():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='LinearProbeHead',
            in_channels=[8, 8, 8, 8, 8],
            num_classes=9,
            proj_channels=16,
            channels=12))
    assert isinstance(head, LinearProbeHead)
    assert [p.in_channels for p in head.projections] == [8] * 5
    assert head.fusion.conv.in_channels == 5 * 16
    assert head.fusion.conv.out_channels == 12
    assert isinstance(head.fusion.bn, torch.nn.BatchNorm2d)
    assert head.conv_seg.in_channels == 12
    out = head(levels())
    assert out.shape == (2, 9, 8, 8)


def test_logits_match_numpy():
    """Selected levels -> 1x1 conv each -> bilinear to the first selected
    level's grid -> concat -> 1x1 conv (no bias) + BN (running statistics) +
    ReLU -> 1x1 classifier, recomputed in numpy from the head's weights."""
    head = LinearProbeHead(
        in_channels=[3, 5, 4], in_index=[2, 0, 3], num_classes=6,
        proj_channels=4, channels=7, dropout_ratio=0.5).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in head.parameters():
            param.copy_(torch.randn(param.shape, generator=gen,
                                    dtype=param.dtype))
        bn = head.fusion.bn
        bn.running_mean.copy_(torch.randn(7, generator=gen,
                                          dtype=torch.float64))
        bn.running_var.copy_(
            torch.rand(7, generator=gen, dtype=torch.float64) + 0.5)
    head.eval()  # BN on running statistics, dropout off
    sizes = {0: (5, 7), 1: (2, 2), 2: (6, 4), 3: (3, 9)}
    channels = {0: 5, 1: 2, 2: 3, 3: 4}
    inputs = [
        torch.randn(2, channels[i], *sizes[i], generator=gen,
                    dtype=torch.float64) for i in range(4)
    ]
    with torch.no_grad():
        logits = head(inputs).numpy()

    def w(module):
        return module.weight.detach().numpy()

    projected = []
    for projection, index in zip(head.projections, (2, 0, 3)):
        level = numpy_conv1x1(inputs[index].numpy(), w(projection),
                              projection.bias.detach().numpy())
        projected.append(numpy_bilinear(level, sizes[2]))
    assert head.fusion.conv.bias is None  # the BN's shift replaces it
    fused = numpy_conv1x1(np.concatenate(projected, axis=1),
                          w(head.fusion.conv), np.zeros(7))
    scale = w(bn) / np.sqrt(bn.running_var.numpy() + bn.eps)
    fused = (fused - bn.running_mean.numpy()[None, :, None, None]) * \
        scale[None, :, None, None] + bn.bias.detach().numpy()[None, :, None,
                                                              None]
    fused = np.maximum(fused, 0)
    expected = numpy_conv1x1(fused, w(head.conv_seg),
                             head.conv_seg.bias.detach().numpy())
    assert logits.shape == (2, 6, 6, 4)
    np.testing.assert_allclose(logits, expected, rtol=1e-10, atol=1e-10)


def test_selects_levels_by_in_index():
    head = LinearProbeHead(
        in_channels=[4, 6], in_index=[3, 1], num_classes=3, channels=8)
    inputs = levels(channels=(2, 6, 2, 4), sizes=(16, 5, 3, 7))
    # first selected level is index 3 (7 x 7)
    assert head(inputs).shape == (2, 3, 7, 7)


def test_loss_and_gradients_flow_to_every_level():
    torch.manual_seed(0)
    head = LinearProbeHead(
        in_channels=[8, 8, 8, 8, 8], num_classes=9, dropout_ratio=0.0)
    inputs = levels()
    losses = head.loss(inputs, seg_samples(2, 32, 9), train_cfg=dict())
    assert losses['loss_ce'].ndim == 0
    assert torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    for x in inputs:
        assert x.grad is not None and x.grad.abs().sum() > 0
    for p in head.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_inside_encoder_decoder():
    torch.manual_seed(0)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[0.0, 0.0, 0.0],
            std=[255.0, 255.0, 255.0],
            size=(32, 32)),
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=8,
            stem_channels=8,
            out_indices=(0, 1, 2, 3),
            strides=(1, 2, 2, 2),
            dilations=(1, 1, 1, 1)),
        decode_head=dict(
            type='LinearProbeHead',
            in_channels=[8, 16, 32, 64],
            in_index=[0, 1, 2, 3],
            num_classes=9,
            proj_channels=16,
            channels=16),
        train_cfg=dict(),
        test_cfg=ConfigDict(mode='whole'))
    # the segmentor builds its data preprocessor through the default scope
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg)
    inputs = torch.rand(2, 3, 32, 32) * 255
    samples = seg_samples(2, 32, 9)
    for s in samples:
        s.set_metainfo(dict(ori_shape=(32, 32), pad_shape=(32, 32)))
    losses = model.loss(inputs, samples)
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    model.eval()
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert results[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert results[0].seg_logits.data.shape == (9, 32, 32)


def test_mismatched_levels_are_rejected():
    with pytest.raises(ValueError, match='equal length'):
        LinearProbeHead(in_channels=[8, 8], in_index=[0], num_classes=9)
