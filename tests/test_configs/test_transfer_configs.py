"""Stage-2 transfer configs (configs/transfer): every config builds its
full-size model (meta device) and, shrunk, trains and predicts on its own
data pipeline over synthetic data; the FreqKD flavours differ from the
baselines only in the backbone initialisation and load an exported student;
one detection and one segmentation config train and test end to end through
tools/train.py and tools/test.py."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import CheckpointLoader

import mmfreqkd  # noqa: F401
from conftest import REPO_ROOT, load_tool
from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.models.backbones import DINOv2ViT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'transfer')
# Each model comes as <model>_baseline.py and <model>_freqkd.py; the FreqKD
# flavour reads this exported Stage-1 student.
STUDENTS = {
    'kaist_dino_vitl': 'freqkd_kaist_vitl_student.pth',
    'kaist_dino_vitl_sfp': 'freqkd_kaist_vitl_student.pth',
    'kaist_faster_rcnn_r50_fpn': 'freqkd_kaist_r50_student.pth',
    'flir_dino_vitl': 'freqkd_flir_vitl_student.pth',
    'mfnet_linear_probe_vitl': 'freqkd_mfnet_vitl_student.pth',
    'mfnet_upernet_vitl': 'freqkd_mfnet_vitl_student.pth',
}
CONFIGS = sorted(f'{model}_{flavour}' for model in STUDENTS
                 for flavour in ('baseline', 'freqkd'))
# The CPU smoke run of Stage 2 after the quick start (README).
QUICKSTART = 'quickstart_kaist_dino_vits_freqkd'
DINOV2_WEIGHTS = 'checkpoints/dinov2_vitl14_reg4_pretrain.pth'

# Shrunk ViT: 24 blocks so that the configs' block indices stay valid.
TINY_VIT = dict(
    _delete_=True,
    embed_dims=64,
    num_layers=24,
    num_heads=2,
    feedforward_channels=128)
TINY_SIZE = (224, 168)  # synthetic image width, height

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')
export_tool = load_tool('tools/model_converters/export_student.py')


pytestmark = pytest.mark.usefixtures('single_thread')


@pytest.fixture(scope='module')
def synthetic_roots(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    roots = {}
    for layout in ('kaist', 'flir', 'mfnet'):
        roots[layout] = str(root / layout) + '/'
        make_synthetic_dataset(layout, roots[layout], num=6, seed=0,
                               size=TINY_SIZE)
    return roots


@pytest.fixture(scope='module')
def exported_student(tmp_path_factory):
    """A tiny Stage-1 student (the quick-start distiller shrunk, with 4
    registers like ViT-L/14-reg4) exported by the real export tool.

    Returns:
        tuple[str, dict]: The exported file and its state dict.
    """
    work = tmp_path_factory.mktemp('stage1')
    stage1_config = work / 'stage1_tiny.py'
    quick_start = osp.join(REPO_ROOT, 'configs', 'freqkd',
                           'quickstart_kaist_vits.py')
    tiny_vit = dict(arch=TINY_VIT, num_register_tokens=4)
    stage1_config.write_text(
        f'_base_ = [{quick_start!r}]\n'
        f'model = dict(teacher={tiny_vit!r}, student={tiny_vit!r})\n')
    cfg = Config.fromfile(str(stage1_config))
    models, _ = scope_registries(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        distiller = models.build(cfg.model)
    # a LoRA update that the export merges into the base weights
    for name, param in distiller.named_parameters():
        if 'lora' in name:
            torch.nn.init.normal_(param, std=0.02)
    stage1_ckpt = work / 'stage1.pth'
    torch.save(dict(state_dict=distiller.state_dict()), stage1_ckpt)
    out = str(work / 'student.pth')
    export_tool.main([str(stage1_config), str(stage1_ckpt), out,
                      '--lora-scale', '0.5'])
    return out, torch.load(out, weights_only=False)['state_dict']


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))


def scope_registries(cfg):
    """The MODELS and DATASETS registries of the config's scope."""
    registry = __import__(f'{cfg.default_scope}.registry',
                          fromlist=['MODELS', 'DATASETS'])
    return registry.MODELS, registry.DATASETS


def layout_of(name):
    return name.split('_')[0]


def test_transfer_directory_holds_the_baseline_freqkd_pairs():
    found = {
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(CONFIG_DIR, '*.py'))
    }
    assert found == set(CONFIGS) | {QUICKSTART}


