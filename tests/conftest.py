"""Shared pytest fixtures."""
import importlib.util
import os.path as osp

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root():
    """Absolute path of the repository checkout."""
    return REPO_ROOT


@pytest.fixture(scope='module')
def single_thread():
    """One intra-op thread for a module of tiny tensors or models: waking a
    second thread costs more than it saves, a lot more on a busy machine.
    Use with ``pytestmark = pytest.mark.usefixtures('single_thread')``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_tool(relative_path):
    """Import a script under ``tools/`` as a module (tools is no package)."""
    path = osp.join(REPO_ROOT, relative_path)
    name = 'tool_' + relative_path.replace('/', '_').replace('.py', '')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
