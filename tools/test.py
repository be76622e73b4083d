"""Test (evaluate) a checkpoint with any mmfreqkd config.

The command line is the one of MMDetection / MMSegmentation::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
        [--show-dir vis/] [--cfg-options ...] [--launcher pytorch]
    bash tools/dist_test.sh CONFIG CHECKPOINT 4
"""
import argparse
import os.path as osp

from mmengine.evaluator import DumpResults
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

import mmfreqkd  # noqa: F401  (registers every module, checkpoint-load fix)
from mmfreqkd.models.distillers import BaseDistiller
from mmfreqkd.utils import (add_runner_arguments, build_runner,
                            checked_loading, constructor_arguments,
                            exit_with_one_line_error, load_run_config,
                            parse_runner_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test a checkpoint with an mmfreqkd (or any OpenMMLab) '
        'config')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--out', help='dump the raw predictions to this pickle file')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions')
    parser.add_argument(
        '--show-dir',
        help='save images with the predictions drawn into this directory, '
        'for tasks with a visualization hook (MMDetection and MMPretrain: '
        'inside the run folder of the work dir; MMSegmentation: relative to '
        'the current directory, as with its own test.py)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds per shown image')
    add_runner_arguments(parser)
    return parse_runner_args(parser, argv)


def enable_visualization(cfg, args):
    """Turn on the config's visualization hook for ``--show``/``--show-dir``.

    MMDetection's and MMSegmentation's hooks are switched on by ``draw``,
    MMPretrain's by ``enable``. MMDetection's hook takes the output folder as
    ``test_out_dir``, MMPretrain's as ``out_dir``; MMSegmentation's hook has
    neither and saves through the visualizer's ``save_dir``.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise KeyError('--show/--show-dir need a `visualization` entry in '
                       'default_hooks; this config has none')
    hook_type = hook['type']
    if isinstance(hook_type, str) and '.' not in hook_type \
            and cfg.get('default_scope'):
        # the downstream registries fill in when the Runner starts: ask
        # the config's scope by name
        hook_type = f'{cfg.default_scope}.{hook_type}'
    hook_cls = HOOKS.get(hook_type) if isinstance(hook_type, str) \
        else hook_type
    if hook_cls is None:
        raise KeyError(f'default_hooks.visualization: no hook {hook_type!r} '
                       'in the registries')
    params, _ = constructor_arguments(hook_cls)
    hook['enable' if 'enable' in params else 'draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        if 'test_out_dir' in params:
            hook['test_out_dir'] = args.show_dir
        elif 'out_dir' in params:
            hook['out_dir'] = args.show_dir
        else:
            cfg.visualizer['save_dir'] = args.show_dir


def build_runner_from_args(args):
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir,
                          args.launcher)
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        # URLs (http, s3, openmmlab, ...) are mmengine's to resolve
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    return runner


def run_test(runner) -> dict:
    """Test the runner's model and return the metrics.

    ``Runner.test`` loads the checkpoint (``load_from``) into the model as
    built, without ``init_weights``, and non-strictly: mmengine only warns
    about keys that do not match. A distiller's checkpoint leaves out what
    training never changes (the frozen teacher, the base weights under
    LoRA): its load hooks initialise it from the ``init_cfg`` first, as in
    training, and refuse keys that do not fit. Any other model must match
    the checkpoint exactly: the Runner's one load of
    it runs under :func:`~mmfreqkd.utils.checked_loading`, so a missing or
    unexpected key, or a shape that differs, raises a
    :class:`~mmfreqkd.utils.CheckpointMismatchError` naming the file and
    the keys instead of evaluating random weights.
    """
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    checkpoint = runner.cfg.get('load_from')
    if isinstance(model, BaseDistiller) or checkpoint is None:
        return runner.test()
    with checked_loading(model, checkpoint):
        return runner.test()


@exit_with_one_line_error
def main(argv=None):
    args = parse_args(argv)
    return run_test(build_runner_from_args(args))


if __name__ == '__main__':
    main()
