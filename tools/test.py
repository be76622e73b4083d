"""Test (evaluate) a checkpoint with any mmfreqkd config.

The command line is the one of MMDetection / MMSegmentation::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
        [--show-dir vis/] [--cfg-options ...] [--launcher pytorch]
    bash tools/dist_test.sh CONFIG CHECKPOINT 4
"""
import argparse
import inspect
import os.path as osp

from mmengine.evaluator import DumpResults
from mmengine.registry import HOOKS, DefaultScope

import mmfreqkd  # noqa: F401  (registers every module, checkpoint-load fix)
from mmfreqkd.utils import (add_runner_arguments, build_runner,
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
        help='save images with the predictions drawn into this directory '
        '(inside the work dir), for tasks with a visualization hook')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds per shown image')
    add_runner_arguments(parser)
    return parse_runner_args(parser, argv)


def enable_visualization(cfg, args):
    """Turn on the config's visualization hook for ``--show``/``--show-dir``.

    MMDetection's hook takes the output folder as ``test_out_dir``,
    MMPretrain's as ``out_dir``; MMSegmentation's hook has neither and saves
    through the visualizer's ``save_dir``.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise KeyError('--show/--show-dir need a `visualization` entry in '
                       'default_hooks; this config has none')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            hook_cls = HOOKS.get(hook['type'])
        params = inspect.signature(hook_cls).parameters
        if 'test_out_dir' in params:
            hook['test_out_dir'] = args.show_dir
        elif 'out_dir' in params:
            hook['out_dir'] = args.show_dir
        else:
            cfg.visualizer['save_dir'] = args.show_dir


def build_runner_from_args(args):
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir,
                          args.launcher)
    if not osp.isfile(args.checkpoint):
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


@exit_with_one_line_error
def main(argv=None):
    args = parse_args(argv)
    runner = build_runner_from_args(args)
    runner.test()


if __name__ == '__main__':
    main()
