"""tools/train.py --amp: AmpOptimWrapper in bfloat16 where supported."""
import pytest
import torch
from mmengine.config import Config

from conftest import load_tool

train_tool = load_tool('tools/train.py')


def config(**optim_wrapper):
    return Config(dict(optim_wrapper=dict(
        optimizer=dict(type='AdamW', lr=2e-4), **optim_wrapper)))


@pytest.mark.parametrize('cuda, bf16, expected', [
    (True, True, 'bfloat16'),
    (True, False, 'float16'),
    (False, False, 'float16'),
    # no GPU: float16 whatever is_bf16_supported would say
    (False, True, 'float16'),
])
def test_amp_picks_bfloat16_when_the_gpu_supports_it(monkeypatch, cuda, bf16,
                                                     expected):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported',
                        lambda *args, **kwargs: bf16)
    cfg = config(type='OptimWrapper', clip_grad=dict(max_norm=1.0))
    train_tool.enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == expected
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0)


def test_amp_keeps_a_dtype_set_in_the_config():
    cfg = config(dtype='float16')
    train_tool.enable_amp(cfg)
    assert cfg.optim_wrapper.dtype == 'float16'


def test_amp_refuses_other_optimizer_wrappers():
    with pytest.raises(ValueError, match='OptimWrapper'):
        train_tool.enable_amp(config(type='MyWrapper'))
