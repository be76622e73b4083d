"""Utilities shared by the command-line tools."""
from .cli import exit_with_one_line_error
from .config import build_runner, load_config, load_run_config

__all__ = [
    'build_runner', 'exit_with_one_line_error', 'load_config',
    'load_run_config'
]
