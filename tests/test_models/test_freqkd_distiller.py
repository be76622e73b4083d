"""FreqKDDistiller: what trains, what is saved, what is exported."""
import copy
import re

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint, load_state_dict

import mmfreqkd  # noqa: F401
from mmfreqkd.models.lora import LoRALinear
from tiny_distiller import TINY_ARCH, tiny_vit


def build_distiller(student=None, lora=dict(rank=4, alpha=8, dropout=0.0),
                    pairs=None, loss=None, **kwargs):
    cfg = dict(
        type='FreqKDDistiller',
        data_preprocessor=dict(
            type='PairedDataPreprocessor', rgb_mean=[0., 0., 0.],
            rgb_std=[1., 1., 1.], ir_mean=[0., 0., 0.], ir_std=[1., 1., 1.],
            bgr_to_rgb=False, pad_size_divisor=14),
        teacher=tiny_vit(frozen=True),
        student=student or tiny_vit(),
        student_lora=lora,
        distill_pairs=pairs or [
            dict(name='block1', teacher_index=0, student_index=0),
            dict(name='block3', teacher_index=1, student_index=1, weight=0.5),
        ],
        loss=loss or dict(type='FreqDecoupledLoss'))
    cfg.setdefault('allow_random_teacher', True)
    cfg.setdefault('allow_random_student', True)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)


def paired_batch(batch_size=2, size=(42, 56), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        rgb=torch.randn(batch_size, 3, *size, generator=gen),
        ir=torch.randn(batch_size, 3, *size, generator=gen))


def train_one_step(model, inputs, lr=0.05):
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=lr))
    model.train()
    losses = model(inputs, mode='loss')
    optim.update_params(sum(losses.values()))
    return losses


def test_loss_names_and_pair_weights():
    model = build_distiller()
    inputs = paired_batch()
    losses = model(inputs, mode='loss')
    assert set(losses) == {'loss_block1_low', 'loss_block1_high',
                           'loss_block3_low', 'loss_block3_high'}
    # the pair weight scales the loss of the library exactly
    t_feats = model.teacher(inputs['rgb'])
    s_feats = model.student(inputs['ir'])
    direct = model.feature_loss(s_feats[1], t_feats[1])
    torch.testing.assert_close(losses['loss_block3_low'],
                               0.5 * direct['loss_low'])
    torch.testing.assert_close(losses['loss_block3_high'],
                               0.5 * direct['loss_high'])


def test_one_iteration_trains_only_adapters_and_keeps_teacher():
    model = build_distiller()
    before = copy.deepcopy(model.state_dict(keep_vars=False))
    full_before = {k: v.clone() for k, v in
                   torch.nn.Module.state_dict(model).items()}
    train_one_step(model, paired_batch())
    after = torch.nn.Module.state_dict(model)
    changed = {k for k in after if not torch.equal(after[k], full_before[k])}
    assert changed, 'nothing trained'
    # only LoRA B matrices move in the first step (A gets no gradient while
    # B is zero), never the teacher nor the student's base weights
    assert all('.lora_' in k and k.startswith('student.') for k in changed)
    assert all(not k.startswith('teacher.') for k in changed)
    assert model.teacher.training is False
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert set(before) == {k for k in after if '.lora_' in k}


def test_teacher_runs_without_gradients_and_stays_in_eval():
    model = build_distiller()
    model.train()
    assert model.training and model.student.training
    assert not model.teacher.training
    feats = model.extract_teacher_feats(paired_batch()['rgb'])
    assert all(not f.requires_grad for f in feats)


def test_checkpoint_holds_no_teacher_and_loads_back():
    model = build_distiller()
    train_one_step(model, paired_batch())
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    assert all('.lora_' in k for k in state)
    # a fresh distiller (new random adapters) loads the checkpoint exactly
    other = build_distiller()
    other.init_weights()  # else loading initialises it, over the copies
    other.student.load_state_dict(
        {k: v for k, v in torch.nn.Module.state_dict(model.student).items()
         if '.lora_' not in k}, strict=False)
    other.teacher.load_state_dict(model.teacher.state_dict())
    load_state_dict(other, state, strict=True)
    inputs = paired_batch(seed=1)
    model.eval()
    other.eval()
    for a, b in zip(model(inputs), other(inputs)):
        torch.testing.assert_close(a, b)


