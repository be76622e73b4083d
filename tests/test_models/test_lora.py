"""LoRA injection, training, merging and adapter checkpoints."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.runner import load_checkpoint

from mmfreqkd.models.backbones import DINOv2ViT
from mmfreqkd.models.lora import (LoRALinear, inject_lora,
                                  load_lora_state_dict, lora_state_dict,
                                  mark_only_lora_trainable, merge_lora)

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
TARGETS = ('attn.qkv', 'mlp.fc1', 'mlp.fc2')


def backbone(seed=0):
    torch.manual_seed(seed)
    return DINOv2ViT(ARCH, img_size=28, num_register_tokens=4,
                     out_indices=(0, 1)).eval()


def randomize_adapters_(model, seed=1):
    """Give every lora_B non-zero values (they start at zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'lora_B' in name:
                param.copy_(torch.randn(param.shape, generator=gen))
    return model


def test_lora_linear_matches_numpy():
    layer = LoRALinear(6, 5, rank=3, alpha=6.0, dropout=0.5).eval()
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(4, 6)
    weight, bias, a, b = (t.detach().numpy().astype(np.float64) for t in (
        layer.weight, layer.bias, layer.lora_A, layer.lora_B))
    expected = x.numpy() @ weight.T + bias + 2.0 * (x.numpy() @ a.T @ b.T)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-5)
    assert layer.lora_A.shape == (3, 6) and layer.lora_B.shape == (5, 3)
    # dropout acts on the adapter input while training only
    layer.train()
    assert not torch.allclose(layer(x), layer(x))


def test_inject_keeps_output_and_base_names():
    model = backbone()
    x = torch.randn(2, 3, 28, 42)
    with torch.no_grad():
        before = model(x)
    base_keys = set(model.state_dict())
    names = inject_lora(model, TARGETS, rank=4, alpha=8, dropout=0.05)
    assert names == [f'blocks.{i}.{t}' for i in range(2) for t in TARGETS]
    assert all(isinstance(model.get_submodule(n), LoRALinear) for n in names)
    assert not isinstance(model.blocks[0].attn.proj, LoRALinear)
    keys = set(model.state_dict())
    assert base_keys <= keys
    assert keys - base_keys == {f'{n}.lora_{m}' for n in names
                                for m in ('A', 'B', 'scaling')}
    with torch.no_grad():
        after = model(x)  # lora_B is zero: unchanged
    for got, want in zip(after, before):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_inject_errors_name_the_problem():
    model = backbone()
    with pytest.raises(ValueError, match=r"target_modules=\['attn\.qkvz'\]"):
        inject_lora(model, 'attn.qkvz')
    with pytest.raises(ValueError, match='patch_embed.proj matches.*Conv2d'):
        inject_lora(model, 'patch_embed.proj')
    inject_lora(model, 'attn.qkv', rank=2)
    with pytest.raises(ValueError, match='blocks.0.attn.qkv already has'):
        inject_lora(model, 'attn.qkv', rank=2)
    with pytest.raises(ValueError, match='no LoRA parameter'):
        mark_only_lora_trainable(backbone())


def test_inject_refuses_a_target_that_matches_nothing():
    """One misspelt (or Hugging Face style) target is an error even when the
    others match: it would leave part of the model without adapters."""
    model = backbone()
    with pytest.raises(ValueError) as exc:
        inject_lora(model, ('attention.qkv', 'mlp.fc1', 'mlp.fc2'))
    message = str(exc.value)
    assert "target_modules ['attention.qkv'] match no module" in message
    assert "'attn.qkv'" in message  # the names that exist are offered
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    with pytest.raises(ValueError, match=r"\['attention\.qkv', 'mlp\.fc3'\] "
                       'match no module'):
        inject_lora(model, ('attention.qkv', 'mlp.fc1', 'mlp.fc3'))
    assert inject_lora(model, TARGETS) == [
        f'blocks.{i}.{t}' for i in range(2) for t in TARGETS]


@pytest.mark.parametrize('key, value', [('rank', 0), ('rank', 2.5),
                                        ('alpha', 0), ('alpha', float('inf')),
                                        ('dropout', 1.0), ('dropout', -0.1)])
def test_impossible_adapter_settings_are_refused(key, value):
    with pytest.raises(ValueError, match=f'LoRA {key} must be'):
        inject_lora(backbone(), 'attn.qkv', **{key: value})


