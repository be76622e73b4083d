"""tools/train.py and tools/test.py: help, and one-line errors on bad input."""
import io
import logging
import os.path as osp
import subprocess

import pytest

from conftest import REPO_ROOT, load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')

TINY_CONFIG = """
default_scope = 'mmengine'
model = dict(type='{model}')
work_dir = '{work_dir}'
train_dataloader = dict(
    dataset=dict(type='NoSuchDataset'), sampler=dict(type='DefaultSampler'),
    batch_size=1)
train_cfg = dict(by_epoch=False, max_iters=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
"""


def write_config(tmp_path, model='NoSuchModel'):
    path = tmp_path / 'tiny.py'
    path.write_text(
        TINY_CONFIG.format(model=model, work_dir=tmp_path / 'work'))
    return str(path)


def last_error_line(capsys):
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    return lines[-1]


@pytest.mark.parametrize('tool', [train_tool, test_tool])
def test_help(tool, capsys):
    with pytest.raises(SystemExit) as exc:
        tool.parse_args(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ('--work-dir', '--cfg-options', '--launcher'):
        assert option in out
    if tool is train_tool:
        assert '--amp' in out and '--resume' in out
    else:
        assert '--show-dir' in out and '--out' in out


def test_missing_config(tmp_path, capsys):
    missing = str(tmp_path / 'absent.py')
    with pytest.raises(SystemExit) as exc:
        train_tool.main([missing])
    assert exc.value.code == 1
    line = last_error_line(capsys)
    assert line.startswith('error: FileNotFoundError') and missing in line


def test_unknown_type(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        train_tool.main([write_config(tmp_path)])
    assert exc.value.code == 1
    line = last_error_line(capsys)
    assert line.startswith('error: KeyError') and 'NoSuchModel' in line


def test_unknown_cfg_options_key(tmp_path, capsys):
    config = write_config(tmp_path)
    with pytest.raises(SystemExit) as exc:
        train_tool.main([config, '--cfg-options', 'train_cfg.max_iter=5'])
    assert exc.value.code == 1
    line = last_error_line(capsys)
    assert 'train_cfg.max_iter' in line and 'does not exist' in line


OVERRIDE_CONFIG = """
model = dict(type='Model', backbone=dict(type='Backbone', init_cfg=None),
             flag=False)
randomness = dict(seed=None)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
pipeline = [dict(type='Load', init_cfg=None), dict(type='Resize')]
"""


def test_new_constructor_arguments_and_unset_entries_are_accepted(tmp_path):
    from mmfreqkd.utils import load_config
    path = tmp_path / 'override.py'
    path.write_text(OVERRIDE_CONFIG)
    cfg = load_config(str(path), {
        # new arguments of dicts with a type
        'optim_wrapper.clip_grad.max_norm': 1,
        'model.allow_random_teacher': True,
        'pipeline.1.scale': 3,
        # an entry that is None, filled in with its type
        'model.backbone.init_cfg.type': 'Pretrained',
        'model.backbone.init_cfg.checkpoint': 'x.pth',
        'pipeline.0.init_cfg.type': 'Constant',
    })
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1)
    assert cfg.model.allow_random_teacher is True
    assert cfg.pipeline[1] == dict(type='Resize', scale=3)
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='x.pth')
    assert cfg.pipeline[0].init_cfg == dict(type='Constant')
    assert cfg.model.flag is False


