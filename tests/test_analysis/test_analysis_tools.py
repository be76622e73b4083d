"""tools/analysis end to end: synthetic KAIST pairs, random ViT models.

The Stage-1 config configs/freqkd/kaist_vit.py is used as users would use
it, shrunk with --cfg-options: ViT-S teacher and student with random
weights, blocks 1-5, 140 x 112 inputs (an 8 x 10 feature grid). The
library-level tests swap in a 6-block ViT of width 32 (random ViT-S weights
take most of the time here).
"""
import argparse
import copy
import csv
import json
import os.path as osp
import re

import matplotlib.image
import numpy as np
import pytest
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, DefaultScope

from analysis_reference import numpy_masks
from conftest import REPO_ROOT, load_tool
from mmfreqkd.analysis import (BANDS, DIVERGENCE_METRICS, LinearCKA,
                               PairedFeatureExtractor, SpectralDivergence,
                               band_summaries, build_analysis_dataloader,
                               build_analysis_dataset,
                               build_paired_feature_extractor,
                               plot_band_visualization)
from mmfreqkd.datasets.synthetic import make_synthetic_dataset
from mmfreqkd.models.backbones.dinov2_vit import DINOv2ViT
from mmfreqkd.utils import load_config

divergence_tool = load_tool('tools/analysis/spectral_divergence.py')
cka_tool = load_tool('tools/analysis/cka.py')
visualize_tool = load_tool('tools/analysis/visualize_bands.py')

CONFIG = osp.join(REPO_ROOT, 'configs', 'freqkd', 'kaist_vit.py')
GRID = [8, 10]  # 112 / 14, 140 / 14
TINY_ARCH = dict(
    embed_dims=32, num_layers=6, num_heads=2, feedforward_channels=64)
TEACHER_BLOCKS = {
    'block7': 1, 'block15': 2, 'block19': 3, 'block21': 4, 'block23': 5
}  # the release pair names, on the blocks set below


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('kaist')
    make_synthetic_dataset('kaist', str(root), num=12, seed=0, size=(128, 104))
    return str(root) + '/'


@pytest.fixture(scope='module')
def cfg_options(data_root):
    return [
        'model.teacher.arch=small', 'model.student.arch=small',
        'model.teacher.init_cfg=None', 'model.student.init_cfg=None',
        'model.allow_random_teacher=True', 'model.allow_random_student=True',
        'model.teacher.out_indices=[1,2,3,4,5]',
        'model.student.out_indices=[1,2,3,4,5]',
        f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.dataset.pipeline.1.transforms.0.scale=(140,112)'
    ]


@pytest.fixture(scope='module')
def cfg(cfg_options):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parsed = parser.parse_args(['--cfg-options', *cfg_options])
    return load_config(CONFIG, parsed.cfg_options)


@pytest.fixture(scope='module')
def tiny_cfg(cfg):
    tiny = copy.deepcopy(cfg)
    tiny.model.teacher.arch = TINY_ARCH
    tiny.model.student.arch = TINY_ARCH
    return tiny


def common_args(out_dir, cfg_options, *extra):
    return [
        CONFIG, '--num-samples', '3', '--batch-size', '2', '--num-workers',
        '0', '--device', 'cpu', '--out-dir',
        str(out_dir), '--no-progress', *extra, '--cfg-options', *cfg_options
    ]


