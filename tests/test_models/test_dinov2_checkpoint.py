"""Reading DINOv2 checkpoints: layouts, unwrapping, fitting, strict loading.

The official and Hugging Face state dicts are built here from ours by
inverse mappings written independently of the module under test.
"""
import numpy as np
import pytest
import torch

from mmfreqkd.models.backbones import DINOv2ViT, convert_dinov2_state_dict
from mmfreqkd.models.backbones.dinov2_checkpoint import (
    detect_layout, load_converted_state_dict, unwrap_state_dict)
from mmfreqkd.models.backbones.pos_embed import resample_pos_embed
from mmfreqkd.models.lora import inject_lora

ARCH = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
SWIGLU_ARCH = dict(ARCH, feedforward_channels=48, ffn_type='swiglu')


def dyadic(shape, gen):
    """Random multiples of 1/16: sums and differences are exact in float."""
    return torch.randint(-64, 64, shape, generator=gen).float() / 16


def random_model(registers=4, arch=ARCH, img_size=56, seed=0, **kwargs):
    """A DINOv2ViT whose every parameter is random (not near identity)."""
    model = DINOv2ViT(arch, img_size=img_size, num_register_tokens=registers,
                      **kwargs)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=gen))
        model.cls_token.copy_(dyadic(model.cls_token.shape, gen))
    return model.eval()