def test_checkpoint_loaded_before_init_weights_initialises_first(tmp_path):
    """Runner.test (any OpenMMLab tools/test.py) loads without
    init_weights: the untrained weights must still come from init_cfg."""
    path = tmp_path / 'base.pth'
    torch.save(MODELS.build(tiny_vit()).state_dict(), path)
    pretrained = dict(type='Pretrained', checkpoint=str(path))

    def build():
        return build_distiller(
            teacher=tiny_vit(frozen=True, init_cfg=pretrained),
            student=tiny_vit(init_cfg=pretrained))

    model = build()
    model.init_weights()
    train_one_step(model, paired_batch())
    other = build()
    assert not other.is_init
    load_state_dict(other, model.state_dict(), strict=True)
    assert other.is_init
    inputs = paired_batch(seed=1)
    model.eval()
    other.eval()
    for a, b in zip(model(inputs), other(inputs)):
        torch.testing.assert_close(a, b)


def test_loading_a_mismatched_checkpoint_names_the_keys():
    model = build_distiller()
    state = model.state_dict()
    missing_key = sorted(state)[0]
    del state[missing_key]
    state['student.blocks.0.attn.qkv.lora_C'] = torch.zeros(1)
    with pytest.raises(RuntimeError) as exc:
        load_state_dict(build_distiller(), state)
    assert missing_key in str(exc.value)
    assert 'lora_C' in str(exc.value)


def test_runner_loader_rejects_a_checkpoint_of_another_lora_rank(tmp_path):
    """The Runner loads ``load_from`` / ``resume`` / tools/test.py
    checkpoints with mmengine's non-strict loader, which only warns about
    shape mismatches: the distiller raises, naming both shapes."""
    rank4 = build_distiller()
    train_one_step(rank4, paired_batch(), lr=0.5)
    path = str(tmp_path / 'rank4.pth')
    torch.save(dict(state_dict=rank4.state_dict(), meta=dict()), path)

    rank8 = build_distiller(lora=dict(rank=8, alpha=8, dropout=0.0))
    with pytest.raises(RuntimeError) as exc:
        load_checkpoint(rank8, path, map_location='cpu', strict=False,
                        logger='silent')
    assert ('student.blocks.0.attn.qkv.lora_A: checkpoint (4, 32) vs model '
            '(8, 32)') in str(exc.value)
    assert 'student.blocks.3.mlp.fc2.lora_B: checkpoint (32, 4) vs model ' \
        '(32, 8)' in str(exc.value)

    # the same loader takes a checkpoint of the same config, exactly
    same = build_distiller()
    load_checkpoint(same, path, map_location='cpu', strict=False,
                    logger='silent')
    for key, value in rank4.state_dict().items():
        assert torch.equal(same.state_dict()[key], value), key


