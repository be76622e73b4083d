"""Reading DINOv2 checkpoints: layouts, unwrapping, fitting, strict loading.

The official and Hugging Face state dicts are built here from ours by
inverse mappings written independently of the module under test; the
Hugging Face layout is also checked against names, shapes and outputs that
transformers itself produced (hf_dinov2_tiny.json, next to this file).
"""
import json
import os.path as osp
import re
import zlib

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
    # without its dot, as mmengine's Pretrained also reads it
    assert unwrap_state_dict(student, prefix='student') == (tensors, [])
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
    with pytest.raises(KeyError, match=r"DINOv2ViT: missing keys: 1 "
                       r"\(blocks\.1\.norm1\.weight\)\. Check arch"):
        model.init_weights()

    unexpected = dict(ours, **{'blocks.0.attn.q_norm.weight': torch.ones(32)})
    with pytest.raises(KeyError, match=r"unexpected keys: 1 \(blocks\.0\.attn"
                       r"\.q_norm\.weight\)"):
        load_converted_state_dict(
            DINOv2ViT(ARCH, img_size=56, num_register_tokens=4), unexpected)
    # a checkpoint with registers into a model without them
    with pytest.raises(KeyError, match=r"unexpected keys: 1 \(reg_token\)"):
        load_converted_state_dict(DINOv2ViT(ARCH, img_size=56), ours)
    wider = DINOv2ViT(dict(ARCH, feedforward_channels=96), img_size=56,
                      num_register_tokens=4)
    with pytest.raises(ValueError, match=r'blocks\.0\.mlp\.fc1\.weight: '
                       r'checkpoint \(64, 32\) vs model \(96, 32\)'):
        load_converted_state_dict(wider, ours)


@pytest.mark.parametrize('stored, model_kwargs, error, message', [
    # registers differ: the key check
    (lambda ours: ours, dict(num_register_tokens=0), KeyError,
     r"checkpoint does not match DINOv2ViT: unexpected keys: 1 "
     r"\(reg_token\)"),
    # another width: fitting the patch embedding
    (lambda ours: ours, dict(num_register_tokens=4, patch_size=7),
     ValueError, 'checkpoint patch size 14 differs'),
    # not a DINOv2 file: layout detection
    (lambda ours: {'student.blocks.0.attn.qkv.lora_A': torch.zeros(4, 32)},
     dict(num_register_tokens=4), KeyError,
     'cannot tell the layout of this checkpoint'),
    # not a state dict: unwrapping
    (lambda ours: {'epoch': 3, 'w': torch.zeros(1)},
     dict(num_register_tokens=4), TypeError, 'checkpoint is not a state dict'),
], ids=['keys', 'fit', 'layout', 'unwrap'])
def test_load_errors_name_the_checkpoint_file(tmp_path, stored, model_kwargs,
                                              error, message):
    path = save(stored(random_model().state_dict()), tmp_path / 'w.pth')
    model = DINOv2ViT(ARCH, img_size=56, init_cfg=pretrained(path),
                      **model_kwargs)
    with pytest.raises(error, match=re.escape(path) + ': ' + message):
        model.init_weights()
    assert not model.is_init


@pytest.mark.parametrize('prefix', [None, 'student.'])
def test_stage1_checkpoint_as_backbone_points_to_the_export(tmp_path,
                                                           prefix):
    """A Stage-1 checkpoint keeps only LoRA adapters: say so, and how to
    get a backbone file, rather than only listing a hundred keys."""
    model = random_model()
    inject_lora(model, rank=2, alpha=2)
    stage1 = {'state_dict': {
        'student.' + k: v for k, v in model.state_dict().items()
        if 'lora_' in k}}
    path = save(stage1, tmp_path / 'epoch_1.pth')
    backbone = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                         init_cfg=pretrained(path, prefix=prefix))
    with pytest.raises(KeyError, match='holds only LoRA adapters.*'
                       'export_student.py'):
        backbone.init_weights()


def test_fully_tuned_stage1_checkpoint_names_the_student_prefix(tmp_path):
    """A full fine-tuning Stage-1 checkpoint holds the whole student under
    ``student.`` next to the connectors: the error names the prefix that
    selects it, and that prefix loads it exactly."""
    reference = random_model()
    stage1 = {'student.' + k: v for k, v in reference.state_dict().items()}
    stage1['connectors.0.weight'] = torch.zeros(4, 4)
    path = save({'state_dict': stage1}, tmp_path / 'epoch_1.pth')
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      init_cfg=pretrained(path))
    with pytest.raises(KeyError, match="under the prefix 'student.': select "
                       "them with prefix='student.' in the Pretrained "
                       "init_cfg.*export_student.py"):
        model.init_weights()
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      init_cfg=pretrained(path, prefix='student.'))
    model.init_weights()
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    # keys under no prefix of a known layout get no such hint
    save({'head.weight': torch.zeros(2)}, tmp_path / 'other.pth')
    with pytest.raises(KeyError) as error:
        DINOv2ViT(ARCH, img_size=56, init_cfg=pretrained(
            tmp_path / 'other.pth')).init_weights()
    assert 'prefix' not in str(error.value)


