"""DINOv2ViT against timm's DINOv2 models; inputs, freezing, with_cp."""
import functools

import pytest
import timm
import torch
import torch.nn as nn
from mmengine.registry import MODELS

from mmfreqkd.models.backbones import DINOv2ViT, convert_dinov2_state_dict

TINY = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)


def perturb_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Add N(0, 0.1) noise to every parameter, so that layer scales, norms
    and biases all matter (timm initialises layer scales at 1e-5)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=gen))
    return model


def to_map(tokens: torch.Tensor, grid) -> torch.Tensor:
    """(B, h * w, C) -> (B, C, h, w)."""
    return tokens.reshape(tokens.shape[0], *grid, -1).permute(0, 3, 1, 2)


@functools.lru_cache(maxsize=None)
def timm_and_ours(name: str, depth: int):
    """A random timm DINOv2 ViT-S with ``depth`` blocks and ours with the
    converted weights (without and with the final norm)."""
    reference = timm.create_model(
        name, pretrained=False, num_classes=0, dynamic_img_size=True,
        depth=depth)
    perturb_(reference).eval()
    assert reference.patch_embed.img_size == (518, 518)
    # Stated: without a model grid, the pos_embed of a timm model without
    # registers (1 + 37 * 37 entries) could be a grid of this package.
    state_dict, report = convert_dinov2_state_dict(reference.state_dict(),
                                                   layout='timm')
    assert report == dict(layout='timm', dropped_keys=[])
    arch = dict(embed_dims=384, num_layers=depth, num_heads=6,
                feedforward_channels=1536)
    registers = reference.num_reg_tokens
    with torch.device('meta'):  # skip the random init, weights are loaded
        ours = DINOv2ViT(arch, num_register_tokens=registers,
                         out_indices=(0, depth // 2, -1))
        ours_norm = DINOv2ViT(arch, num_register_tokens=registers,
                              final_norm=True)
    ours.load_state_dict(state_dict, strict=True, assign=True)
    ours_norm.load_state_dict(state_dict, strict=True, assign=True)
    return reference, ours.eval(), ours_norm.eval()


# The 12 blocks of ViT-S once; 4 blocks suffice to check the position
# embedding at the native 518x518 grid and its resampling elsewhere.
@pytest.mark.parametrize('name,height,width,depth', [
    ('vit_small_patch14_reg4_dinov2', 224, 224, 12),
    ('vit_small_patch14_reg4_dinov2', 518, 518, 4),
    ('vit_small_patch14_reg4_dinov2', 364, 448, 4),
    ('vit_small_patch14_dinov2', 224, 224, 4),
    ('vit_small_patch14_dinov2', 518, 518, 4),
    ('vit_small_patch14_dinov2', 364, 448, 4),
])
def test_matches_timm(name, height, width, depth):
    reference, ours, ours_norm = timm_and_ours(name, depth)
    x = torch.randn(1, 3, height, width,
                    generator=torch.Generator().manual_seed(1))
    grid = (height // 14, width // 14)
    with torch.no_grad():
        final, intermediates = reference.forward_intermediates(
            x, indices=[0, depth // 2, depth - 1])
        maps = ours(x)
        (final_ours, ) = ours_norm(x)
    assert len(maps) == 3
    for got, expected in zip(maps, intermediates):
        assert got.shape == (1, 384, *grid)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    expected_final = to_map(final[:, reference.num_prefix_tokens:], grid)
    torch.testing.assert_close(final_ours, expected_final, rtol=1e-5,
                               atol=1e-5)


def test_swiglu_matches_timm():
    """The giant model's SwiGLU block, on a narrow 2-block stand-in."""
    reference = timm.models.VisionTransformer(
        img_size=98, patch_size=14, embed_dim=32, depth=2, num_heads=2,
        mlp_ratio=3.0, mlp_layer=timm.layers.SwiGLUPacked, act_layer=nn.SiLU,
        init_values=1e-5, reg_tokens=4, no_embed_class=True, num_classes=0,
        dynamic_img_size=True)
    perturb_(reference).eval()
    ours = DINOv2ViT(
        dict(embed_dims=32, num_layers=2, num_heads=2,
             feedforward_channels=48, ffn_type='swiglu'),
        img_size=98, num_register_tokens=4, out_indices=(0, 1)).eval()
    ours.load_state_dict(convert_dinov2_state_dict(
        reference.state_dict())[0], strict=True)
    x = torch.randn(2, 3, 84, 126)
    with torch.no_grad():
        _, expected = reference.forward_intermediates(x, indices=[0, 1])
        maps = ours(x)
    for got, want in zip(maps, expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_pad_policy_matches_timm_dynamic_pad():
    """640x512 is not a multiple of 14: padded right/bottom to 644x518."""
    reference = timm.models.VisionTransformer(
        img_size=518, patch_size=14, embed_dim=32, depth=3, num_heads=2,
        mlp_ratio=2.0, init_values=1e-5, reg_tokens=4, no_embed_class=True,
        num_classes=0, dynamic_img_size=True, dynamic_img_pad=True)
    perturb_(reference).eval()
    ours = DINOv2ViT(TINY, num_register_tokens=4).eval()
    ours.load_state_dict(convert_dinov2_state_dict(
        reference.state_dict())[0], strict=True)
    x = torch.randn(1, 3, 512, 640)
    with torch.no_grad():
        (got, ) = ours(x)
        (want, ) = reference.forward_intermediates(
            x, indices=[2], intermediates_only=True)
        # padding by hand then running the unpadded path gives the same
        (padded, ) = ours(nn.functional.pad(x, (0, 4, 0, 6)))
    assert got.shape == (1, 32, 37, 46)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got, padded, rtol=0, atol=0)

    strict = DINOv2ViT(TINY, pad_to_patch=False)
    with pytest.raises(ValueError, match='512x640 is not divisible'):
        strict(x)


def test_out_indices_order_and_errors():
    model = DINOv2ViT(TINY, img_size=56, out_indices=(-1, 0)).eval()
    assert model.out_indices == (2, 0)
    all_blocks = DINOv2ViT(TINY, img_size=56, out_indices=(0, 1, 2)).eval()
    all_blocks.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 56, 42)
    with torch.no_grad():
        last, first = model(x)
        maps = all_blocks(x)
    torch.testing.assert_close(last, maps[2], rtol=0, atol=0)
    torch.testing.assert_close(first, maps[0], rtol=0, atol=0)
    assert not torch.allclose(maps[0], maps[2])
    with pytest.raises(IndexError, match='out_indices entry 3'):
        DINOv2ViT(TINY, out_indices=(3, ))
    # block 2 of 3 twice: a second pair would silently get the same map
    with pytest.raises(ValueError, match=r'out_indices \(2, -1\) name a '
                       'block more than once'):
        DINOv2ViT(TINY, out_indices=(2, -1))
    with pytest.raises(ValueError, match='unknown DINOv2ViT arch'):
        DINOv2ViT('huge')
    with pytest.raises(KeyError, match=r"missing keys \['num_heads'\]"):
        DINOv2ViT(dict(embed_dims=32, num_layers=1, feedforward_channels=8))


@pytest.mark.parametrize('kwargs, error, message', [
    # drop_path_rate=1 keeps no sample in the last block: 0/0 = NaN
    (dict(drop_path_rate=1.0), ValueError, r'drop_path_rate must be a number '
     r'in \[0, 1\), got 1\.0'),
    (dict(drop_path_rate=-0.5), ValueError, 'drop_path_rate .* got -0.5'),
    (dict(drop_path_rate=float('nan')), ValueError, 'drop_path_rate'),
    (dict(out_indices=(1.5, )), TypeError,
     r'out_indices entries must be ints, got 1\.5'),
    (dict(out_indices=(True, )), TypeError,
     'out_indices entries must be ints, got True'),
    (dict(out_indices=1.0), TypeError, 'out_indices must be an int or a '
     'sequence of ints'),
    (dict(patch_size=0), ValueError, 'patch_size must be an int >= 1, got 0'),
    (dict(patch_size=14.0), ValueError, 'patch_size must be an int'),
    (dict(img_size=0), ValueError, 'img_size must be an int >= 1, got 0'),
    (dict(img_size=(28, -28)), ValueError, 'img_size must be an int >= 1'),
    (dict(img_size=(28, 28, 28)), ValueError, r'img_size must be an int or an '
     r'\(H, W\) pair'),
    (dict(arch=dict(TINY, num_heads=0)), ValueError,
     r"arch\['num_heads'\] must be an int >= 1, got 0"),
    (dict(arch=dict(TINY, num_heads=3)), ValueError,
     r"arch\['embed_dims'\]=32 is not divisible by arch\['num_heads'\]=3"),
    (dict(arch=dict(TINY, embed_dims=32.0)), ValueError,
     r"arch\['embed_dims'\] must be an int"),
    (dict(arch=dict(TINY, num_layers=True)), ValueError,
     r"arch\['num_layers'\] must be an int"),
    (dict(arch=dict(TINY, feedforward_channels=-1)), ValueError,
     r"arch\['feedforward_channels'\] must be an int >= 1"),
    (dict(num_register_tokens=2.5), ValueError,
     'num_register_tokens must be an int >= 0, got 2.5'),
    (dict(num_register_tokens=-1), ValueError,
     'num_register_tokens must be an int >= 0, got -1'),
    (dict(layer_scale_init_value=float('nan')), ValueError,
     'layer_scale_init_value must be a finite number'),
])
def test_impossible_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match='DINOv2ViT: ' + message):
        DINOv2ViT(**dict(dict(arch=TINY, img_size=28, out_indices=(0, )),
                         **kwargs))


def test_standard_archs_have_the_released_shapes():
    """Parameter counts equal timm's models (built on the meta device)."""
    for arch, name, registers in [('small', 'vit_small_patch14_dinov2', 0),
                                  ('large', 'vit_large_patch14_reg4_dinov2',
                                   4),
                                  ('giant', 'vit_giant_patch14_dinov2', 0)]:
        with torch.device('meta'):
            ours = DINOv2ViT(arch, num_register_tokens=registers)
            reference = timm.create_model(name, pretrained=False,
                                          num_classes=0)
        # detected layout: the model grid (37 x 37) tells whether pos_embed
        # has a class entry
        reference_shapes = {
            k: tuple(v.shape)
            for k, v in convert_dinov2_state_dict(
                reference.state_dict(),
                num_patches=ours.pos_embed.shape[1])[0].items()
        }
        assert {k: tuple(v.shape)
                for k, v in ours.state_dict().items()} == reference_shapes


def test_one_channel_input_is_replicated():
    model = DINOv2ViT(TINY, img_size=56).eval()
    grey = torch.randn(2, 1, 56, 56)
    with torch.no_grad():
        (from_grey, ) = model(grey)
        (from_rgb, ) = model(grey.repeat(1, 3, 1, 1))
    torch.testing.assert_close(from_grey, from_rgb, rtol=0, atol=0)
    with pytest.raises(ValueError, match='2-channel input'):
        model(torch.randn(1, 2, 56, 56))


def test_frozen_stays_in_eval_without_trainable_parameters():
    model = DINOv2ViT(TINY, img_size=56, drop_path_rate=0.5, frozen=True)
    model.train()
    assert not model.training
    assert not any(m.training for m in model.modules())
    assert not any(p.requires_grad for p in model.parameters())
    x = torch.randn(2, 3, 56, 56)
    (first, ), (second, ) = model(x), model(x)  # no stochastic depth
    torch.testing.assert_close(first, second, rtol=0, atol=0)

    trainable = DINOv2ViT(TINY, img_size=56, drop_path_rate=0.5)
    trainable.train()
    assert trainable.training
    assert all(p.requires_grad for p in trainable.parameters())


def test_with_cp_same_output_and_gradients():
    plain = perturb_(DINOv2ViT(TINY, img_size=56, out_indices=(1, 2)))
    checkpointed = DINOv2ViT(TINY, img_size=56, out_indices=(1, 2),
                             with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 56, 70)
    outputs, grads = [], []
    for model in (plain, checkpointed):
        model.train()
        maps = model(x)
        (maps[0].square().mean() + maps[1].sin().mean()).backward()
        outputs.append(maps)
        grads.append({k: p.grad for k, p in model.named_parameters()})
    for got, want in zip(outputs[1], outputs[0]):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    # norm is unused without final_norm; every other parameter has a grad
    assert {k for k, g in grads[0].items() if g is None} == {
        'norm.weight', 'norm.bias'}
    for key, grad in grads[0].items():
        if grad is not None:
            torch.testing.assert_close(grads[1][key], grad, rtol=1e-6,
                                       atol=1e-7)


def test_registered_in_mmengine_models():
    model = MODELS.build(dict(type='DINOv2ViT', arch=TINY, img_size=28,
                              num_register_tokens=4))
    assert isinstance(model, DINOv2ViT)
    assert model.reg_token.shape == (1, 4, 32)
    assert model.pos_embed.shape == (1, 4, 32)
