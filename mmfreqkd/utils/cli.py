"""Shared pieces of the command-line tools: runner arguments, errors."""
import argparse
import functools
import os
import sys
import traceback
from typing import Optional

from mmengine.config import DictAction


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank``.

    The arguments every OpenMMLab train / test script takes; parse with
    :func:`parse_runner_args`.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_dataloader.batch_size=2 '
        'model.teacher.arch=small; a new key is an error unless it is a '
        'named argument of the class its dict\'s `type` builds '
        '(optim_wrapper.clip_grad.max_norm=1) or fills in an entry that is '
        'None (init_cfg.type=... init_cfg.checkpoint=...)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[list] = None) -> argparse.Namespace:
    """Parse ``argv``; export ``--local-rank`` as ``LOCAL_RANK`` unless the
    launcher has set it already (``torch.distributed.launch`` passes only
    the argument)."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def exit_with_one_line_error(main):
    """Run ``main`` and turn an uncaught exception into a one-line message.

    The full traceback is printed first (it is what a developer needs), then
    a last line ``error: <type>: <message>`` names the problem for a user, and
    the process exits with status 1.
    """

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, then exit 1
            traceback.print_exc()
            message = str(exc).strip().splitlines()
            summary = message[0] if message else ''
            print(f'error: {type(exc).__name__}: {summary}', file=sys.stderr)
            sys.exit(1)

    return wrapper
