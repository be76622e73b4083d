"""CheckedPretrained: mmengine's Pretrained initialiser, but a checkpoint that
lacks any weight of the module is an error naming the file and the prefix,
while keys the module does not have only warn (torchvision's fc.)."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.registry import MODELS, WEIGHT_INITIALIZERS, DefaultScope

import mmfreqkd  # noqa: F401
from conftest import REPO_ROOT
from mmfreqkd.models.weight_init import CheckedPretrainedInit
from mmfreqkd.utils import CheckpointMismatchError

pytestmark = pytest.mark.usefixtures('single_thread')

R18 = dict(type='mmdet.ResNet', depth=18)


def resnet(init_cfg=None, depth=18):
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(dict(R18, depth=depth, init_cfg=init_cfg))


def checked(path, **kwargs):
    return dict(type='CheckedPretrained', checkpoint=str(path), **kwargs)


@pytest.fixture(scope='module')
def weights():
    """Random ResNet-18 weights (floats randomised, BN counters kept)."""
    torch.manual_seed(0)
    return {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in resnet().state_dict().items()
    }


@pytest.fixture
def warnings_logged(monkeypatch):
    """The warnings logged by the checked loading, as strings."""
    import mmfreqkd.utils.checkpoint as checkpoint_module
    logged = []
    real = checkpoint_module.print_log

    def capture(msg, logger=None, level=None):
        if level is not None and level >= 30:
            logged.append(msg)
        real(msg, logger=logger, level=level)

    monkeypatch.setattr(checkpoint_module, 'print_log', capture)
    return logged


def assert_loaded(model, expected, prefix=''):
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[prefix + key]), key


def test_registered_in_the_root_registry_and_the_mmfreqkd_scope():
    assert WEIGHT_INITIALIZERS.get('CheckedPretrained') \
        is CheckedPretrainedInit
    assert WEIGHT_INITIALIZERS.get('mmfreqkd.CheckedPretrained') \
        is CheckedPretrainedInit


def test_loads_every_weight(weights, tmp_path):
    path = tmp_path / 'r18.pth'
    torch.save(dict(state_dict=weights), path)
    model = resnet(checked(path))
    model.init_weights()
    assert_loaded(model, weights)


def test_extra_keys_load_with_a_warning(weights, tmp_path, warnings_logged):
    # as torchvision's ImageNet files: a classifier the backbone has not,
    # and no BatchNorm counters (old files)
    state = {k: v for k, v in weights.items()
             if not k.endswith('num_batches_tracked')}
    state.update({'fc.weight': torch.zeros(1000, 512),
                  'fc.bias': torch.zeros(1000)})
    path = tmp_path / 'torchvision_like.pth'
    torch.save(state, path)
    model = resnet(checked(path))
    model.init_weights()
    assert_loaded(model, dict(weights, **state))
    warning, = warnings_logged
    assert str(path) in warning
    assert '2 (fc.weight, fc.bias)' in warning


def test_file_of_another_model_is_an_error(tmp_path):
    # e.g. the ViT student export given to the ResNet
    path = tmp_path / 'vit_export.pth'
    torch.save({'state_dict': {
        'backbone.blocks.0.attn.qkv.weight': torch.zeros(96, 32)}}, path)
    model = resnet(checked(path, prefix='backbone.'))
    before = model.conv1.weight.clone()
    with pytest.raises(CheckpointMismatchError) as error:
        model.init_weights()
    first_line = str(error.value).splitlines()[0]
    assert str(path) in first_line
    assert "prefix 'backbone.'" in first_line
    missing = len([k for k in model.state_dict()
                   if not k.endswith('num_batches_tracked')])
    assert f'missing keys: {missing} (conv1.weight, ' in first_line
    assert 'unexpected keys: 1 (blocks.0.attn.qkv.weight)' in first_line
    assert torch.equal(model.conv1.weight, before)


def test_partial_file_is_an_error(weights, tmp_path):
    path = tmp_path / 'conv1_only.pth'
    torch.save({'conv1.weight': weights['conv1.weight']}, path)
    with pytest.raises(CheckpointMismatchError,
                       match=r'missing keys: \d+ \(bn1.weight'):
        resnet(checked(path)).init_weights()


def test_other_widths_are_an_error_naming_the_shapes(weights, tmp_path):
    path = tmp_path / 'r18.pth'
    torch.save(dict(state_dict=weights), path)
    model = resnet(checked(path), depth=34)  # same keys at first, more
    with pytest.raises(CheckpointMismatchError) as error:
        model.init_weights()
    assert 'missing keys: ' in str(error.value)  # ResNet-34 has more
    model = resnet(checked(path))
    model.layer4[1].conv2 = nn.Conv2d(512, 256, 3, padding=1, bias=False)
    with pytest.raises(CheckpointMismatchError) as error:
        model.init_weights()
    assert ('keys whose shape differs: 1 (layer4.1.conv2.weight: checkpoint '
            '(512, 512, 3, 3) vs model (256, 512, 3, 3))') in str(error.value)


def test_prefix_selects_and_strips_the_keys(weights, tmp_path,
                                            warnings_logged):
    detector = {'backbone.' + k: v for k, v in weights.items()}
    detector['neck.conv.weight'] = torch.zeros(1)  # not under the prefix
    path = tmp_path / 'detector.pth'
    torch.save(dict(state_dict=detector, meta=dict()), path)
    for prefix in ('backbone.', 'backbone'):
        model = resnet(checked(path, prefix=prefix))
        model.init_weights()
        assert_loaded(model, detector, 'backbone.')
    assert not warnings_logged  # keys outside the prefix are not looked at
    # DDP checkpoints: module. is stripped first
    ddp = {'module.' + k: v for k, v in detector.items()}
    torch.save(dict(state_dict=ddp), path)
    model = resnet(checked(path, prefix='backbone.'))
    model.init_weights()
    assert_loaded(model, detector, 'backbone.')


def test_absent_prefix_is_an_error_naming_the_prefixes(weights, tmp_path):
    path = tmp_path / 'detector.pth'
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in weights.items()}}, path)
    with pytest.raises(CheckpointMismatchError) as error:
        resnet(checked(path, prefix='student.')).init_weights()
    message = str(error.value)
    assert str(path) in message and "'student.'" in message
    assert "['backbone.']" in message
    # a prefixed file loaded without the prefix: nothing fits
    with pytest.raises(CheckpointMismatchError, match='missing keys'):
        resnet(checked(path)).init_weights()


class Parent(BaseModule):
    """A module whose child has an initialiser of its own."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.stem = nn.Conv2d(3, 4, 1)
        self.child = BaseModule(init_cfg=dict(type='Constant', val=0,
                                              layer='Conv2d'))
        self.child.conv = nn.Conv2d(4, 4, 1)


