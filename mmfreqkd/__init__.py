"""mmfreqkd: frequency-decoupled RGB-to-infrared knowledge distillation.

Importing the package registers all of its modules with the mmengine root
registries (models, losses, generic transforms and metrics) and with the
MMDetection / MMSegmentation / MMPretrain registries (datasets, task
transforms and metrics), so ``custom_imports = dict(imports=['mmfreqkd'])``
is all a config of another OpenMMLab project needs. The ``mmfreqkd`` scope
(:mod:`.registry`) also gives the root-registered pieces a prefixed name,
``type='mmfreqkd.DINOv2ViT'``.
"""
from . import compat  # noqa: F401  (checkpoint loading under torch >= 2.6)
from . import datasets, evaluation, models  # noqa: F401  (registration)
from . import engine  # noqa: F401  (hooks)
from . import registry  # noqa: F401  (the mmfreqkd. prefix)
from .version import __version__

__all__ = ['__version__']