def test_only_adapters_get_gradients():
    model = backbone()
    inject_lora(model, TARGETS, rank=4, alpha=4)
    trainable = mark_only_lora_trainable(model)
    assert trainable and all('lora_' in n for n in trainable)
    randomize_adapters_(model).train()
    maps = model(torch.randn(2, 3, 28, 28))
    (maps[0].square().mean() + maps[1].mean()).backward()
    for name, param in model.named_parameters():
        if 'lora_' in name:
            assert param.grad is not None and param.grad.abs().sum() > 0, name
        else:
            assert param.grad is None, name


@pytest.mark.parametrize('scale', [1.0, 0.5])
def test_merge_matches_adapter_output(scale):
    model = backbone()
    inject_lora(model, TARGETS, rank=4, alpha=8)
    randomize_adapters_(model)
    qkv = model.blocks[1].attn.qkv
    expected_weight = qkv.weight.detach().numpy().astype(np.float64) + \
        scale * 2.0 * (qkv.lora_B.detach().numpy().astype(np.float64)
                       @ qkv.lora_A.detach().numpy().astype(np.float64))
    if scale == 1.0:
        x = torch.randn(2, 3, 28, 28)
        with torch.no_grad():
            unmerged = model(x)
    merged_names = merge_lora(model, scale=scale)
    assert len(merged_names) == 6
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert type(model.blocks[1].attn.qkv) is nn.Linear
    assert not any('lora_' in k for k in model.state_dict())
    np.testing.assert_allclose(model.blocks[1].attn.qkv.weight.detach(),
                               expected_weight, rtol=1e-5, atol=1e-6)
    if scale == 1.0:
        with torch.no_grad():
            for got, want in zip(model(x), unmerged):
                torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_merge_at_scale_zero_restores_the_base():
    model = backbone()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    inject_lora(model, TARGETS, rank=4, alpha=8)
    randomize_adapters_(model)
    merge_lora(model, scale=0.0)
    merged = model.state_dict()
    assert sorted(merged) == sorted(base)
    for key, value in base.items():
        assert torch.equal(merged[key], value), key
    with pytest.raises(ValueError, match='has no LoRALinear'):
        merge_lora(model)


@pytest.mark.parametrize('scale', [float('nan'), float('inf'), -0.5, '0.5',
                                   True])
def test_merge_refuses_a_scale_that_is_not_finite_and_non_negative(scale):
    """NaN or inf wrote NaN / inf weights; a negative scale would reverse
    the learned update."""
    model = backbone()
    inject_lora(model, TARGETS, rank=4, alpha=8)
    with pytest.raises(ValueError, match='merge_lora: scale must be a finite '
                       f'number >= 0, got {scale!r}'):
        merge_lora(model, scale=scale)
    assert merge_lora(model, scale=2)  # extrapolation is allowed


def test_adapter_state_dict_round_trip(tmp_path):
    model = backbone()
    inject_lora(model, TARGETS, rank=4, alpha=8)
    randomize_adapters_(model)
    path = tmp_path / 'adapters.pth'
    torch.save(lora_state_dict(model), path)
    saved = torch.load(path)
    assert sorted(saved) == sorted(k for k in model.state_dict()
                                   if 'lora_' in k)

    restored = backbone()  # same base weights (same seed)
    inject_lora(restored, TARGETS, rank=4, alpha=8)
    load_lora_state_dict(restored, saved)
    x = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        for got, want in zip(restored(x), model(x)):
            torch.testing.assert_close(got, want, rtol=0, atol=0)

    partial = dict(saved)
    del partial['blocks.0.mlp.fc1.lora_A']
    with pytest.raises(KeyError, match=r"missing keys: 1 \(blocks\.0\.mlp\."
                       r"fc1\.lora_A\)"):
        load_lora_state_dict(restored, partial)
    with pytest.raises(KeyError, match=r"unexpected keys: 1 \(extra\.lora_A\)"):
        load_lora_state_dict(restored, dict(saved,
                                            **{'extra.lora_A': torch.ones(1)}))
    other_rank = backbone()
    inject_lora(other_rank, TARGETS, rank=2, alpha=8)
    with pytest.raises(ValueError, match=r'blocks\.0\.attn\.qkv\.lora_A: '
                       r'checkpoint \(4, 32\) vs model \(2, 32\)'):
        load_lora_state_dict(other_rank, saved)