def test_many_missing_keys_are_counted_not_listed():
    """Blocks 1 and 2 of a 3-block model are missing from a 1-block file:
    the error counts their keys and names the first five."""
    one_block = random_model(arch=dict(ARCH, num_layers=1)).state_dict()
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4)
    absent = [k for k in model.state_dict() if k.startswith(('blocks.1.',
                                                             'blocks.2.'))]
    with pytest.raises(KeyError) as error:
        load_converted_state_dict(model, one_block)
    message = str(error.value)
    assert f'missing keys: {len(absent)} ({", ".join(absent[:5])}, ...)' \
        in message
    assert absent[5] not in message


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


# State-dict names, shapes and outputs of real transformers models (4.57.1:
# the names of the released checkpoints; 5.23.0: its in-memory names), see
# the fixture's _comment for how it was generated.
HF_FIXTURE = osp.join(osp.dirname(__file__), 'hf_dinov2_tiny.json')
with open(HF_FIXTURE) as f:
    HF_REFERENCE = json.load(f)
HF_VARIANTS = sorted(HF_REFERENCE['variants'])


def hf_fill(name, shape):
    """The fixture's fill_rule: a deterministic value pattern per name."""
    index = torch.arange(int(np.prod(shape)), dtype=torch.int64)
    value = (index * 7919 + zlib.crc32(name.encode())) % 97 - 48
    return (value.double() / 128).float().reshape(shape)


def hf_pixels(shape):
    """The fixture's input_rule."""
    index = torch.arange(int(np.prod(shape)), dtype=torch.float64)
    return torch.sin(0.37 * index + 0.1).float().reshape(shape)


def hf_variant(variant):
    """The fixture entry, its filled state dict and a matching DINOv2ViT."""
    reference = HF_REFERENCE['variants'][variant]
    config = reference['config']
    state = {name: hf_fill(name, tuple(shape))
             for name, shape in reference['state_dict'].items()}
    swiglu = config.get('use_swiglu_ffn', False)
    # HF: hidden = dims * mlp_ratio, for SwiGLU (2 / 3 of it + 7) // 8 * 8
    hidden = config['hidden_size'] * config['mlp_ratio']
    arch = dict(embed_dims=config['hidden_size'],
                num_layers=config['num_hidden_layers'],
                num_heads=config['num_attention_heads'],
                feedforward_channels=(int(hidden * 2 / 3) + 7) // 8 * 8
                if swiglu else hidden,
                ffn_type='swiglu' if swiglu else 'mlp')
    model_kwargs = dict(arch=arch, img_size=config['image_size'],
                        patch_size=config['patch_size'],
                        num_register_tokens=config.get('num_register_tokens',
                                                       0))
    return reference, state, model_kwargs


def test_hf_fixture_has_the_expected_variants():
    assert HF_VARIANTS == [
        f'{version}/{name}' for version in ('4.57.1', '5.23.0')
        for name in ('Dinov2Model', 'Dinov2WithRegistersModel',
                     'Dinov2WithRegistersModel_swiglu')
    ]