@pytest.mark.parametrize('model_name', sorted(STUDENTS))
def test_freqkd_flavour_changes_only_the_initialisation(model_name):
    baseline = load(model_name + '_baseline').to_dict()
    freqkd = load(model_name + '_freqkd').to_dict()
    baseline_init = baseline['model']['backbone'].pop('init_cfg')
    freqkd_init = freqkd['model']['backbone'].pop('init_cfg')
    assert freqkd == baseline
    # DINOv2ViT loads 'Pretrained' strictly itself; mmdet's ResNet needs
    # mmfreqkd's checked initialiser
    init_type = 'CheckedPretrained' if 'r50' in model_name else 'Pretrained'
    assert freqkd_init == dict(
        type=init_type,
        checkpoint='checkpoints/' + STUDENTS[model_name],
        prefix='backbone.')
    expected = ('torchvision://resnet50' if 'r50' in model_name else
                DINOV2_WEIGHTS)
    assert baseline_init == dict(type=init_type, checkpoint=expected)


def check_dino(model, num_classes, cfg):
    assert model.num_queries == 900
    assert model.as_two_stage and model.with_box_refine
    assert model.num_feature_levels == 5
    assert tuple(model.level_embed.shape) == (5, 256)
    assert {layer.self_attn.num_levels for layer in model.encoder.layers} \
        == {5}
    assert {layer.cross_attn.num_levels for layer in model.decoder.layers} \
        == {5}
    assert model.bbox_head.cls_branches[0].out_features == num_classes
    neck = model.neck
    if cfg.model.neck.type == 'ChannelMapper':
        # one 1024 -> 256 map per ViT block, no extra level
        assert [m.conv.in_channels for m in neck.convs] == [1024] * 5
        assert neck.extra_convs is None
        assert isinstance(neck.convs[0].gn, torch.nn.GroupNorm)
    else:
        assert neck.in_channels == 1024
        assert neck.scale_factors == (4.0, 2.0, 1.0, 0.5, 0.25)
    optimizer = cfg.optim_wrapper
    assert optimizer.optimizer == dict(type='AdamW', lr=5e-5,
                                       weight_decay=1e-4)
    assert optimizer.clip_grad.max_norm == 0.1
    assert optimizer.paramwise_cfg.custom_keys.backbone.lr_mult == 0.1
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.param_scheduler[0].milestones == [11]
    assert cfg.train_dataloader.batch_size == 2