def check_png(path):
    image = matplotlib.image.imread(str(path))
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def test_spectral_divergence_same_model(tmp_path, cfg_options, capsys):
    divergence_tool.main(
        common_args(tmp_path, cfg_options, '--mode', 'same-model', '--blocks',
                    '2', '4'))
    results = json.loads((tmp_path / 'spectral_divergence.json').read_text())
    settings = results['settings']
    assert settings['mode'] == 'same-model' and settings['model'] == 'teacher'
    assert settings['sides'] == dict(
        reference='teacher(RGB)', compared='teacher(IR)')
    assert settings['num_samples'] == 3 and settings['split'] == 'test'
    assert settings['blocks'] == dict(block2=2, block4=4)
    assert (settings['low_radius'], settings['high_radius']) == (0.25, 0.75)
    assert settings['standardize'] is True
    assert 'each standardised map' in settings['definitions']['bands']
    assert 'L2-normalised' in settings['definitions']['standardisation']
    assert settings['definitions']['metrics'] == \
        SpectralDivergence.METRIC_DEFINITIONS
    assert set(SpectralDivergence.METRIC_DEFINITIONS) == {
        *DIVERGENCE_METRICS, 'high_low_ratio', 'mean_block_ratio'}
    assert list(results['blocks']) == ['block2', 'block4']
    low_mask, high_mask = numpy_masks(*GRID, 0.25, 0.75)
    for block in results['blocks'].values():
        assert block['num_samples'] == 3 and block['grid'] == GRID
        assert block['band_sizes'] == dict(
            full=GRID[0] * GRID[1], low=int(low_mask.sum()),
            high=int(high_mask.sum()))
        for metric in DIVERGENCE_METRICS:
            for band in BANDS:
                assert np.isfinite(block['mean'][metric][band])
                assert block['std'][metric][band] >= 0
            assert block['high_low_ratio'][metric] == pytest.approx(
                block['mean'][metric]['high'] / block['mean'][metric]['low'])
        # the RGB and IR images differ: so do their features
        assert block['mean']['nmse']['full'] > 0
        assert 0 <= block['mean']['cosine_distance']['high'] <= 2
    average = results['average']
    assert set(average) == {'mean', 'high_low_ratio', 'mean_block_ratio'}
    assert average['mean']['mse']['low'] == pytest.approx(
        np.mean([b['mean']['mse']['low']
                 for b in results['blocks'].values()]))

    with open(tmp_path / 'spectral_divergence.csv') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * len(DIVERGENCE_METRICS)
    assert {r['block'] for r in rows} == {'block2', 'block4', 'average'}
    assert float(rows[0]['high']) == pytest.approx(
        results['blocks']['block2']['mean']['mse']['high'])
    check_png(tmp_path / 'spectral_divergence.png')
    out = capsys.readouterr().out
    assert 'block4' in out and 'high/low' in out


@pytest.fixture(scope='module')
def same_model_extractor(tiny_cfg):
    return build_paired_feature_extractor(tiny_cfg, 'same-model', 'teacher')


def test_identical_sides_give_zero_divergence_and_cka_one(
        tiny_cfg, same_model_extractor):
    """Same model, IR image replaced by the RGB image: identical maps."""
    extractor = same_model_extractor
    dataset = build_analysis_dataset(tiny_cfg, 'test')
    samples = [dataset[i] for i in range(2)]
    for sample in samples:
        sample['inputs']['ir'] = sample['inputs']['rgb'].clone()
    maps = extractor(pseudo_collate(samples))
    assert list(maps) == [f'block{n}' for n in (1, 2, 3, 4, 5)]
    divergence, cka = SpectralDivergence(), LinearCKA()
    for name, (reference, compared) in maps.items():
        assert reference.shape == (2, 32, *GRID)
        assert torch.equal(reference, compared)
        divergence.update(name, reference, compared)
        cka.update(name, reference, compared)
    for block in divergence.compute()['blocks'].values():
        for metric in DIVERGENCE_METRICS:
            for band in BANDS:
                assert block['mean'][metric][band] == pytest.approx(
                    0, abs=1e-5)
    for block in cka.compute()['blocks'].values():
        for band in BANDS:
            assert block['cka'][band] == pytest.approx(1, abs=1e-5)


def test_dataloader_takes_the_first_samples(cfg):
    dataset = build_analysis_dataset(cfg, 'test')
    loader = build_analysis_dataloader(dataset, num_samples=2, batch_size=1,
                                       num_workers=0)
    paths = [batch['data_samples'][0].img_path for batch in loader]
    assert paths == [dataset[i]['data_samples'].img_path for i in range(2)]
    everything = build_analysis_dataloader(dataset, num_samples=None,
                                           batch_size=1, num_workers=0)
    assert len(everything) == len(dataset)


@pytest.fixture(scope='module')
def checkpoints(tiny_cfg, tmp_path_factory):
    """A distiller with trained-looking (non-zero) LoRA adapters, saved as
    a Stage-1 checkpoint and as an exported student."""
    with DefaultScope.overwrite_default_scope(tiny_cfg.default_scope):
        distiller = MODELS.build(tiny_cfg.model)
    generator = torch.Generator().manual_seed(0)
    for name, param in distiller.student.named_parameters():
        if 'lora_B' in name:
            param.data = torch.randn(param.shape, generator=generator) * 0.01
    folder = tmp_path_factory.mktemp('checkpoints')
    stage1 = str(folder / 'stage1.pth')
    torch.save(dict(state_dict=distiller.state_dict()), stage1)
    exported = str(folder / 'student.pth')
    torch.save(
        dict(state_dict={
            'backbone.' + k: v
            for k, v in distiller.export_student(lora_scale=0.5).items()
        }), exported)
    return dict(distiller=distiller, stage1=stage1, exported=exported)


