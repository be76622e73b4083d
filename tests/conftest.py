"""Shared pytest fixtures."""
import importlib.util
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root():
    """Absolute path of the repository checkout."""
    return REPO_ROOT


def load_tool(relative_path):
    """Import a script under ``tools/`` as a module (tools is no package)."""
    path = osp.join(REPO_ROOT, relative_path)
    name = 'tool_' + relative_path.replace('/', '_').replace('.py', '')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