@pytest.mark.parametrize('name', CONFIGS)
def test_full_size_model_builds_on_meta(name):
    cfg = load(name)
    models, datasets = scope_registries(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        with torch.device('meta'):
            model = models.build(cfg.model)
        dataset_cls = datasets.get(cfg.train_dataloader.dataset.type)
    num_classes = len(dataset_cls.METAINFO['classes'])
    backbone = model.backbone
    if isinstance(backbone, DINOv2ViT):
        assert (backbone.embed_dims, len(backbone.blocks)) == (1024, 24)
        assert backbone.reg_token.shape[1] == 4
    if model.__class__.__name__ == 'DINO':
        check_dino(model, num_classes, cfg)
    elif model.__class__.__name__ == 'FasterRCNN':
        assert backbone.depth == 50
        assert model.roi_head.bbox_head.num_classes == num_classes == 1
    else:
        assert model.decode_head.num_classes == num_classes == 9
        assert cfg.val_evaluator.type == cfg.test_evaluator.type == \
            'MFNetIoUMetric'
        if 'linear_probe' in name:
            assert backbone.frozen
            assert not any(p.requires_grad for p in backbone.parameters())
            assert model.decode_head.in_channels == [1024] * 5
            assert cfg.optim_wrapper.optimizer.lr == 1e-3
            assert cfg.param_scheduler[0].type == 'CosineAnnealingLR'
            assert cfg.train_cfg.max_epochs == 20
            assert cfg.train_dataloader.batch_size == 8
        else:
            assert all(p.requires_grad for p in backbone.parameters())
            assert model.decode_head.in_channels == [1024] * 4
    if layout_of(name) == 'kaist':
        evaluators = [e.type for e in cfg.val_evaluator]
        assert evaluators == ['CocoMetric', 'KAISTMissRateMetric']
        assert cfg.test_evaluator == cfg.val_evaluator


def shrink_model(model):
    """Overrides making the config's model tiny, same structure."""
    if model['backbone']['type'] == 'DINOv2ViT':
        width = TINY_VIT['embed_dims']
        overrides = dict(backbone=dict(arch=TINY_VIT, init_cfg=None))
    else:  # ResNet-50 -> ResNet-18, 32-channel FPN, narrow box head
        overrides = dict(
            backbone=dict(depth=18, init_cfg=None),
            neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
            rpn_head=dict(in_channels=32, feat_channels=32),
            roi_head=dict(
                bbox_roi_extractor=dict(out_channels=32),
                bbox_head=dict(in_channels=32, fc_out_channels=64)),
            train_cfg=dict(rcnn=dict(sampler=dict(num=64))))
    neck = model.get('neck') or {}
    if neck.get('type') == 'ChannelMapper':
        overrides['neck'] = dict(
            in_channels=[width] * len(neck['in_channels']))
    elif neck.get('type') == 'SimpleFeaturePyramid':
        overrides['neck'] = dict(in_channels=width)
    elif neck.get('type') == 'MultiLevelNeck':
        overrides['neck'] = dict(
            in_channels=[width] * len(neck['in_channels']),
            out_channels=width)
    if model['type'] == 'DINO':
        small_ffn = dict(num_layers=1,
                         layer_cfg=dict(ffn_cfg=dict(feedforward_channels=64)))
        overrides.update(
            num_queries=20,
            encoder=small_ffn,
            decoder=small_ffn,
            dn_cfg=dict(group_cfg=dict(num_dn_queries=10)),
            test_cfg=dict(max_per_img=20))
    head = model.get('decode_head')
    if head is not None:
        in_channels = [width] * len(head['in_channels'])
        overrides['decode_head'] = dict(in_channels=in_channels, channels=32)
        if head['type'] == 'LinearProbeHead':
            overrides['decode_head']['proj_channels'] = 16
    if model.get('auxiliary_head'):
        overrides['auxiliary_head'] = dict(in_channels=width, channels=16)
    return overrides


def shrink_loader(loader, data_root):
    """No workers, the synthetic root, small resize scales."""
    dataset = dict(loader['dataset'])
    dataset['data_root'] = data_root
    dataset['serialize_data'] = False  # skips a slow gc.collect()
    dataset['pipeline'] = [
        dict(step, scale=TINY_SIZE) if step['type'] == 'Resize' else step
        for step in dataset['pipeline']
    ]
    return dict(
        _delete_=True,
        **dict(loader, num_workers=0, persistent_workers=False,
               batch_size=2, dataset=dataset))


def tiny_config(tmp_path, name, data_root, student=None):
    """Write a config inheriting ``name`` with a tiny model, the synthetic
    data and, if given, the backbone initialised from ``student``."""
    cfg = load(name).to_dict()
    overrides = dict(
        experiment_name='train_' + name,  # unique logger per runner
        model=shrink_model(cfg['model']),
        train_cfg=dict(max_epochs=1))
    if student is not None:
        overrides['model']['backbone']['init_cfg'] = dict(checkpoint=student)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        overrides[key] = shrink_loader(cfg[key], data_root)
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg[key]
        entries = evaluator if isinstance(evaluator, list) else [evaluator]
        entries = [
            dict(e, ann_file=e['ann_file'].replace(cfg['data_root'],
                                                   data_root))
            if 'ann_file' in e else dict(e) for e in entries
        ]
        overrides[key] = entries if isinstance(evaluator, list) else \
            dict(entries[0], _delete_=True)
    path = tmp_path / f'tiny_{name}.py'
    lines = [f'_base_ = [{osp.join(CONFIG_DIR, name + ".py")!r}]']
    lines += [f'{key} = {value!r}' for key, value in overrides.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


@pytest.mark.parametrize('name', [c for c in CONFIGS if 'baseline' in c])
def test_tiny_model_trains_and_predicts_on_the_config_pipeline(
        name, synthetic_roots, tmp_path):
    torch.manual_seed(0)
    data_root = synthetic_roots[layout_of(name)]
    cfg = Config.fromfile(tiny_config(tmp_path, name, data_root))
    models, datasets = scope_registries(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = models.build(cfg.model)
        model.init_weights()  # as the runner does (DINO's level embedding)
        train_set = datasets.build(cfg.train_dataloader.dataset)
        test_set = datasets.build(cfg.test_dataloader.dataset)
    batch = pseudo_collate([train_set[0], train_set[1]])
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    head_names = ('bbox_head', 'roi_head', 'decode_head')
    head, = [getattr(model, n) for n in head_names if hasattr(model, n)]
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in head.parameters())
    backbone_grads = [p.grad for p in model.backbone.parameters()]
    if 'linear_probe' in name:  # frozen: no gradient reaches the backbone
        assert all(g is None for g in backbone_grads)
    else:
        assert any(g is not None and g.abs().sum() > 0
                   for g in backbone_grads)

    model.eval()
    sample = test_set[0]
    with torch.no_grad():
        prediction, = model.val_step(pseudo_collate([sample]))
    height, width = prediction.ori_shape
    assert (width, height) == TINY_SIZE
    if hasattr(prediction, 'pred_sem_seg'):
        assert tuple(prediction.pred_sem_seg.data.shape) == (1, height, width)
        # an image of no whole number of patches: padded at test time too,
        # and the padding cropped off the logits, not resized away with them
        height, width = height - 5, width - 3
        sample['inputs'] = sample['inputs'][:, :height, :width]
        sample['data_samples'].set_metainfo(
            dict(img_shape=(height, width), ori_shape=(height, width)))
        data = model.data_preprocessor(pseudo_collate([sample]), False)
        assert all(side % 14 == 0 for side in data['inputs'].shape[-2:])
        with torch.no_grad():
            prediction, = model.val_step(pseudo_collate([sample]))
            logits = model.encode_decode(
                data['inputs'], [data['data_samples'][0].metainfo])
        assert torch.equal(logits[0, :, :height, :width].argmax(0),
                           prediction.pred_sem_seg.data[0])
    else:
        boxes = prediction.pred_instances.bboxes
        assert boxes.shape[1] == 4 and len(boxes) > 0
        labels = prediction.pred_instances.labels
        assert labels.max() < len(train_set.metainfo['classes'])


@pytest.mark.parametrize('name', [
    'kaist_dino_vitl_freqkd', 'mfnet_linear_probe_vitl_freqkd',
    'flir_dino_vitl_freqkd'
])
def test_freqkd_flavour_loads_the_exported_student(name, synthetic_roots,
                                                   exported_student,
                                                   tmp_path):
    student_file, student_state = exported_student
    cfg = Config.fromfile(
        tiny_config(tmp_path, name, synthetic_roots[layout_of(name)],
                    student=student_file))
    models, _ = scope_registries(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = models.build(cfg.model)
    model.backbone.init_weights()
    loaded = model.backbone.state_dict()
    assert set('backbone.' + k for k in loaded) == set(student_state)
    for key, value in loaded.items():
        torch.testing.assert_close(value, student_state['backbone.' + key],
                                   rtol=0, atol=0)


def test_freqkd_resnet_loads_backbone_prefixed_weights(synthetic_roots,
                                                       tmp_path):
    """The R50 student export holds mmdet ResNet keys under `backbone.`."""
    name = 'kaist_faster_rcnn_r50_fpn_freqkd'
    cfg = Config.fromfile(
        tiny_config(tmp_path, name, synthetic_roots['kaist'],
                    student='unused'))
    models, _ = scope_registries(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        donor = models.build(cfg.model.backbone)
        student = {'backbone.' + k: torch.randn_like(v)
                   if v.is_floating_point() else v
                   for k, v in donor.state_dict().items()}
        student_file = str(tmp_path / 'r18_student.pth')
        torch.save(dict(state_dict=student), student_file)
        cfg.model.backbone.init_cfg.checkpoint = student_file
        model = models.build(cfg.model)
    model.backbone.init_weights()
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, student['backbone.' + key],
                                   rtol=0, atol=0)


def test_quickstart_stage2_shrinks_the_kaist_freqkd_config():
    """What the CPU smoke config changes, and nothing else; DINO keeps its
    top-k of num_queries x classes above max_per_img (mmdet's topk fails
    at the first validation otherwise)."""
    quick = load(QUICKSTART).to_dict()
    main = load('kaist_dino_vitl_freqkd').to_dict()
    assert quick['model'].pop('backbone') == dict(
        main['model'].pop('backbone'), arch='small', num_register_tokens=0,
        out_indices=(3, 5, 7, 9, 11),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/quickstart_student.pth',
                      prefix='backbone.'))
    assert quick['model'].pop('neck') == dict(
        main['model'].pop('neck'), in_channels=[384] * 5)
    assert quick['model'].pop('num_queries') == 100
    assert quick['model'].pop('test_cfg') == dict(
        main['model'].pop('test_cfg'), max_per_img=100)
    main['model'].pop('num_queries')
    assert quick.pop('model') == main.pop('model')
    root = 'data/kaist_synthetic/'
    for split in ('train', 'val', 'test'):
        loader, reference = quick.pop(f'{split}_dataloader'), main.pop(
            f'{split}_dataloader')
        for step, original in zip(loader['dataset'].pop('pipeline'),
                                  reference['dataset'].pop('pipeline')):
            resized = dict(original, scale=(320, 256))
            assert step == (resized if step['type'] == 'Resize' else original)
        assert loader == dict(
            reference, num_workers=0, persistent_workers=False,
            dataset=dict(reference['dataset'], data_root=root))
    for split in ('val', 'test'):
        for metric, original in zip(quick.pop(f'{split}_evaluator'),
                                    main.pop(f'{split}_evaluator')):
            assert metric == dict(
                original, ann_file=root + 'annotations/test-all-20.json')
    assert quick.pop('train_cfg') == dict(main.pop('train_cfg'), max_epochs=1)
    assert quick.pop('default_hooks')['logger']['interval'] == 5
    main.pop('default_hooks')
    changed_variables = ('data_root', 'vit_blocks', 'train_pipeline',
                         'test_pipeline', 'image_size')
    for key in changed_variables:
        quick.pop(key, None), main.pop(key, None)
    assert quick == main


def test_quickstart_stage2_predicts_with_a_vit_s_student(synthetic_roots,
                                                         tmp_path):
    """The smoke config loads a whole exported ViT-S student and
    predicts at most num_queries boxes on the synthetic set."""
    student = DINOv2ViT('small', num_register_tokens=0)
    student_file = str(tmp_path / 'quickstart_student.pth')
    torch.save(dict(state_dict={'backbone.' + k: v
                                for k, v in student.state_dict().items()}),
               student_file)
    cfg = load(QUICKSTART)
    cfg.model.backbone.init_cfg.checkpoint = student_file
    cfg.test_dataloader.dataset.data_root = synthetic_roots['kaist']
    models, datasets = scope_registries(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = models.build(cfg.model)
        model.init_weights()
        test_set = datasets.build(cfg.test_dataloader.dataset)
    for key, value in student.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    model.eval()
    with torch.no_grad():
        prediction, = model.val_step(pseudo_collate([test_set[0]]))
    assert 0 < len(prediction.pred_instances.bboxes) <= 100


def metric_records(work_dir):
    """All json log lines of a work dir (train, val and test records)."""
    records = []
    for path in glob.glob(osp.join(work_dir, '**', '*.json'),
                          recursive=True):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def train_then_test(tmp_path, config, best_metric):
    work_dir = str(tmp_path / 'work')
    train_tool.main([config, '--work-dir', work_dir])
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)
    # save_best names an existing metric, else no best checkpoint is kept
    best = f'best_{best_metric.replace("/", "_")}_epoch_1.pth'
    assert osp.isfile(osp.join(work_dir, best))
    test_dir = str(tmp_path / 'test')
    test_tool.main([
        config, checkpoint, '--work-dir', test_dir, '--cfg-options',
        'experiment_name=test_' + osp.basename(config)
    ])
    return checkpoint, metric_records(work_dir), metric_records(test_dir)


def test_dino_freqkd_trains_and_tests_through_the_tools(
        synthetic_roots, exported_student, tmp_path):
    config = tiny_config(tmp_path, 'kaist_dino_vitl_freqkd',
                         synthetic_roots['kaist'],
                         student=exported_student[0])
    _, train_records, test_records = train_then_test(
        tmp_path, config, 'coco/bbox_mAP_50')
    assert any('loss' in r and 'dn_loss_cls' in r for r in train_records)
    keys = ('coco/bbox_mAP_50', 'kaist/MR_all', 'kaist/MR_day',
            'kaist/MR_night')
    assert any(all(k in r for k in keys) for r in train_records)  # val
    result, = [r for r in test_records if 'coco/bbox_mAP_50' in r]
    assert all(k in result for k in keys)
    assert 0 <= result['coco/bbox_mAP_50'] <= 1
    assert 0 <= result['kaist/MR_all'] <= 100


def test_linear_probe_trains_and_tests_through_the_tools(
        synthetic_roots, exported_student, tmp_path):
    student_file, student_state = exported_student
    config = tiny_config(tmp_path, 'mfnet_linear_probe_vitl_freqkd',
                         synthetic_roots['mfnet'], student=student_file)
    checkpoint, train_records, test_records = train_then_test(
        tmp_path, config, 'mIoU')
    assert any('loss' in r for r in train_records)
    result, = [r for r in test_records if 'mIoU' in r]
    for key in ('mIoU', 'mIoU_day', 'mIoU_night', 'aAcc'):
        assert key in result
    assert 0 <= result['mIoU'] <= 100
    # the probe's backbone is the student, untouched by training
    trained = CheckpointLoader.load_checkpoint(checkpoint)['state_dict']
    head_keys = [k for k in trained if k.startswith('decode_head.')]
    assert head_keys
    for key, value in student_state.items():
        torch.testing.assert_close(trained[key], value, rtol=0, atol=0)