def test_loaded_weights_win_over_the_children_initialisers(tmp_path):
    torch.manual_seed(1)
    state = {k: torch.randn_like(v) for k, v in Parent().state_dict().items()}
    path = tmp_path / 'parent.pth'
    torch.save(state, path)
    model = Parent(init_cfg=checked(path))
    model.init_weights()
    assert_loaded(model, state)
    assert model.child.is_init


def test_lora_adapters_may_be_missing(tmp_path):
    from mmfreqkd.models.lora import inject_lora
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
    base = {k: torch.randn_like(v) for k, v in mlp.state_dict().items()}
    path = tmp_path / 'base.pth'
    torch.save(base, path)
    inject_lora(mlp, ('0', '2'), rank=2, alpha=2)
    adapters = {k: v.clone() for k, v in mlp.state_dict().items()
                if 'lora_' in k}
    assert adapters
    CheckedPretrainedInit(checkpoint=str(path))(mlp)
    state = mlp.state_dict()
    for key, value in dict(base, **adapters).items():
        assert torch.equal(state[key], value), key


@pytest.mark.parametrize('name', ['kaist_faster_rcnn_r50_fpn_freqkd',
                                  'kaist_faster_rcnn_r50_fpn_baseline'])
def test_stage2_resnet_configs_check_their_file(name, tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'transfer', name + '.py'))
    assert cfg.model.backbone.init_cfg.type == 'CheckedPretrained'
    path = tmp_path / 'vit_export.pth'
    torch.save({'state_dict': {
        'backbone.blocks.0.attn.qkv.weight': torch.zeros(96, 32)}}, path)
    cfg.model.backbone.init_cfg.checkpoint = str(path)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    with pytest.raises(CheckpointMismatchError, match=str(path)):
        model.init_weights()
