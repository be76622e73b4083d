"""tools/model_converters/dinov2_to_mmfreqkd.py on official and HF files."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmfreqkd.models.backbones import DINOv2ViT

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                'model_converters', 'dinov2_to_mmfreqkd.py')
ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def load_tool():
    spec = importlib.util.spec_from_file_location('dinov2_to_mmfreqkd', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_state_dict():
    torch.manual_seed(0)
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4)
    with torch.no_grad():
        model.cls_token.copy_(torch.randint(-8, 8, (1, 1, 32)) / 4)
    return model.state_dict()


def official_layout(ours):
    """Ours -> the official release layout (class position entry is 0.5)."""
    cls_pos = torch.full((1, 1, 32), 0.5)
    official = {'cls_token': ours['cls_token'] - cls_pos,
                'pos_embed': torch.cat([cls_pos, ours['pos_embed']], 1),
                'register_tokens': ours['reg_token'],
                'mask_token': torch.zeros(1, 32)}
    official.update({k: v for k, v in ours.items()
                     if k not in ('cls_token', 'pos_embed', 'reg_token')})
    return official


def test_converts_an_official_checkpoint(tmp_path, capsys):
    ours = random_state_dict()
    src = tmp_path / 'dinov2_vits14_reg4_pretrain.pth'
    torch.save(official_layout(ours), src)
    dst = tmp_path / 'out' / 'converted.pth'
    load_tool().main([str(src), str(dst)])

    saved = torch.load(dst)
    assert sorted(saved['state_dict']) == sorted(ours)
    for key, value in ours.items():
        assert torch.equal(saved['state_dict'][key], value), key
    meta = saved['meta']
    assert meta['source_layout'] == 'official'
    assert meta['dropped_keys'] == ['mask_token']
    assert meta['arch'] == dict(
        embed_dims=32, num_layers=2, feedforward_channels=64, ffn_type='mlp',
        num_register_tokens=4, patch_size=14, in_channels=3,
        pos_embed_length=16)
    assert meta['arch_name'] is None
    printed = capsys.readouterr().out
    assert 'detected layout: official' in printed
    assert f'{len(ours) + 1} read' in printed  # + mask_token
    assert f'{len(ours)} written' in printed

    # the converted file loads strictly through init_cfg
    model = DINOv2ViT(ARCH, img_size=56, num_register_tokens=4,
                      init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    assert torch.equal(model.cls_token, ours['cls_token'])


def test_converts_a_safetensors_hf_file_with_forced_layout(tmp_path, capsys):
    safetensors = pytest.importorskip('safetensors.torch')
    ours = random_state_dict()
    hf = {'embeddings.cls_token': ours['cls_token'],
          'embeddings.position_embeddings': torch.cat(
              [torch.zeros(1, 1, 32), ours['pos_embed']], 1),
          'embeddings.register_tokens': ours['reg_token'],
          'embeddings.patch_embeddings.projection.weight':
          ours['patch_embed.proj.weight'],
          'embeddings.patch_embeddings.projection.bias':
          ours['patch_embed.proj.bias'],
          'layernorm.weight': ours['norm.weight'],
          'layernorm.bias': ours['norm.bias']}
    for i in range(2):
        for kind in ('weight', 'bias'):
            q, k, v = ours[f'blocks.{i}.attn.qkv.{kind}'].chunk(3)
            for name, part in (('query', q), ('key', k), ('value', v)):
                hf[f'encoder.layer.{i}.attention.attention.{name}.{kind}'] = \
                    part.contiguous()
            hf[f'encoder.layer.{i}.attention.output.dense.{kind}'] = \
                ours[f'blocks.{i}.attn.proj.{kind}']
            for name in ('norm1', 'norm2', 'mlp.fc1', 'mlp.fc2'):
                hf[f'encoder.layer.{i}.{name}.{kind}'] = \
                    ours[f'blocks.{i}.{name}.{kind}']
        for j in (1, 2):
            hf[f'encoder.layer.{i}.layer_scale{j}.lambda1'] = \
                ours[f'blocks.{i}.ls{j}.gamma']
    src = tmp_path / 'model.safetensors'
    safetensors.save_file(hf, str(src))
    dst = tmp_path / 'converted.pth'
    load_tool().main([str(src), str(dst), '--layout', 'hf'])
    saved = torch.load(dst)['state_dict']
    assert sorted(saved) == sorted(ours)
    for key, value in ours.items():
        assert torch.equal(saved[key], value), key
    assert 'detected layout: hf' in capsys.readouterr().out

    with pytest.raises(SystemExit):
        load_tool().main([str(src), str(dst), '--layout', 'jax'])


@pytest.mark.parametrize('edit, error, names', [
    (lambda sd: sd.pop('blocks.1.attn.qkv.weight'), KeyError,
     ['DINOv2ViT: missing keys: 1 (blocks.1.attn.qkv.weight). Check']),
    (lambda sd: sd.update({'some_head.weight': torch.zeros(3)}), KeyError,
     ['DINOv2ViT: unexpected keys: 1 (some_head.weight). Check']),
    (lambda sd: sd.update({'blocks.1.mlp.fc2.bias': torch.zeros(31)}),
     ValueError, ['blocks.1.mlp.fc2.bias: checkpoint (31,) vs model (32,)']),
])
def test_incomplete_or_foreign_checkpoints_are_refused(tmp_path, edit, error,
                                                       names):
    official = official_layout(random_state_dict())
    edit(official)
    src = tmp_path / 'edited.pth'
    torch.save(official, src)
    dst = tmp_path / 'converted.pth'
    with pytest.raises(error) as raised:
        load_tool().main([str(src), str(dst)])
    for name in names:
        assert name in str(raised.value)
    assert str(src) in str(raised.value)
    assert not dst.exists()


@pytest.mark.parametrize('stored, args, error, message', [
    ({'student.blocks.0.attn.qkv.lora_A': torch.zeros(4, 32)}, [], KeyError,
     'cannot tell the layout of this checkpoint'),
    ({'backbone.cls_token': torch.zeros(1, 1, 32)}, ['--prefix', 'student.'],
     KeyError, "no checkpoint key starts with prefix 'student.'"),
    ({'epoch': 3, 'w': torch.zeros(1)}, [], TypeError,
     'checkpoint is not a state dict'),
    ({'cls_token': torch.zeros(1, 1, 32)}, [], KeyError,
     'state dict lacks'),
], ids=['layout', 'prefix', 'unwrap', 'arch'])
def test_unreadable_checkpoints_name_the_file(tmp_path, stored, args, error,
                                              message):
    src = tmp_path / 'unreadable.pth'
    torch.save(stored, src)
    dst = tmp_path / 'converted.pth'
    with pytest.raises(error) as raised:
        load_tool().main([str(src), str(dst)] + args)
    assert raised.value.args[0].startswith(f'{src}: {message}')
    assert not dst.exists()


def test_patch_sizes_other_than_14_convert(tmp_path):
    """The completeness check does not assume the 518-pixel default grid."""
    model = DINOv2ViT(ARCH, img_size=64, patch_size=16)
    src = tmp_path / 'patch16.pth'
    torch.save(model.state_dict(), src)
    saved = load_tool().main([str(src), str(tmp_path / 'out.pth'),
                              '--layout', 'timm'])
    assert saved['meta']['arch']['patch_size'] == 16
    assert sorted(saved['state_dict']) == sorted(model.state_dict())


def test_pos_embed_of_another_width_is_refused(tmp_path):
    """pos_embed may have any number of grid entries, not other channels."""
    ours = random_state_dict()  # this package's layout, with registers
    ours['pos_embed'] = torch.zeros(1, 16, 48)
    src = tmp_path / 'wide_pos_embed.pth'
    torch.save(ours, src)
    with pytest.raises(ValueError,
                       match=r'pos_embed: checkpoint \(1, 16, 48\) vs model '
                       r'\(1, 16, 32\)'):
        load_tool().main([str(src), str(tmp_path / 'out.pth')])