def test_checkpoint_of_another_lora_alpha_is_refused(tmp_path):
    """Adapters trained at alpha=4 compute another update at alpha=16 (same
    rank, same shapes): the checkpoint keeps each layer's scale and every
    loader refuses the mismatch, naming the layer and both scales."""
    alpha4 = build_distiller(lora=dict(rank=4, alpha=4, dropout=0.0))
    for _ in range(2):  # both LoRA factors become non-zero
        train_one_step(alpha4, paired_batch(), lr=0.5)
    state = alpha4.state_dict()
    assert torch.equal(state['student.blocks.0.attn.qkv.lora_scaling'],
                       torch.tensor(1.0))
    path = str(tmp_path / 'alpha4.pth')
    torch.save(dict(state_dict=state, meta=dict()), path)

    alpha16 = build_distiller(lora=dict(rank=4, alpha=16, dropout=0.0))
    expected = (r"student\.blocks\.0\.attn\.qkv\.lora_scaling: the "
                r"checkpoint's adapters were trained at scale alpha / rank = "
                r'1, this layer has 4 \(alpha=16, rank=4\)')
    with pytest.raises(RuntimeError, match=expected):
        alpha16.load_state_dict(state, strict=False)
    with pytest.raises(RuntimeError, match=expected):
        load_checkpoint(alpha16, path, map_location='cpu', strict=False,
                        logger='silent')

    # the same alpha loads and reproduces the outputs
    same = build_distiller(lora=dict(rank=4, alpha=4, dropout=0.0))
    same.student.load_state_dict(
        {k: v for k, v in torch.nn.Module.state_dict(alpha4.student).items()
         if '.lora_' not in k}, strict=False)
    same.teacher.load_state_dict(alpha4.teacher.state_dict())
    load_checkpoint(same, path, map_location='cpu', strict=False,
                    logger='silent')
    inputs = paired_batch(seed=1)
    alpha4.eval()
    same.eval()
    with torch.no_grad():
        for a, b in zip(alpha4(inputs), same(inputs)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_checkpoint_without_saved_lora_scales_is_refused():
    """Without ``lora_scaling`` the adapters' scale cannot be checked: the
    keys are missing trained keys like any other adapter tensor."""
    trained = build_distiller(lora=dict(rank=4, alpha=4, dropout=0.0))
    without_scales = {k: v for k, v in trained.state_dict().items()
                      if not k.endswith('.lora_scaling')}
    fresh = build_distiller(lora=dict(rank=4, alpha=4, dropout=0.0))
    adapters = sum(isinstance(m, LoRALinear) for m in fresh.modules())
    with pytest.raises(RuntimeError, match=rf'Missing trained keys: '
                       rf'{adapters} \(student\.blocks\.0\.attn\.qkv\.'
                       'lora_scaling'):
        fresh.load_state_dict(without_scales, strict=False)


@pytest.mark.parametrize('change, error, match', [
    (dict(weight=float('inf')), ValueError,
     'weight must be a finite number >= 0, got inf'),
    (dict(weight=float('nan')), ValueError,
     'weight must be a finite number >= 0, got nan'),
    (dict(teacher_index=1.9), TypeError,
     'teacher_index must be an int, got 1.9'),
    (dict(student_index='1'), TypeError,
     "student_index must be an int, got '1'"),
    (dict(student_index=True), TypeError,
     'student_index must be an int, got True'),
])
def test_impossible_pair_values_are_rejected(change, error, match):
    pairs = [dict(name='block1', teacher_index=0, student_index=0),
             dict(dict(name='block3', teacher_index=1, student_index=1),
                  **change)]
    with pytest.raises(error, match=r'model\.distill_pairs\[1\]: ' + match):
        build_distiller(pairs=pairs)


def test_pairs_that_all_weigh_zero_are_rejected():
    pairs = [dict(name='block1', teacher_index=0, student_index=0, weight=0),
             dict(name='block3', teacher_index=1, student_index=1, weight=0)]
    with pytest.raises(ValueError, match=r'model\.distill_pairs: every pair '
                       'has weight 0, so there is nothing to distil'):
        build_distiller(pairs=pairs)
    pairs[1]['weight'] = 0.5  # one weighted pair is enough
    assert set(build_distiller(pairs=pairs)(paired_batch(), mode='loss')) \
        == {'loss_block1_low', 'loss_block1_high', 'loss_block3_low',
            'loss_block3_high'}


def test_a_reduction_in_the_loss_config_is_refused():
    with pytest.raises(ValueError,
                       match=r"model\.loss\.reduction='sum': FreqKDDistiller "
                       'sets the reduction'):
        build_distiller(loss=dict(type='FreqDecoupledLoss', reduction='sum'))
    # the reduction it uses anyway is accepted
    model = build_distiller(loss=dict(type='FreqDecoupledLoss',
                                      reduction='mean'))
    assert model.feature_loss.reduction == 'mean'
    assert model.per_sample_feature_loss.reduction == 'none'


def test_predict_returns_per_sample_losses_matching_the_batch_loss():
    model = build_distiller().eval()
    inputs = paired_batch(batch_size=3)
    with torch.no_grad():
        batch = model(inputs, mode='loss')
        samples = model(inputs, mode='predict')
    assert len(samples) == 3
    for key, value in batch.items():
        per_sample = torch.stack([s[key] for s in samples])
        torch.testing.assert_close(per_sample.mean(), value)


def test_loss_and_predict_follow_the_openmmlab_model_convention():
    """model.loss(inputs, data_samples) / model.predict(...) as in mmdet,
    mmseg and mmpretrain models (loss was the loss module)."""
    model = build_distiller().eval()
    inputs = paired_batch(batch_size=2)
    with torch.no_grad():
        losses = model.loss(inputs, None)
        predictions = model.predict(inputs)
        forward_losses = model(inputs, mode='loss')
    assert losses.keys() == forward_losses.keys()
    for key in losses:
        torch.testing.assert_close(losses[key], forward_losses[key])
    assert len(predictions) == 2 and predictions[0].keys() == losses.keys()


def test_resnet_student_with_connectors():
    resnet = dict(type='mmdet.ResNet', depth=18, num_stages=4,
                  out_indices=(1, 3), norm_eval=False)
    pairs = [
        dict(name='block1_c3', teacher_index=0, student_index=0,
             connector=dict(type='FeatureConnector', in_channels=128,
                            out_channels=32)),
        dict(name='block3_c5', teacher_index=1, student_index=1,
             connector=dict(type='FeatureConnector', in_channels=512,
                            out_channels=32)),
    ]
    model = build_distiller(student=resnet, lora=None, pairs=pairs)
    conv_before = model.connectors['block1_c3'].proj.weight.clone()
    train_one_step(model, paired_batch(size=(56, 70)))
    assert not torch.equal(conv_before,
                           model.connectors['block1_c3'].proj.weight)
    state = model.state_dict()
    assert any(k.startswith('connectors.block1_c3.') for k in state)
    # a fully trained student is saved whole, BN statistics included
    assert 'student.bn1.running_mean' in state
    assert not any(k.startswith('teacher.') for k in state)


def test_missing_connector_is_reported():
    resnet = dict(type='mmdet.ResNet', depth=18, out_indices=(1, 3))
    model = build_distiller(student=resnet, lora=None, pairs=[
        dict(name='c3', teacher_index=0, student_index=0)])
    with pytest.raises(ValueError, match='FeatureConnector'):
        model(paired_batch(), mode='loss')


def test_teacher_without_weights_needs_explicit_opt_in(tmp_path):
    with pytest.raises(ValueError, match='allow_random_teacher'):
        build_distiller(allow_random_teacher=False)
    cfg_teacher = tiny_vit(frozen=True, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'absent.pth')))
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        with DefaultScope.overwrite_default_scope('mmdet'):
            MODELS.build(dict(
                type='FreqKDDistiller', teacher=cfg_teacher,
                student=tiny_vit(),
                distill_pairs=[dict(name='b', teacher_index=0,
                                    student_index=0)]))