def to_official(ours, chunk_size=None, seed=1):
    """Ours -> official DINOv2 release layout."""
    gen = torch.Generator().manual_seed(seed)
    dims = ours['cls_token'].shape[-1]
    cls_pos = dyadic((1, 1, dims), gen)
    official = {
        'cls_token': ours['cls_token'] - cls_pos,
        'pos_embed': torch.cat([cls_pos, ours['pos_embed']], dim=1),
        'mask_token': torch.zeros(1, dims),
    }
    for key, value in ours.items():
        if key in ('cls_token', 'pos_embed'):
            continue
        if key == 'reg_token':
            official['register_tokens'] = value
            continue
        parts = key.split('.')
        if parts[0] == 'blocks':
            swiglu = ours[f'blocks.{parts[1]}.mlp.fc1.weight'].shape[0] == \
                2 * ours[f'blocks.{parts[1]}.mlp.fc2.weight'].shape[1]
            if swiglu and parts[2] == 'mlp':
                parts[3] = {'fc1': 'w12', 'fc2': 'w3'}[parts[3]]
            if chunk_size:
                parts.insert(1, str(int(parts[1]) // chunk_size))
        official['.'.join(parts)] = value
    return official


def to_hf(ours, transformers_version=4, seed=2):
    """Ours -> Hugging Face ``Dinov2ForImageClassification`` layout, with
    the module names of transformers 4 (and the released files) or 5."""
    gen = torch.Generator().manual_seed(seed)
    dims = ours['cls_token'].shape[-1]
    cls_pos = dyadic((1, 1, dims), gen)
    hf = {
        'embeddings.cls_token': ours['cls_token'] - cls_pos,
        'embeddings.mask_token': torch.zeros(1, dims),
        'embeddings.position_embeddings': torch.cat(
            [cls_pos, ours['pos_embed']], dim=1),
        'embeddings.patch_embeddings.projection.weight':
        ours['patch_embed.proj.weight'],
        'embeddings.patch_embeddings.projection.bias':
        ours['patch_embed.proj.bias'],
        'layernorm.weight': ours['norm.weight'],
        'layernorm.bias': ours['norm.bias'],
    }
    if 'reg_token' in ours:
        hf['embeddings.register_tokens'] = ours['reg_token']
    if transformers_version == 4:
        qkv = ('attention.attention.query', 'attention.attention.key',
               'attention.attention.value')
        proj = 'attention.output.dense'
    else:
        qkv = ('attention.q_proj', 'attention.k_proj', 'attention.v_proj')
        proj = 'attention.o_proj'
    blocks = {int(k.split('.')[1]) for k in ours if k.startswith('blocks.')}
    for i in blocks:
        src, dst = f'blocks.{i}.', f'encoder.layer.{i}.'
        swiglu = ours[f'{src}mlp.fc1.weight'].shape[0] == \
            2 * ours[f'{src}mlp.fc2.weight'].shape[1]
        for kind in ('weight', 'bias'):
            for name, part in zip(qkv,
                                  ours[f'{src}attn.qkv.{kind}'].chunk(3)):
                hf[f'{dst}{name}.{kind}'] = part
            hf[f'{dst}{proj}.{kind}'] = ours[f'{src}attn.proj.{kind}']
            for norm in ('norm1', 'norm2'):
                hf[f'{dst}{norm}.{kind}'] = ours[f'{src}{norm}.{kind}']
            fc1 = ours[f'{src}mlp.fc1.{kind}']
            fc2 = ours[f'{src}mlp.fc2.{kind}']
            if not swiglu:
                hf[f'{dst}mlp.fc1.{kind}'] = fc1
                hf[f'{dst}mlp.fc2.{kind}'] = fc2
            elif transformers_version == 4:
                hf[f'{dst}mlp.weights_in.{kind}'] = fc1
                hf[f'{dst}mlp.weights_out.{kind}'] = fc2
            else:
                gate, up = fc1.chunk(2)
                hf[f'{dst}mlp.gate_proj.{kind}'] = gate
                hf[f'{dst}mlp.up_proj.{kind}'] = up
                hf[f'{dst}mlp.down_proj.{kind}'] = fc2
        for scale in ('1', '2'):
            hf[f'{dst}layer_scale{scale}.lambda1'] = \
                ours[f'{src}ls{scale}.gamma']
    wrapped = {'dinov2.' + k: v for k, v in hf.items()}
    wrapped['classifier.weight'] = torch.zeros(10, 2 * dims)
    wrapped['classifier.bias'] = torch.zeros(10)
    return wrapped


def assert_same_tensors(got, expected):
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


@pytest.mark.parametrize('registers,arch,chunk_size', [
    (4, ARCH, None), (0, ARCH, None), (4, SWIGLU_ARCH, None),
    (0, SWIGLU_ARCH, 2)
], ids=['reg4', 'no_registers', 'giant_swiglu', 'giant_chunked'])
def test_official_layout_round_trip(registers, arch, chunk_size):
    ours = random_model(registers, arch).state_dict()
    official = to_official(ours, chunk_size)
    assert detect_layout(official) == 'official'
    converted, report = convert_dinov2_state_dict(official)
    assert report == dict(layout='official', dropped_keys=['mask_token'])
    assert_same_tensors(converted, ours)


@pytest.mark.parametrize('transformers_version', [4, 5])
@pytest.mark.parametrize('registers,arch', [(4, ARCH), (0, ARCH),
                                            (4, SWIGLU_ARCH)],
                         ids=['reg4', 'no_registers', 'giant_swiglu'])
def test_hf_layout_round_trip(registers, arch, transformers_version):
    ours = random_model(registers, arch).state_dict()
    state_dict, outside = unwrap_state_dict(
        {'model': to_hf(ours, transformers_version)})
    assert sorted(outside) == ['classifier.bias', 'classifier.weight']
    assert detect_layout(state_dict) == 'hf'
    converted, report = convert_dinov2_state_dict(state_dict)
    assert report == dict(layout='hf', dropped_keys=['embeddings.mask_token'])
    assert_same_tensors(converted, ours)


def test_hf_layout_with_a_missing_projection_names_it():
    hf = to_hf(random_model().state_dict())
    del hf['dinov2.encoder.layer.1.attention.attention.key.bias']
    state_dict, _ = unwrap_state_dict(hf)
    with pytest.raises(KeyError, match=r"\['encoder\.layer\.1\.attention\."
                       r"attention\.key\.bias'\] missing: cannot build "
                       r"blocks\.1\.attn\.qkv\.bias"):
        convert_dinov2_state_dict(state_dict)


def test_own_layout_converts_to_itself():
    ours = random_model().state_dict()
    assert detect_layout(ours) == 'timm'
    assert_same_tensors(convert_dinov2_state_dict(ours)[0], ours)
    # a non-square grid of this package is recognised with num_patches
    wide = random_model(registers=0, img_size=(28, 42)).state_dict()
    converted, _ = convert_dinov2_state_dict(wide, num_patches=6)
    assert_same_tensors(converted, wide)
    with pytest.raises(KeyError, match='cannot tell the layout'):
        detect_layout({'weight': torch.zeros(1)})


def to_timm_without_registers(ours, seed=3):
    """Ours (no registers) -> timm's layout of a model without registers:
    our names, with the class entry in front of ``pos_embed``."""
    gen = torch.Generator().manual_seed(seed)
    cls_pos = dyadic((1, 1, ours['cls_token'].shape[-1]), gen)
    return dict(ours, cls_token=ours['cls_token'] - cls_pos,
                pos_embed=torch.cat([cls_pos, ours['pos_embed']], dim=1))


def test_timm_class_entry_is_told_by_the_model_grid_or_the_layout(tmp_path):
    ours = random_model(registers=0).state_dict()  # 4x4 grid
    timm_layout = to_timm_without_registers(ours)  # 17 = 1 + 4 * 4 entries
    # one more entry than the model's 16 patches: a class entry
    converted, report = convert_dinov2_state_dict(timm_layout,
                                                  num_patches=16)
    assert report == dict(layout='timm', dropped_keys=[])
    assert_same_tensors(converted, ours)
    # so says a stated layout, without a model
    assert_same_tensors(
        convert_dinov2_state_dict(timm_layout, layout='timm')[0], ours)
    # else 17 entries may as well be a 17-patch grid of this package
    with pytest.raises(ValueError, match=r'pos_embed has 17 entries .*\(a '
                       r'class entry and a 4x4 grid\) or .*\(a grid of 17 '
                       r'patches.* no model grid is given'):
        convert_dinov2_state_dict(timm_layout)

    path = save(timm_layout, tmp_path / 'timm.pth')
    model = DINOv2ViT(ARCH, img_size=(28, 42))  # 2x3 grid
    with pytest.raises(ValueError, match=r'timm\.pth: pos_embed has 17 '
                       r'entries.*the model grid \(6 patches\) fits neither'):
        model.load_pretrained(path)
    report = model.load_pretrained(path, layout='timm')
    assert report['pos_embed_resampled'] == ((4, 4), (2, 3))
    assert torch.equal(model.cls_token, ours['cls_token'])
    torch.testing.assert_close(
        model.pos_embed.detach(),
        resample_pos_embed(ours['pos_embed'], (4, 4), (2, 3)), rtol=0,
        atol=0)


def test_own_non_square_grid_is_not_read_as_a_class_entry(tmp_path):
    """A 5x10 grid of this package has 50 = 1 + 7 * 7 position entries,
    the length of timm's class entry plus a 7x7 grid."""
    own = random_model(registers=0, img_size=(70, 140)).state_dict()
    path = save({'state_dict': own}, tmp_path / 'own_5x10.pth')
    same_grid = DINOv2ViT(ARCH, img_size=(70, 140), init_cfg=pretrained(path))
    same_grid.init_weights()
    assert_same_tensors(same_grid.state_dict(), own)

    other_grid = DINOv2ViT(ARCH, img_size=56, init_cfg=pretrained(path))
    with pytest.raises(ValueError, match=r'own_5x10\.pth: pos_embed has 50 '
                       r'entries .*7x7 grid.*the model grid \(16 patches\) '
                       r'fits neither, so the layout is ambiguous'):
        other_grid.init_weights()
    with pytest.raises(ValueError, match='pos_embed has 50 entries'):
        convert_dinov2_state_dict(own)


def test_unwrap_wrappers_and_prefixes():
    tensors = {'cls_token': torch.zeros(1), 'blocks.0.norm1.weight':
               torch.ones(1)}
    teacher = {'teacher': {**{'backbone.' + k: v for k, v in tensors.items()},
                           'dino_head.mlp.0.weight': torch.ones(2)}}
    assert unwrap_state_dict(teacher) == (tensors, ['dino_head.mlp.0.weight'])
    ddp = {'state_dict': {'module.' + k: v for k, v in tensors.items()},
           'meta': {'epoch': 3}}
    assert unwrap_state_dict(ddp) == (tensors, [])
    student = {'student.' + k: v for k, v in tensors.items()}
    assert unwrap_state_dict(student, prefix='student.') == (tensors, [])
    with pytest.raises(KeyError,
                       match=r"prefix 'backbone\.'.*\['student\.'\]"):
        unwrap_state_dict(student, prefix='backbone.')
    with pytest.raises(TypeError, match=r"\['epoch'\] are not tensors"):
        unwrap_state_dict({'epoch': 3, 'w': torch.zeros(1)})


def save(obj, path):
    torch.save(obj, path)
    return str(path)


def pretrained(path, **kwargs):
    return dict(type='Pretrained', checkpoint=str(path), **kwargs)


@pytest.mark.parametrize('layout', ['official', 'hf', 'ours_in_detector'])
def test_init_cfg_pretrained_loads_each_layout(tmp_path, layout):
    reference = random_model(registers=4, out_indices=(0, 2))
    ours = reference.state_dict()
    prefix = None
    if layout == 'official':
        stored = to_official(ours)
    elif layout == 'hf':
        stored = {'state_dict': to_hf(ours)}
    else:  # e.g. exported from a detector: explicit prefix, other modules
        stored = {'state_dict': {
            **{'backbone.' + k: v for k, v in ours.items()},
            'neck.conv.weight': torch.zeros(1)}}
        prefix = 'backbone.'
    path = save(stored, tmp_path / 'ckpt.pth')
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      out_indices=(0, 2),
                      init_cfg=pretrained(path, prefix=prefix))
    model.init_weights()
    assert model.is_init
    assert_same_tensors(model.state_dict(), ours)
    x = torch.randn(2, 3, 56, 42)
    with torch.no_grad():
        for got, want in zip(model.eval()(x), reference(x)):
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_missing_unexpected_and_mismatched_keys_are_named(tmp_path):
    ours = random_model().state_dict()
    missing = dict(ours)
    del missing['blocks.1.norm1.weight']
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      init_cfg=pretrained(save(missing, tmp_path / 'm.pth')))
    with pytest.raises(KeyError, match=r"missing keys \['blocks\.1\.norm1"
                       r"\.weight'\]; unexpected keys none"):
        model.init_weights()

    unexpected = dict(ours, **{'blocks.0.attn.q_norm.weight': torch.ones(32)})
    with pytest.raises(KeyError, match=r"unexpected keys \['blocks\.0\.attn"
                       r"\.q_norm\.weight'\]"):
        load_converted_state_dict(
            DINOv2ViT(ARCH, img_size=56, num_register_tokens=4), unexpected)
    # a checkpoint with registers into a model without them
    with pytest.raises(KeyError, match=r"unexpected keys \['reg_token'\]"):
        load_converted_state_dict(DINOv2ViT(ARCH, img_size=56), ours)
    wider = DINOv2ViT(dict(ARCH, feedforward_channels=96), img_size=56,
                      num_register_tokens=4)
    with pytest.raises(ValueError, match=r'blocks\.0\.mlp\.fc1\.weight: '
                       r'checkpoint \(64, 32\) vs model \(96, 32\)'):
        load_converted_state_dict(wider, ours)


