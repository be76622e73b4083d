"""Config loading, checked checkpoint loading and error reporting, shared
by the command-line tools and the models."""
from .checkpoint import (CheckpointMismatchError, checked_loading,
                         key_problems, mismatch_message, shape_mismatches,
                         summarize_keys)
from .cli import (add_runner_arguments, exit_with_one_line_error,
                  parse_runner_args)
from .config import (build_runner, check_stage1_model, load_config,
                     load_run_config, seed_like_runner)
from .constructor_arguments import constructor_arguments, registered_targets
from .init_log import without_parameter_init_report

__all__ = [
    'CheckpointMismatchError', 'add_runner_arguments', 'build_runner',
    'check_stage1_model', 'checked_loading', 'constructor_arguments',
    'exit_with_one_line_error', 'key_problems', 'load_config',
    'load_run_config',
    'mismatch_message', 'parse_runner_args', 'registered_targets',
    'seed_like_runner', 'shape_mismatches', 'summarize_keys',
    'without_parameter_init_report'
]