@pytest.mark.parametrize('options, message', [
    # a typo in a dict read with .get: it would be ignored
    ({'randomnes.seed': 0}, "'randomnes' is not found under the top level, "
     'which has no `type`'),
    ({'randomness.sed': 0}, "'sed' is not found under randomness"),
    ({'pipeline.2.scale': 3}, 'pipeline has 2 items'),
    ({'model.flag.x': 1}, 'model.flag is False, not a dict'),
    # a misspelt argument of a constructor call
    ({'optim_wrapper.clip_grd.max_norm': 1},
     "OptimWrapper (optim_wrapper) takes no argument 'clip_grd' (did you "
     "mean 'clip_grad'?). Write a config"),
    # an unset entry without its type would build nothing
    ({'model.backbone.init_cfg.checkpoint': 'x.pth'},
     'model.backbone.init_cfg is None in the config; give its type too, '
     'e.g. model.backbone.init_cfg.type=... '
     'model.backbone.init_cfg.checkpoint=...'),
])
def test_overrides_that_would_be_ignored_are_refused(tmp_path, options,
                                                     message):
    from mmfreqkd.utils import load_config
    path = tmp_path / 'override.py'
    path.write_text(OVERRIDE_CONFIG)
    with pytest.raises(KeyError) as exc:
        load_config(str(path), options)
    assert message in str(exc.value)


def test_a_typo_a_hook_would_only_meet_at_run_time_is_refused():
    from mmfreqkd.utils import load_config
    config = osp.join(REPO_ROOT, 'configs', 'freqkd',
                      'quickstart_kaist_vits.py')
    with pytest.raises(KeyError) as exc:
        load_config(config, {'default_hooks.checkpoint.max_keep_ckpt': 1})
    assert ("CheckpointHook (default_hooks.checkpoint) takes no argument "
            "'max_keep_ckpt' (did you mean 'max_keep_ckpts'?); "
            'CheckpointHook passes other keyword arguments on at run time'
            ) in str(exc.value)
    cfg = load_config(config, {'default_hooks.checkpoint.max_keep_ckpts': 1,
                               'model.teacher.drop_path_rate': 0.1})
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    assert cfg.model.teacher.drop_path_rate == 0.1


def test_runner_arguments_are_accepted_and_file_variables_warned(
        tmp_path):
    from mmengine.logging import MMLogger

    from mmfreqkd.utils import load_config
    path = tmp_path / 'override.py'
    path.write_text(OVERRIDE_CONFIG + "data_root = 'data/x/'\n")
    logger = MMLogger.get_instance('test_file_variables')
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    logger.addHandler(handler)
    try:
        cfg = load_config(str(path), {'load_from': 'a.pth', 'compile': True,
                                      'data_root': 'data/y/'})
    finally:
        logger.removeHandler(handler)
    assert (cfg.load_from, cfg.compile) == ('a.pth', True)
    messages = console.getvalue().splitlines()
    assert len(messages) == 1
    assert ("--cfg-options data_root: 'data_root' is a variable of the "
            'config file') in messages[0]
    assert 'changes none of them' in messages[0]


def test_existing_cfg_options_key_is_applied(tmp_path):
    from mmfreqkd.utils import load_config
    cfg = load_config(
        write_config(tmp_path), {
            'train_cfg.max_iters': 7,
            'train_dataloader.batch_size': 3
        })
    assert cfg.train_cfg.max_iters == 7
    assert cfg.train_dataloader.batch_size == 3


def test_test_tool_missing_checkpoint(tmp_path, capsys):
    absent = str(tmp_path / 'absent.pth')
    with pytest.raises(SystemExit) as exc:
        test_tool.main([write_config(tmp_path), absent])
    assert exc.value.code == 1
    assert absent in last_error_line(capsys)


@pytest.mark.parametrize('url', ['https://example.com/x.pth',
                                 's3://bucket/x.pth'])
def test_test_tool_leaves_checkpoint_urls_to_mmengine(tmp_path, capsys, url):
    """A URL is not a missing file: the tool goes on to build the runner
    (and fails on the tiny config's unknown model, not on the URL)."""
    with pytest.raises(SystemExit):
        test_tool.main([write_config(tmp_path), url])
    line = last_error_line(capsys)
    assert line.startswith('error: KeyError') and 'NoSuchModel' in line