def test_stage1_checkpoint_loads_the_adapters(tiny_cfg, checkpoints):
    extractor = build_paired_feature_extractor(
        tiny_cfg, 'teacher-student', checkpoint=checkpoints['stage1'])
    trained = dict(checkpoints['distiller'].student.named_parameters())
    loaded = dict(extractor.distiller.student.named_parameters())
    lora_names = [name for name in trained if 'lora_' in name]
    assert lora_names
    for name in lora_names:
        assert torch.equal(loaded[name], trained[name])
    assert extractor.names == tuple(TEACHER_BLOCKS)
    assert extractor.block_numbers == TEACHER_BLOCKS


def test_exported_student_loads_as_plain_backbone(tiny_cfg, checkpoints):
    extractor = build_paired_feature_extractor(
        tiny_cfg, 'teacher-student', checkpoint=checkpoints['exported'],
        blocks=[2, 5])
    expected = checkpoints['distiller'].export_student(lora_scale=0.5)
    state = extractor.distiller.student.state_dict()
    assert set(state) == set(expected)  # no LoRA adapters left
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
    assert extractor.names == ('block15', 'block23')


def test_unusable_checkpoints_are_named(tiny_cfg, checkpoints, tmp_path):
    garbage = tmp_path / 'garbage.pth'
    garbage.write_text('garbage\n')
    with pytest.raises(ValueError, match=f'--checkpoint {garbage} is not a '
                       'readable checkpoint'):
        build_paired_feature_extractor(tiny_cfg, 'teacher-student',
                                       checkpoint=str(garbage))
    # an export written with --prefix '' (it listed every key before)
    unprefixed = str(tmp_path / 'unprefixed.pth')
    torch.save(dict(state_dict=checkpoints['distiller'].export_student()),
               unprefixed)
    with pytest.raises(ValueError) as exc:
        build_paired_feature_extractor(tiny_cfg, 'teacher-student',
                                       checkpoint=unprefixed)
    message = str(exc.value)
    assert message.startswith(f'--checkpoint {unprefixed} is neither a '
                              'Stage-1 checkpoint')
    assert "its keys start with ['blocks.', 'cls_token.'" in message
    assert len(message) < 600


def test_teacher_student_without_checkpoint_warns(tiny_cfg, checkpoints):
    import io
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('test_teacher_student_warning')
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        build_paired_feature_extractor(tiny_cfg, 'teacher-student')
        warned = console.getvalue()
        build_paired_feature_extractor(tiny_cfg, 'teacher-student',
                                       checkpoint=checkpoints['stage1'])
    finally:
        logger.removeHandler(handler)
    message = ('teacher-student mode without a checkpoint: the student '
               'keeps the weights of model.student.init_cfg')
    assert message in warned
    assert console.getvalue().count(message) == 1  # not with a checkpoint


def test_blocks_beyond_the_model_name_the_option(tiny_cfg):
    with pytest.raises(ValueError, match=r'^--blocks \[99\]: .*out of '
                       'range'):
        build_paired_feature_extractor(tiny_cfg, 'same-model', blocks=[99])


