"""The ``mmfreqkd`` registry scope: ``type='mmfreqkd.DINOv2ViT'`` in a config
of any scope, as OpenMMLab configs write ``mmdet.ResNet``.

mmfreqkd registers its generic pieces (models, losses, band splitters,
generic transforms, the distillation-loss metric, hooks, weight
initialisers) in mmengine's root registries, where every scope finds them
without a prefix. The registries here are children of those roots with the
scope ``mmfreqkd`` and no entries of their own: a prefixed lookup falls
through to the root, after importing the package (``locations``), so a
prefixed name works even without ``custom_imports``. Task pieces live in the
task's registries and take its prefix from another scope:
``mmdet.KAISTDataset``, ``mmseg.MFNetDataset``,
``mmpretrain.PairedObjectCropDataset``.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmfreqkd',
    locations=['mmfreqkd.models'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope='mmfreqkd',
    locations=['mmfreqkd.datasets.transforms'])
METRICS = Registry(
    'metric',
    parent=MMENGINE_METRICS,
    scope='mmfreqkd',
    locations=['mmfreqkd.evaluation'])
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='mmfreqkd',
    locations=['mmfreqkd.engine'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    scope='mmfreqkd',
    locations=['mmfreqkd.models'])