def test_lora_keys_may_be_missing(tmp_path):
    reference = random_model()
    path = save({'state_dict': reference.state_dict()}, tmp_path / 'c.pth')
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      init_cfg=pretrained(path))
    inject_lora(model, rank=2, alpha=2)
    model.init_weights()
    x = torch.randn(1, 3, 56, 56)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x)[0], reference(x)[0],
                                   rtol=0, atol=0)


def test_pos_embed_resampled_at_load(tmp_path):
    timm_layers = pytest.importorskip('timm.layers')
    reference = random_model(img_size=56)  # 4x4 position grid
    path = save(reference.state_dict(), tmp_path / 'c.pth')
    model = DINOv2ViT(ARCH, img_size=(28, 42), num_register_tokens=4,
                      init_cfg=pretrained(path))
    model.init_weights()
    expected = timm_layers.resample_abs_pos_embed(
        reference.pos_embed.detach(), new_size=(2, 3), old_size=(4, 4),
        num_prefix_tokens=0)
    torch.testing.assert_close(model.pos_embed.detach(), expected, rtol=0,
                               atol=0)
    # At the new grid, the loaded model equals the 4x4 model resampling on
    # the fly.
    x = torch.randn(2, 3, 28, 42)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x)[0], reference(x)[0],
                                   rtol=0, atol=0)