def test_cka_tool_with_exported_student(tmp_path, cfg_options, capsys):
    student = DINOv2ViT('small', num_register_tokens=4)
    checkpoint = str(tmp_path / 'student.pth')
    torch.save(
        dict(state_dict={
            'backbone.' + k: v
            for k, v in student.state_dict().items()
        }), checkpoint)
    cka_tool.main(
        common_args(tmp_path, cfg_options, '--checkpoint', checkpoint,
                    '--blocks', '1', '5', '--low-radius', '0.3',
                    '--high-radius', '0.6', '--no-standardize'))
    results = json.loads((tmp_path / 'cka.json').read_text())
    settings = results['settings']
    assert settings['mode'] == 'teacher-student'  # the default of cka.py
    assert settings['checkpoint'] == checkpoint
    assert settings['sides'] == dict(
        reference='teacher(RGB)', compared='student(IR)')
    assert (settings['low_radius'], settings['high_radius']) == (0.3, 0.6)
    # the written definitions follow --no-standardize
    assert settings['standardize'] is False
    assert 'standardised' not in settings['definitions']['bands']
    assert 'each raw map' in settings['definitions']['bands']
    assert settings['definitions']['standardisation'].startswith('none')
    assert list(settings['definitions']['metrics']) == ['cka']
    assert settings['blocks'] == dict(block7=1, block23=5)
    assert list(results['blocks']) == ['block7', 'block23']
    for block in results['blocks'].values():
        assert block['num_examples'] == 3 * GRID[0] * GRID[1]
        assert block['grid'] == GRID
        low_mask, high_mask = numpy_masks(*GRID, 0.3, 0.6)
        assert (block['band_sizes']['low'], block['band_sizes']['high']) == \
            (int(low_mask.sum()), int(high_mask.sum()))
        for band in BANDS:
            assert 0 <= block['cka'][band] <= 1
    assert set(results['average']['cka']) == set(BANDS)
    with open(tmp_path / 'cka.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['block'] for r in rows] == ['block7', 'block23', 'average']
    check_png(tmp_path / 'cka.png')
    assert 'block23' in capsys.readouterr().out


def test_visualize_bands_tool(tmp_path, cfg, cfg_options, monkeypatch):
    """--block, --index and the default file name reach the drawing: its
    image is sample 1 and its summaries are those of block 3's maps."""
    build_extractor = visualize_tool.build_args_extractor
    built, drawn = [], []

    def recording_build(*args):
        built.append(build_extractor(*args))
        return built[-1]

    def recording_plot(*args, **kwargs):
        drawn.append(args)
        plot_band_visualization(*args, **kwargs)

    monkeypatch.setattr(visualize_tool, 'build_args_extractor',
                        recording_build)
    monkeypatch.setattr(visualize_tool, 'plot_band_visualization',
                        recording_plot)
    visualize_tool.main([
        CONFIG, '--index', '1', '--block', '3', '--device', 'cpu',
        '--out-dir',
        str(tmp_path), '--cfg-options', *cfg_options
    ])
    check_png(tmp_path / 'bands_block3_1.png')
    (extractor, ), ((rgb, ir, summaries, _), ) = built, drawn
    assert extractor.names == ('block3', )
    dataset = build_analysis_dataset(cfg, 'test')
    sample = dataset[1]
    assert torch.equal(rgb, sample['inputs']['rgb'])
    assert torch.equal(ir, sample['inputs']['ir'])
    assert not torch.equal(rgb, dataset[0]['inputs']['rgb'])
    with torch.no_grad():
        reference, compared = extractor(pseudo_collate([sample]))['block3']
    expected = band_summaries(reference[0], compared[0])
    assert summaries['nmse'] == pytest.approx(expected['nmse'])
    for side, bands in expected['maps'].items():
        for band, summary in bands.items():
            np.testing.assert_allclose(
                summaries['maps'][side][band], summary, rtol=1e-5,
                atol=1e-6)


def last_error_line(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line][-1]


def test_errors(tmp_path, cfg_options, same_model_extractor, capsys):
    with pytest.raises(SystemExit) as exc:
        divergence_tool.main(
            common_args(tmp_path, cfg_options, '--checkpoint',
                        str(tmp_path / 'x.pth')))
    assert exc.value.code == 1
    assert 'never uses the student' in last_error_line(capsys)
    # an output folder that cannot exist fails before any model is built
    # (the missing checkpoint would be the first error otherwise)
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    for tool, out_option in ((divergence_tool, '--out-dir'),
                             (cka_tool, '--out-dir'),
                             (visualize_tool, '--out')):
        target = blocker / ('bands.png' if out_option == '--out' else 'dir')
        with pytest.raises(SystemExit):
            tool.main([
                CONFIG, out_option,
                str(target), '--mode', 'teacher-student', '--checkpoint',
                str(tmp_path / 'absent.pth'), '--cfg-options', *cfg_options
            ])
        assert 'a_file' in last_error_line(capsys)
    with pytest.raises(SystemExit):
        divergence_tool.parse_args([CONFIG, '--low-radius', '0.8'])
    assert '--low-radius' in capsys.readouterr().err
    with pytest.raises(ValueError, match=r'blocks \[9\] are not analysed'):
        PairedFeatureExtractor(same_model_extractor.distiller,
                               'teacher-student', blocks=[9])


@pytest.mark.parametrize('device, count, message', [
    ('cuda', 0, 'no CUDA device is available'),
    ('cuda:1', 1, r'only 1 CUDA device\(s\) \(cuda:0 to cuda:0\)'),
    ('gpu', 1, 'Expected one of'),
])
def test_unavailable_device_is_a_usage_error(device, count, message,
                                             monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: count)
    with pytest.raises(SystemExit) as exc:
        cka_tool.parse_args([CONFIG, '--device', device])
    assert exc.value.code == 2
    error = last_error_line(capsys)
    assert f'--device {device}' in error
    assert re.search(message, error)