def test_tuple_items_cannot_be_set_one_by_one():
    from mmfreqkd.utils import load_config
    config = osp.join(REPO_ROOT, 'configs', 'freqkd',
                      'quickstart_kaist_vits.py')
    with pytest.raises(KeyError) as exc:
        load_config(config, {'model.teacher.out_indices.0': 5})
    message = str(exc.value)
    assert 'model.teacher.out_indices is a tuple' in message
    assert 'model.teacher.out_indices="(3, 7, 11)"' in message


def test_syntax_error_in_a_base_config_names_the_file(tmp_path, capsys):
    (tmp_path / 'broken_base.py').write_text('x = 1\ny = dict(\n')
    (tmp_path / 'child.py').write_text("_base_ = ['./broken_base.py']\n")
    with pytest.raises(SystemExit):
        train_tool.main([str(tmp_path / 'child.py')])
    line = last_error_line(capsys)
    assert line.startswith('error: SyntaxError')
    assert 'broken_base.py, line 2' in line


def test_export_needs_a_stage1_config(tmp_path, capsys):
    export_tool = load_tool('tools/model_converters/export_student.py')
    config = osp.join(REPO_ROOT, 'configs', 'transfer',
                      'kaist_faster_rcnn_r50_fpn_baseline.py')
    with pytest.raises(SystemExit) as exc:
        export_tool.main([config, str(tmp_path / 'x.pth'),
                          str(tmp_path / 'out.pth')])
    assert exc.value.code == 1
    assert "no ['teacher', 'student'] entry" in last_error_line(capsys)


def test_export_refuses_to_double_a_whole_models_prefix(tmp_path, capsys):
    """A FiGKD student is an ImageClassifier, whose keys already start with
    backbone.: the default prefix wrote backbone.backbone.conv1.weight."""
    import torch
    from mmengine.registry import MODELS, DefaultScope

    from mmfreqkd.utils import load_config
    export_tool = load_tool('tools/model_converters/export_student.py')
    config = osp.join(REPO_ROOT, 'configs', 'figkd', 'cifar100_figkd.py')
    cfg = load_config(config, {'model.teacher.init_cfg': None,
                               'model.allow_random_teacher': True})
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'figkd.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'student.pth'
    with pytest.raises(SystemExit):
        export_tool.main([config, checkpoint, str(out)])
    assert ("the student (ImageClassifier) is a whole model whose keys "
            "already start with 'backbone.', so the export would read "
            "'backbone.backbone.") in last_error_line(capsys)
    assert not out.exists()
    export_tool.main([config, checkpoint, str(out), '--prefix', ''])
    saved = torch.load(out)['state_dict']
    assert saved.keys() == model.student.state_dict().keys()


@pytest.mark.parametrize('option, message', [
    # NaN / inf wrote NaN / inf weights, a dotless prefix 'backbonecls_token'
    (['--lora-scale', 'nan'], '--lora-scale must be a finite number >= 0, '
     'got nan'),
    (['--lora-scale', 'inf'], '--lora-scale must be a finite number >= 0'),
    (['--lora-scale', '-0.5'], '--lora-scale must be a finite number >= 0'),
    (['--prefix', 'backbone'], "--prefix 'backbone' does not end with a dot"),
])
def test_export_refuses_a_bad_scale_or_prefix(option, message, capsys):
    export_tool = load_tool('tools/model_converters/export_student.py')
    with pytest.raises(SystemExit) as exc:
        export_tool.parse_args(['cfg.py', 'in.pth', 'out.pth'] + option)
    assert exc.value.code == 2
    assert message in last_error_line(capsys)
    assert export_tool.parse_args(['cfg.py', 'in.pth', 'out.pth', '--prefix',
                                   '']).prefix == ''


@pytest.mark.parametrize('script, args', [('dist_train.sh', ['cfg.py']),
                                          ('dist_test.sh', ['cfg.py', 'x'])])
def test_dist_scripts_print_usage_when_arguments_are_missing(script, args):
    result = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', script), *args],
        capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith(f'usage: bash tools/{script} CONFIG')