def test_lora_student_without_weights_needs_explicit_opt_in(tmp_path):
    with pytest.raises(ValueError, match=r'student is trained through LoRA '
                       r'\(model\.student_lora\) but has no pretrained '
                       r'weights.*model\.allow_random_student=True'):
        build_distiller(allow_random_student=False)
    # a LoRA student with base weights, or a student trained whole, is fine
    path = tmp_path / 'base.pth'
    torch.save(MODELS.build(tiny_vit()).state_dict(), path)
    for init_type in ('Pretrained', 'CheckedPretrained'):
        build_distiller(allow_random_student=False, student=tiny_vit(
            init_cfg=dict(type=init_type, checkpoint=str(path))))
    build_distiller(allow_random_student=False, lora=None)


@pytest.mark.parametrize('role', ['teacher', 'student'])
def test_checkpoint_errors_name_the_model_and_the_file(tmp_path, role):
    """The teacher and the student have their own init_cfg: an error says
    which of them, and which file, is at fault."""
    other = MODELS.build(dict(tiny_vit(), num_register_tokens=2))
    path = tmp_path / f'{role}.pth'
    torch.save(other.state_dict(), path)
    config = tiny_vit(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    if role == 'teacher':
        config['frozen'] = True
    model = build_distiller(**{role: config})
    file = re.escape(str(path))
    with pytest.raises(KeyError, match=rf'model\.{role}: {file}'
                       r": checkpoint does not match DINOv2ViT: unexpected "
                       r"keys: 1 \(reg_token\)"):
        model.init_weights()


def test_dinov2_teacher_loads_its_checkpoint_itself_strictly(tmp_path):
    """A DINOv2ViT teacher keeps its Pretrained init_cfg (layout conversion,
    strict check) instead of the distiller's generic strict loader."""
    torch.manual_seed(0)
    reference = MODELS.build(tiny_vit(img_size=56))
    path = tmp_path / 'dinov2.pth'
    torch.save(dict(state_dict=reference.state_dict()), path)
    teacher = tiny_vit(frozen=True, img_size=56, init_cfg=dict(
        type='Pretrained', checkpoint=str(path)))
    model = build_distiller(teacher=teacher, allow_random_teacher=False)
    assert model.teacher.init_cfg['checkpoint'] == str(path)
    model.init_weights()
    for key, value in reference.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key

    wider = MODELS.build(dict(
        tiny_vit(img_size=56), arch=dict(TINY_ARCH, feedforward_channels=96)))
    torch.save(dict(state_dict=wider.state_dict()), path)
    with pytest.raises(ValueError, match=r'blocks\.0\.mlp\.fc1\.weight: '
                       r'checkpoint \(96, 32\) vs model \(64, 32\)'):
        build_distiller(teacher=teacher,
                        allow_random_teacher=False).init_weights()


def test_export_merges_lora_and_loads_into_an_mmdet_backbone(tmp_path):
    model = build_distiller()
    for _ in range(2):  # two steps: both LoRA factors become non-zero
        train_one_step(model, paired_batch(), lr=0.5)
    lora = model.student.blocks[0].attn.qkv
    assert isinstance(lora, LoRALinear) and lora.lora_A.abs().sum() > 0
    path = tmp_path / 'student.pth'
    torch.save(dict(state_dict={
        'backbone.' + k: v
        for k, v in model.export_student(lora_scale=1.0).items()
    }), path)

    from mmdet.registry import MODELS as MMDET_MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = MMDET_MODELS.build(tiny_vit(init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.')))
    backbone.init_weights()
    model.eval()
    backbone.eval()
    ir = paired_batch(seed=2)['ir']
    with torch.no_grad():
        for exported, student in zip(backbone(ir), model.student(ir)):
            torch.testing.assert_close(exported, student, rtol=1e-4,
                                       atol=1e-5)
    # the distiller keeps its adapters: exporting does not merge in place
    assert isinstance(model.student.blocks[0].attn.qkv, LoRALinear)


def test_export_scale_zero_is_the_base_model():
    model = build_distiller()
    base = {k: v.clone() for k, v in torch.nn.Module.state_dict(
        model.student).items() if '.lora_' not in k}
    train_one_step(model, paired_batch(), lr=0.5)
    exported = model.export_student(lora_scale=0.0)
    assert set(exported) == set(base)
    for key, value in base.items():
        torch.testing.assert_close(exported[key], value)


@pytest.mark.parametrize('lora, error, message', [
    (dict(rank=0, alpha=8), ValueError, 'rank must be a positive int'),
    (dict(rank=4, alpha=8, foo=1), TypeError, "keyword argument 'foo'"),
])
def test_lora_errors_name_the_config_key(lora, error, message):
    with pytest.raises(error, match=f'^model.student_lora: .*{message}'):
        build_distiller(lora=lora)


def test_a_loss_weight_of_zero_is_refused():
    """It trained on a loss that is 0 at every step (grad_norm 0)."""
    with pytest.raises(ValueError, match='model.loss.loss_weight=0: every '
                       'distillation loss would be 0'):
        build_distiller(loss=dict(type='FreqDecoupledLoss', loss_weight=0.0))


def test_a_layer_pair_named_twice_is_refused():
    pairs = [dict(name='a', teacher_index=0, student_index=0),
             dict(name='b', teacher_index=0, student_index=0)]
    with pytest.raises(ValueError, match=r'model\.distill_pairs: \(teacher_'
                       r'index, student_index\) \[\(0, 0\)\] appear in more '
                       'than one pair'):
        build_distiller(pairs=pairs)
