"""Utilities shared by the command-line tools."""
from .cli import (add_runner_arguments, exit_with_one_line_error,
                  parse_runner_args)
from .config import (build_runner, check_stage1_model, load_config,
                     load_run_config, seed_like_runner)

__all__ = [
    'add_runner_arguments', 'build_runner', 'check_stage1_model',
    'exit_with_one_line_error', 'load_config', 'load_run_config',
    'parse_runner_args', 'seed_like_runner'
]