def test_one_channel_model_equals_grey_replicated(tmp_path):
    reference = random_model()
    path = save(reference.state_dict(), tmp_path / 'rgb.pth')
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      in_channels=1, init_cfg=pretrained(path))
    report = model.load_pretrained(path)
    assert report['patch_embed_summed_to_one_channel']
    rgb_kernels = reference.patch_embed.proj.weight.detach().numpy()
    np.testing.assert_allclose(
        model.patch_embed.proj.weight.detach().numpy(),
        rgb_kernels.sum(axis=1, keepdims=True), rtol=1e-6, atol=1e-7)
    grey = torch.rand(2, 1, 56, 70)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(grey)[0],
                                   reference(grey.repeat(1, 3, 1, 1))[0],
                                   rtol=1e-5, atol=1e-5)
    one_channel = save(model.state_dict(), tmp_path / 'grey.pth')
    with pytest.raises(ValueError, match='takes 1 channels'):
        DINOv2ViT(ARCH, img_size=56, num_register_tokens=4).load_pretrained(
            one_channel)


@pytest.mark.parametrize('registers,arch', [(0, ARCH), (4, ARCH),
                                            (0, SWIGLU_ARCH)],
                         ids=['no_registers', 'reg4', 'giant_swiglu'])
def test_matches_transformers(registers, arch):
    transformers = pytest.importorskip('transformers')
    common = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                  mlp_ratio=2, image_size=56, patch_size=14,
                  layerscale_value=0.5,
                  use_swiglu_ffn=arch.get('ffn_type') == 'swiglu')
    if registers:
        config = transformers.Dinov2WithRegistersConfig(
            num_register_tokens=registers, **common)
        reference = transformers.Dinov2WithRegistersModel(config)
    else:
        reference = transformers.Dinov2Model(transformers.Dinov2Config(
            **common))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in reference.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=gen))
    reference.eval()
    converted, report = convert_dinov2_state_dict(reference.state_dict())
    assert report['layout'] == 'hf'
    model = DINOv2ViT(arch, img_size=56, num_register_tokens=registers,
                      out_indices=(0, 1, 2)).eval()
    load_converted_state_dict(model, converted)
    final = DINOv2ViT(arch, img_size=56, num_register_tokens=registers,
                      final_norm=True).eval()
    load_converted_state_dict(final, converted)
    x = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        out = reference(pixel_values=x, output_hidden_states=True)
        maps = model(x)
        (final_map, ) = final(x)

    def to_map(tokens):
        return tokens[:, 1 + registers:].reshape(2, 4, 4, 32).permute(
            0, 3, 1, 2)

    for got, hidden in zip(maps, out.hidden_states[1:]):
        torch.testing.assert_close(got, to_map(hidden), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(final_map, to_map(out.last_hidden_state),
                               rtol=1e-5, atol=1e-5)
