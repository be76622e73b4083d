# Runtime shared by every mmfreqkd config. `custom_imports` lives here only:
# mmengine refuses a key defined by two bases of one config.
custom_imports = dict(imports=['mmfreqkd'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

# mmengine's defaults, spelt out so that `--cfg-options randomness.seed=0`
# (the OpenMMLab 3.x way to seed a run) names an existing key
randomness = dict(seed=None, deterministic=False)

vis_backends = [dict(type='LocalVisBackend')]
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