@pytest.mark.parametrize('variant', HF_VARIANTS)
def test_real_hf_names_map_to_our_parameters(variant, tmp_path):
    """Each Hugging Face tensor, under the name transformers gives it, lands
    in the parameter (and rows) of ours that computes the same thing."""
    reference, hf, model_kwargs = hf_variant(variant)
    model = DINOv2ViT(**model_kwargs)
    report = model.load_pretrained(save(hf, tmp_path / 'hf.pth'))  # strict
    assert report['layout'] == 'hf'
    assert report['dropped_keys'] == ['embeddings.mask_token']
    ours = model.state_dict()
    dims = reference['config']['hidden_size']

    def check(our_name, expected):
        assert torch.equal(ours[our_name], expected), our_name

    pos = hf['embeddings.position_embeddings']
    check('cls_token', hf['embeddings.cls_token'] + pos[:, :1])
    check('pos_embed', pos[:, 1:])
    if 'embeddings.register_tokens' in hf:
        check('reg_token', hf['embeddings.register_tokens'])
    else:
        assert 'reg_token' not in ours
    for kind in ('weight', 'bias'):
        check(f'patch_embed.proj.{kind}',
              hf[f'embeddings.patch_embeddings.projection.{kind}'])
        check(f'norm.{kind}', hf[f'layernorm.{kind}'])
    v5 = variant.startswith('5.')
    for i in range(reference['config']['num_hidden_layers']):
        layer, block = f'encoder.layer.{i}.', f'blocks.{i}.'
        for kind in ('weight', 'bias'):
            qkv = ours[f'{block}attn.qkv.{kind}']
            q, k, v = (('attention.q_proj', 'attention.k_proj',
                        'attention.v_proj') if v5 else
                       ('attention.attention.query', 'attention.attention.key',
                        'attention.attention.value'))
            # timm's fused qkv: rows [0, C) query, [C, 2C) key, [2C, 3C) value
            assert torch.equal(qkv[:dims], hf[f'{layer}{q}.{kind}'])
            assert torch.equal(qkv[dims:2 * dims], hf[f'{layer}{k}.{kind}'])
            assert torch.equal(qkv[2 * dims:], hf[f'{layer}{v}.{kind}'])
            proj = 'attention.o_proj' if v5 else 'attention.output.dense'
            check(f'{block}attn.proj.{kind}', hf[f'{layer}{proj}.{kind}'])
            for norm in ('norm1', 'norm2'):
                check(f'{block}{norm}.{kind}', hf[f'{layer}{norm}.{kind}'])
            if f'{layer}mlp.fc1.{kind}' in hf:
                fc1 = hf[f'{layer}mlp.fc1.{kind}']
                fc2 = hf[f'{layer}mlp.fc2.{kind}']
            elif v5:  # SwiGLU: fc2(silu(gate) * up), ours packs [gate; up]
                fc1 = torch.cat([hf[f'{layer}mlp.gate_proj.{kind}'],
                                 hf[f'{layer}mlp.up_proj.{kind}']])
                fc2 = hf[f'{layer}mlp.down_proj.{kind}']
            else:
                fc1 = hf[f'{layer}mlp.weights_in.{kind}']
                fc2 = hf[f'{layer}mlp.weights_out.{kind}']
            check(f'{block}mlp.fc1.{kind}', fc1)
            check(f'{block}mlp.fc2.{kind}', fc2)
        for scale in ('1', '2'):
            check(f'{block}ls{scale}.gamma',
                  hf[f'{layer}layer_scale{scale}.lambda1'])


@pytest.mark.parametrize('variant', ['4.57.1/Dinov2Model',
                                     '4.57.1/Dinov2WithRegistersModel'])
def test_hf_image_classification_files_load(variant, tmp_path):
    """Dinov2(WithRegisters)ForImageClassification keep the backbone under
    dinov2. / dinov2_with_registers. next to their classifier."""
    _, hf, model_kwargs = hf_variant(variant)
    submodel = 'dinov2_with_registers.' if 'Registers' in variant else \
        'dinov2.'
    wrapped = {submodel + name: value for name, value in hf.items()}
    wrapped['classifier.weight'] = torch.randn(
        5, 2 * model_kwargs['arch']['embed_dims'])
    wrapped['classifier.bias'] = torch.randn(5)
    model = DINOv2ViT(**model_kwargs)
    report = model.load_pretrained(save(wrapped, tmp_path / 'hf.pth'))
    assert report['layout'] == 'hf'
    assert torch.equal(model.patch_embed.proj.weight,
                       hf['embeddings.patch_embeddings.projection.weight'])


@pytest.mark.parametrize('variant', HF_VARIANTS)
def test_real_hf_weights_reproduce_the_transformers_outputs(variant,
                                                             tmp_path):
    """Loaded from a state dict with transformers' names, our model computes
    the block outputs and final-norm tokens transformers computed."""
    reference, hf, model_kwargs = hf_variant(variant)
    path = save(hf, tmp_path / 'hf.pth')
    layers = reference['config']['num_hidden_layers']
    model = DINOv2ViT(**model_kwargs, out_indices=tuple(range(layers)))
    model.load_pretrained(path)
    final = DINOv2ViT(**model_kwargs, final_norm=True)
    final.load_pretrained(path)
    with torch.no_grad():
        x = hf_pixels((1, 3, 42, 42))
        maps = model.eval()(x)
        (final_map, ) = final.eval()(x)

    def to_tokens(feature_map):  # (1, C, h, w) -> (h * w, C), row-major
        return feature_map[0].flatten(1).T

    expected = reference['block_outputs'] + [reference['last_hidden_state']]
    assert len(maps) == len(reference['block_outputs'])
    for got, want in zip(list(maps) + [final_map], expected):
        torch.testing.assert_close(to_tokens(got), torch.tensor(want),
                                   rtol=1e-4, atol=1e-4)


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
