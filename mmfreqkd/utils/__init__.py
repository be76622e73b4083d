"""Utilities shared by the command-line tools."""
from .cli import exit_with_one_line_error
from .config import load_config

__all__ = ['exit_with_one_line_error', 'load_config']
