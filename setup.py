"""Packaging for mmfreqkd.

``install_requires`` names everything the package imports, the OpenMMLab
stack included. ``tools/install.sh`` installs that stack in a fixed order
(building mmcv's ops from source, for which this torch has no wheel) and then
this package with ``--no-deps``; a plain ``pip install .`` would ask pip to
build mmcv itself.
"""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'mmfreqkd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


setup(
    name='mmfreqkd',
    version=read_version(),
    description='Frequency-decoupled cross-modal (RGB to infrared) knowledge '
    'distillation for OpenMMLab',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(tests=read_requirements('tests.txt')),
    license='Apache License 2.0',
    zip_safe=False,
)
