"""Train any mmfreqkd config: Stage-1 distillation, FiGKD, or a Stage-2 task.

The command line is the one of MMDetection / MMSegmentation, so the usual
habits carry over::

    python tools/train.py configs/freqkd/kaist_vit.py
    python tools/train.py CONFIG --work-dir DIR --resume [CKPT] --amp \
        --cfg-options train_cfg.max_epochs=1
    bash tools/dist_train.sh CONFIG 4      # 4 GPUs through torchrun
"""
import argparse

import torch

import mmfreqkd  # noqa: F401  (registers every module, checkpoint-load fix)
from mmfreqkd.utils import (add_runner_arguments, build_runner,
                            exit_with_one_line_error, load_run_config,
                            parse_runner_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a model from an mmfreqkd (or any OpenMMLab) '
        'config')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision (needs a GPU): bfloat16 '
        'where the GPU supports it, else float16; optim_wrapper.dtype in the '
        'config takes precedence')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual over the base batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in the '
        'work dir when no path is given')
    add_runner_arguments(parser)
    return parse_runner_args(parser, argv)


def amp_dtype() -> str:
    """bfloat16 where the GPU supports it (Ampere and newer), else float16.

    bfloat16 keeps the float32 exponent range, so activations cannot
    overflow and the dynamic loss scale never has to back off.
    """
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return 'bfloat16'
    return 'float16'


def enable_amp(cfg):
    """Switch the optimizer wrapper to mmengine's AmpOptimWrapper, in
    bfloat16 when supported (see :func:`amp_dtype`) unless the config sets
    ``optim_wrapper.dtype``."""
    optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_type == 'AmpOptimWrapper':
        return
    if optim_type != 'OptimWrapper':
        raise ValueError(
            f'--amp only applies to optim_wrapper.type=OptimWrapper, the '
            f'config uses {optim_type!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    cfg.optim_wrapper.setdefault('dtype', amp_dtype())


def build_runner_from_args(args):
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir,
                          args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError('--auto-scale-lr needs `auto_scale_lr = '
                           'dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return build_runner(cfg)


@exit_with_one_line_error
def main(argv=None):
    args = parse_args(argv)
    runner = build_runner_from_args(args)
    runner.train()


if __name__ == '__main__':
    main()