def test_lora_linear_gradients_match_the_formula():
    """The fused forward (one addmm for adapter, scale and sum) has the
    gradients of ``x W^T + b + s (x A^T) B^T`` written with plain ops, for
    any leading shape."""
    torch.manual_seed(0)
    layer = LoRALinear(6, 5, rank=3, alpha=6.0).double()
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(2, 4, 6, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(2, 4, 5, dtype=torch.float64)
    layer(x).backward(grad)
    fused = [t.grad.clone() for t in (x, layer.lora_A, layer.lora_B)]

    x_ref = x.detach().clone().requires_grad_()
    a_ref = layer.lora_A.detach().clone().requires_grad_()
    b_ref = layer.lora_B.detach().clone().requires_grad_()
    out = (x_ref @ layer.weight.detach().T + layer.bias.detach() +
           2.0 * (x_ref @ a_ref.T) @ b_ref.T)
    out.backward(grad)
    for got, want in zip(fused, (x_ref.grad, a_ref.grad, b_ref.grad)):
        torch.testing.assert_close(got, want)


def test_adapter_files_without_saved_scales_are_refused():
    model = backbone()
    inject_lora(model, TARGETS, rank=4, alpha=4)
    without_scales = {k: v for k, v in lora_state_dict(model).items()
                      if not k.endswith('.lora_scaling')}
    other = backbone()
    inject_lora(other, TARGETS, rank=4, alpha=4)
    adapters = sum(isinstance(m, LoRALinear) for m in other.modules())
    with pytest.raises(KeyError, match=rf'missing keys: {adapters} '
                       r'\(blocks\.0\.attn\.qkv\.lora_scaling, '):
        load_lora_state_dict(other, without_scales)


def test_adapters_of_another_alpha_are_refused(tmp_path):
    """The same A and B at another alpha / rank are another model: the
    scale is saved with the adapters and a mismatch is an error naming the
    layer and both scales, through every loader."""
    model = backbone()
    inject_lora(model, TARGETS, rank=4, alpha=4)
    randomize_adapters_(model)
    saved = lora_state_dict(model)
    assert saved['blocks.0.attn.qkv.lora_scaling'].dtype == torch.float32
    torch.testing.assert_close(saved['blocks.1.mlp.fc2.lora_scaling'],
                               torch.tensor(1.0), rtol=0, atol=0)

    other = backbone()
    inject_lora(other, TARGETS, rank=4, alpha=16)
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError) as exc:
        load_lora_state_dict(other, saved)
    message = str(exc.value)
    assert ('blocks.0.attn.qkv.lora_scaling: the checkpoint\'s adapters '
            'were trained at scale alpha / rank = 1, this layer has 4 '
            '(alpha=16, rank=4)') in message
    assert 'blocks.1.mlp.fc2.lora_scaling' in message
    for key, value in other.state_dict().items():  # nothing was loaded
        assert torch.equal(value, before[key]), key

    # a plain load_state_dict, strict or not, and mmengine's non-strict
    # checkpoint loader (load_from, resume) refuse it too
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r'blocks\.0\.attn\.qkv\.'
                           r'lora_scaling: .* scale alpha / rank = 1, this '
                           r'layer has 4 \(alpha=16, rank=4\)'):
            other.load_state_dict(model.state_dict(), strict=strict)
    path = str(tmp_path / 'alpha4.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    with pytest.raises(RuntimeError, match=r'lora_scaling: .*\(alpha=16'):
        load_checkpoint(other, path, map_location='cpu', strict=False,
                        logger='silent')

    # the same alpha loads and computes the same outputs
    same = backbone()
    inject_lora(same, TARGETS, rank=4, alpha=4)
    load_checkpoint(same, path, map_location='cpu', strict=False,
                    logger='silent')
    x = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        for got, want in zip(same(x), model(x)):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_adapter_scale_survives_precision_casts():
    """The saved scale is alpha / rank in float32 whatever casts the layer
    went through, and a scale saved in half precision still matches."""
    layer = LoRALinear(6, 5, rank=3, alpha=1.0)
    exact = torch.tensor(1 / 3, dtype=torch.float32)
    layer.half().float()  # the buffer is now rounded to half precision
    state = layer.state_dict()
    assert torch.equal(state['lora_scaling'], exact)
    assert 'lora_scaling' in dict(layer.named_buffers())

    fresh = LoRALinear(6, 5, rank=3, alpha=1.0)
    fresh.load_state_dict(state)
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        fresh.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    with pytest.raises(RuntimeError, match=r'lora_scaling: .* scale '
                       r'alpha / rank = 0\.333333, this layer has 0\.34'):
        LoRALinear(6, 5, rank=3, alpha=1.02).load_state_dict(state)
