"""LogitDistiller: loss terms against independent computations, input routing,
a frozen teacher, checkpoints without the teacher, student predictions."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.evaluation import Accuracy
from mmpretrain.structures import DataSample

import mmfreqkd  # noqa: F401
from mmfreqkd.models.losses import FreqDecoupledLoss
from logit_reference import numpy_kl


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build in the MMPretrain scope, as the classification configs do (an
    earlier test's runner may have left another scope current)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


NUM_CLASSES = 10


pytestmark = pytest.mark.usefixtures('single_thread')


def classifier(width=8, loss_weight=1.0):
    """A two-stage CIFAR ResNet-18 classifier (stage widths w, 2w)."""
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(
            type='ResNet_CIFAR',
            depth=18,
            num_stages=2,
            stem_channels=width,
            base_channels=width,
            strides=(1, 2),
            dilations=(1, 1),
            out_indices=(0, 1)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=NUM_CLASSES,
            in_channels=2 * width,
            loss=dict(type='CrossEntropyLoss', loss_weight=loss_weight)))


def build(distill_loss=None, **kwargs):
    torch.manual_seed(0)
    cfg = dict(
        type='LogitDistiller',
        teacher=classifier(8),
        student=classifier(4),
        distill_loss=distill_loss or dict(type='KDLoss', temperature=4.0),
        allow_random_teacher=True)
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    # PyTorch's default initialisation; larger head weights spread the
    # logits, so that the distillation losses are far from zero.
    with torch.no_grad():
        for head in (model.teacher.head, model.student.head):
            head.fc.weight.mul_(4.0)
    return model


def batch(num=6, seed=1, size=16):
    gen = torch.Generator().manual_seed(seed)
    images = torch.randn(num, 3, size, size, generator=gen)
    labels = torch.randint(NUM_CLASSES, (num, ), generator=gen)
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    return images, labels, samples


def haar_high_pass(logits):
    """Logits minus the mean of each (even, odd) class pair."""
    pairs = logits.reshape(len(logits), -1, 2)
    return (pairs - pairs.mean(axis=-1, keepdims=True)).reshape(logits.shape)


def reference_logits(model, teacher_images, student_images):
    with torch.no_grad():
        teacher = model.teacher(teacher_images, mode='tensor').numpy()
        student = model.student(student_images, mode='tensor')
    return teacher.astype(np.float64), student


@pytest.mark.parametrize('loss_type', ['KDLoss', 'FiGKDLoss'])
def test_loss_terms_match_independent_computation(loss_type):
    model = build(
        dict(type=loss_type, temperature=2.0, loss_weight=0.9),
        student=classifier(4, loss_weight=0.1))
    model.eval()  # BatchNorm in eval mode: the reference forward matches
    images, labels, samples = batch()
    losses = model(images, samples, mode='loss')

    teacher, student = reference_logits(model, images, images)
    ce = F.cross_entropy(student, labels).item()
    student = student.numpy().astype(np.float64)
    if loss_type == 'FiGKDLoss':
        teacher, student = haar_high_pass(teacher), haar_high_pass(student)
    name = 'loss_kd' if loss_type == 'KDLoss' else 'loss_figkd'
    assert set(losses) == {'loss_cls', name}
    assert losses['loss_cls'].item() == pytest.approx(0.1 * ce, rel=1e-5)
    assert losses[name].item() == pytest.approx(
        0.9 * numpy_kl(student, teacher, 2.0).mean(), rel=1e-4)


def test_figkd_ignores_the_low_band_of_the_teacher():
    """Adding a pair-constant offset to the teacher logits changes only the
    Haar approximation: FiGKD is unchanged, KD is not."""
    model = build(dict(type='FiGKDLoss'))
    model.eval()
    images, _, samples = batch()
    offset = torch.randn(NUM_CLASSES // 2).repeat_interleave(2)
    head = model.teacher.head.fc
    before = model(images, samples, mode='loss')['loss_figkd']
    with torch.no_grad():
        head.bias += 3 * offset
    after = model(images, samples, mode='loss')['loss_figkd']
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)

    kd = build(dict(type='KDLoss'))
    kd.eval()
    before = kd(images, samples, mode='loss')['loss_kd']
    with torch.no_grad():
        kd.teacher.head.fc.bias += 3 * offset
    assert not torch.allclose(kd(images, samples, mode='loss')['loss_kd'],
                              before)


def test_paired_inputs_go_to_their_model():
    model = build(teacher_input='rgb', student_input='ir')
    model.eval()
    rgb, labels, samples = batch(seed=1)
    ir, _, _ = batch(seed=2)
    losses = model(dict(rgb=rgb, ir=ir), samples, mode='loss')
    teacher, student = reference_logits(model, rgb, ir)
    assert losses['loss_cls'].item() == pytest.approx(
        F.cross_entropy(student, labels).item(), rel=1e-5)
    assert losses['loss_kd'].item() == pytest.approx(
        numpy_kl(student.numpy().astype(np.float64), teacher,
                 4.0).mean(), rel=1e-4)
    swapped = model(dict(rgb=ir, ir=rgb), samples, mode='loss')
    assert abs(swapped['loss_kd'].item() - losses['loss_kd'].item()) > 1e-4
    # predictions and logits come from the student's input
    torch.testing.assert_close(
        model(dict(rgb=rgb, ir=ir), mode='tensor'), student)
    assert isinstance(model.data_preprocessor,
                      MODELS.get('PairedDataPreprocessor'))


def test_training_lowers_loss_and_leaves_teacher_identical():
    model = build(dict(type='FiGKDLoss'))
    teacher_state = copy.deepcopy(model.teacher.state_dict())
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05)
    images, _, samples = batch(num=8)
    model.train()
    assert not model.teacher.training
    totals = []
    for _ in range(6):
        losses = model(images, samples, mode='loss')
        total = losses['loss_cls'] + losses['loss_figkd']
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < totals[0]
    assert all(p.grad is None for p in model.teacher.parameters())
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_state[key]), key  # BN stats too


def test_checkpoint_has_no_teacher_and_round_trips():
    model = build(
        feature_pairs=[dict(name='s1', teacher_index=1, student_index=1,
                            connector=dict(type='FeatureConnector',
                                           in_channels=8, out_channels=16))],
        feature_loss=dict(type='FreqDecoupledLoss'))
    state = model.state_dict()
    assert state and not [k for k in state if k.startswith('teacher.')]
    expected = {'student.' + k for k in model.student.state_dict()}
    expected |= {'connectors.' + k for k in model.connectors.state_dict()}
    assert set(state) == expected

    other = build(
        feature_pairs=[dict(name='s1', teacher_index=1, student_index=1,
                            connector=dict(type='FeatureConnector',
                                           in_channels=8, out_channels=16))],
        feature_loss=dict(type='FreqDecoupledLoss'))
    with torch.no_grad():
        for param in other.student.parameters():
            param.add_(1.0)
    other.load_state_dict(state)
    for key, value in other.state_dict().items():
        assert torch.equal(value, state[key]), key

    state.pop('student.head.fc.weight')
    with pytest.raises(RuntimeError, match='student.head.fc.weight'):
        other.load_state_dict(state)


def trained_classifier_state(width=8, seed=3):
    """State dict of ``classifier(width)`` with every float tensor (BN
    statistics included) moved away from its initial value."""
    torch.manual_seed(seed)
    model = MODELS.build(classifier(width))
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.rand_like(tensor))
    return model.state_dict()


def build_with_teacher_checkpoint(path, **pretrained):
    teacher = dict(classifier(8), init_cfg=dict(
        type='Pretrained', checkpoint=str(path), **pretrained))
    return MODELS.build(dict(type='LogitDistiller', teacher=teacher,
                             student=classifier(4),
                             distill_loss=dict(type='KDLoss')))


def test_teacher_checkpoint_loads_into_the_teacher(tmp_path):
    state = trained_classifier_state()
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    model = build_with_teacher_checkpoint(path)
    model.init_weights()  # what the Runner calls
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, state[key]), key

    # prefix selects the teacher's keys among those of other models
    both = tmp_path / 'both.pth'
    torch.save(dict(state_dict={
        **{'teacher.' + k: v for k, v in state.items()},
        **{'student.' + k: v
           for k, v in trained_classifier_state(4).items()}}), both)
    model = build_with_teacher_checkpoint(both, prefix='teacher.')
    model.init_weights()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, state[key]), key
    with pytest.raises(RuntimeError,
                       match=r"no key starts with prefix 'backbone\.'"):
        build_with_teacher_checkpoint(both, prefix='backbone').init_weights()


def test_mismatched_teacher_checkpoint_is_an_error(tmp_path):
    """mmengine's Pretrained initialiser would only warn and leave the
    teacher random; the distiller loads the teacher strictly."""
    state = trained_classifier_state()
    # a LogitDistiller checkpoint (keys under student.) taken for the
    # teacher's: every key missing and unexpected
    prefixed = tmp_path / 'prefixed.pth'
    torch.save(dict(state_dict={'student.' + k: v for k, v in state.items()}),
               prefixed)
    with pytest.raises(RuntimeError) as exc:
        build_with_teacher_checkpoint(prefixed).init_weights()
    message = str(exc.value)
    # BatchNorm's batch counters may be missing, not unexpected
    counted = [k for k in state if not k.endswith('num_batches_tracked')]
    assert message.startswith(
        f'checkpoint {prefixed} does not fit the ImageClassifier: missing '
        f'keys: {len(counted)} (backbone.conv1.weight, ')
    assert f'unexpected keys: {len(state)} (student.backbone.conv1.weight, ' \
        in message
    assert "The keys read start with ['student.']" in message

    # a checkpoint of a narrower classifier: every shape differs
    narrow = tmp_path / 'narrow.pth'
    torch.save(dict(state_dict=trained_classifier_state(width=4)), narrow)
    with pytest.raises(RuntimeError) as exc:
        build_with_teacher_checkpoint(narrow).init_weights()
    message = str(exc.value)
    assert message.startswith(
        f'checkpoint {narrow} does not fit the ImageClassifier: keys whose '
        'shape differs: ')
    assert ('backbone.conv1.weight: checkpoint (4, 3, 3, 3) vs model '
            '(8, 3, 3, 3)') in message

    with pytest.raises(KeyError, match='unknown keys'):
        build_with_teacher_checkpoint(narrow, strict=False)


def test_feature_pairs_add_freqkd_terms():
    model = build(
        dict(type='FiGKDLoss'),
        feature_pairs=[
            dict(name='s0', teacher_index=0, student_index=0,
                 connector=dict(type='FeatureConnector', in_channels=4,
                                out_channels=8)),
            dict(name='s1', teacher_index=1, student_index=1, weight=0.5,
                 connector=dict(type='FeatureConnector', in_channels=8,
                                out_channels=16)),
        ],
        feature_loss=dict(type='FreqDecoupledLoss'))
    model.eval()
    images, _, samples = batch()
    losses = model(images, samples, mode='loss')
    assert set(losses) == {
        'loss_cls', 'loss_figkd', 'loss_s0_low', 'loss_s0_high',
        'loss_s1_low', 'loss_s1_high'
    }
    with torch.no_grad():
        teacher = model.teacher.extract_feat(images, stage='backbone')[1]
        student = model.student.extract_feat(images, stage='backbone')[1]
        expected = FreqDecoupledLoss()(
            model.connectors['s1'](student, teacher.shape[-2:]), teacher)
    for term in ('low', 'high'):
        torch.testing.assert_close(losses[f'loss_s1_{term}'],
                                   0.5 * expected[f'loss_{term}'])
    sum(losses.values()).backward()
    assert model.connectors['s0'].proj.weight.grad.abs().sum() > 0


def test_predict_gives_student_predictions_for_accuracy():
    model = build()
    model.eval()
    images, labels, samples = batch(num=6)
    with torch.no_grad():
        predictions = model(images, samples, mode='predict')
        logits = model.student(images, mode='tensor')
    assert len(predictions) == 6
    for sample, row in zip(predictions, logits):
        assert isinstance(sample, DataSample)
        assert int(sample.pred_label) == int(row.argmax())
        torch.testing.assert_close(sample.pred_score, row.softmax(-1))
    metric = Accuracy(topk=(1, ))
    metric.process(None, [s.to_dict() for s in predictions])
    expected = 100 * (logits.argmax(-1) == labels).float().mean().item()
    assert metric.evaluate(len(predictions))['accuracy/top1'] == \
        pytest.approx(expected)


def test_top_level_data_preprocessor_without_type():
    """The dataset configs' top-level ``data_preprocessor`` (no type) gives
    MMPretrain's ClsDataPreprocessor, as for an ImageClassifier."""
    model = build(data_preprocessor=dict(
        num_classes=NUM_CLASSES, mean=[1., 2., 3.], std=[2., 2., 2.]))
    images = [torch.full((3, 4, 4), 5, dtype=torch.uint8)]
    out = model.data_preprocessor(dict(inputs=images, data_samples=None))
    torch.testing.assert_close(out['inputs'][0, :, 0, 0],
                               torch.tensor([2., 1.5, 1.]))


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(allow_random_teacher=False), ValueError,
     'no pretrained weights.*Train the teacher'),
    (dict(teacher_input='rgb'), ValueError, 'must both be set'),
    (dict(student=dict(type='mmpretrain.ResNet_CIFAR', depth=18)), TypeError,
     'model.student must be an MMPretrain ImageClassifier'),
    (dict(feature_loss=dict(type='FreqDecoupledLoss')), ValueError,
     'feature_pairs is empty'),
    (dict(feature_pairs=[dict(name='a', teacher_index=0, student_index=0)]),
     ValueError, 'feature_loss is None'),
    (dict(feature_pairs='a', feature_loss=dict(type='FreqDecoupledLoss')),
     TypeError, "model.feature_pairs must be a list of dicts, got 'a'"),
    (dict(feature_pairs=[dict(name='a', teacher_index=0)],
          feature_loss=dict(type='FreqDecoupledLoss')), KeyError,
     r'model.feature_pairs\[0\]: missing keys'),
    (dict(feature_pairs=[dict(name='a', teacher_index=1.9, student_index=1)],
          feature_loss=dict(type='FreqDecoupledLoss')), TypeError,
     r'model.feature_pairs\[0\]: teacher_index must be an int, got 1.9'),
    (dict(feature_pairs=[dict(name='a', teacher_index=1, student_index=1,
                              weight=float('nan'))],
          feature_loss=dict(type='FreqDecoupledLoss')), ValueError,
     r'model.feature_pairs\[0\]: weight must be a finite number >= 0, '
     'got nan'),
])
def test_config_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        build(**kwargs)


def test_feature_pairs_none_means_logit_distillation_only():
    model = build(dict(type='FiGKDLoss'), feature_pairs=None)
    assert model.feature_pairs == [] and len(model.connectors) == 0


def test_batch_and_routing_mismatch_errors():
    images, _, samples = batch()
    with pytest.raises(ValueError, match='model.teacher_input is None'):
        build()(dict(rgb=images, ir=images), samples, mode='loss')
    paired = build(teacher_input='rgb', student_input='ir')
    with pytest.raises(ValueError, match='batch is a single tensor'):
        paired(images, samples, mode='loss')
    with pytest.raises(KeyError, match="student_input='ir' is not a key"):
        paired(dict(rgb=images, thermal=images), samples, mode='loss')
    with pytest.raises(ValueError, match='needs the data samples'):
        paired(dict(rgb=images, ir=images), None, mode='loss')
