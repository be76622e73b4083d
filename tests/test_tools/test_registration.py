"""Everything mmfreqkd registers is visible from the OpenMMLab scopes."""
import subprocess
import sys
import textwrap

import pytest
from mmengine.registry import DefaultScope

import mmfreqkd  # noqa: F401


def mmfreqkd_entries():
    """(registry, name) of every class the package registers, any registry."""
    import mmdet.registry
    import mmengine.registry
    import mmpretrain.registry
    import mmseg.registry
    entries = []
    for module in (mmengine.registry, mmdet.registry, mmseg.registry,
                   mmpretrain.registry):
        for attr in ('MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS',
                     'HOOKS'):
            registry = getattr(module, attr)
            for name, cls in registry.module_dict.items():
                if cls.__module__.startswith('mmfreqkd.'):
                    entries.append((registry, name, cls))
    return entries


def test_package_registers_modules():
    names = {name for _, name, _ in mmfreqkd_entries()}
    # the core pieces of each area of the package
    assert {
        'DINOv2ViT', 'FFTRectSplitter', 'FreqDecoupledLoss', 'FiGKDLoss',
        'FreqKDDistiller', 'LogitDistiller', 'FeatureConnector',
        'PairedDataPreprocessor', 'KAISTDataset', 'FLIRAlignedDataset',
        'MFNetDataset', 'LoadPairedImageFromFile', 'PairedGeometric',
        'PackPairedDetInputs', 'PackPairedSegInputs', 'KAISTMissRateMetric',
        'MFNetIoUMetric', 'LinearProbeHead', 'DistillationLossMetric',
        'PairedObjectCropDataset', 'TeacherFeatureCacheHook',
        'PairedClsVisualizationHook', 'SubfolderDetVisualizationHook',
        'ThermalSegVisualizationHook'
    } <= names


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_root_registered_names_resolve_from_every_scope(scope):
    import mmdet.registry
    import mmpretrain.registry
    import mmseg.registry
    scoped = dict(mmdet=mmdet.registry, mmseg=mmseg.registry,
                  mmpretrain=mmpretrain.registry)[scope]
    attr_of = dict(model='MODELS', dataset='DATASETS',
                   transform='TRANSFORMS', metric='METRICS', hook='HOOKS')
    for registry, name, cls in mmfreqkd_entries():
        if registry.scope == 'mmengine':
            # root entries: visible through the scope's child registry
            target = getattr(scoped, attr_of[registry.name])
        elif registry.scope == scope:
            target = registry
        else:
            continue
        with DefaultScope.overwrite_default_scope(scope):
            assert target.get(name) is cls, (scope, registry.name, name)
            if registry.scope == 'mmengine':
                # and with the package's own prefix
                assert target.get(f'mmfreqkd.{name}') is cls, (scope, name)


def test_prefixed_names_need_no_custom_imports():
    """``mmfreqkd.X`` in a config of another scope imports the package."""
    script = textwrap.dedent("""
        import sys
        from mmengine.registry import DefaultScope
        from mmseg.registry import METRICS, MODELS, TRANSFORMS
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        assert 'mmfreqkd' not in sys.modules
        with DefaultScope.overwrite_default_scope('mmseg'):
            connector = MODELS.build(dict(type='mmfreqkd.FeatureConnector',
                                          in_channels=8, out_channels=16))
            loader = TRANSFORMS.build(
                dict(type='mmfreqkd.LoadPairedImageFromFile'))
            metric = METRICS.build(
                dict(type='mmfreqkd.DistillationLossMetric'))
        print(type(connector).__module__, type(loader).__name__,
              type(metric).__name__)
    """)
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        'mmfreqkd.models.connectors.feature_connector',
        'LoadPairedImageFromFile', 'DistillationLossMetric'
    ]


def test_custom_imports_in_a_fresh_interpreter(tmp_path):
    """An mmdet config with custom_imports builds our modules, without any
    import of mmfreqkd by the calling code."""
    config = tmp_path / 'user_config.py'
    config.write_text(textwrap.dedent("""
        custom_imports = dict(imports=['mmfreqkd'], allow_failed_imports=False)
        default_scope = 'mmdet'
        connector = dict(type='FeatureConnector', in_channels=8,
                         out_channels=16)
        metric = dict(type='DistillationLossMetric')
    """))
    script = textwrap.dedent(f"""
        import torch
        from mmengine.config import Config
        from mmdet.registry import METRICS, MODELS
        from mmdet.utils import register_all_modules
        cfg = Config.fromfile({str(config)!r})
        register_all_modules(init_default_scope=True)
        connector = MODELS.build(cfg.connector)
        out = connector(torch.zeros(1, 8, 5, 5), (3, 4))
        assert out.shape == (1, 16, 3, 4), out.shape
        assert type(METRICS.build(cfg.metric)).__name__ == \\
            'DistillationLossMetric'
        print('built')
    """)
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'built' in result.stdout


def test_mmcv_compiled_ops_run_on_cpu():
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    # box 1 overlaps box 0 with IoU 81/100 and is suppressed
    assert keep.tolist() == [0, 2]
    torch.testing.assert_close(dets[:, 4], torch.tensor([0.9, 0.7]))
