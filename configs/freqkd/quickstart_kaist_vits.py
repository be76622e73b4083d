# CPU quick start: the main FreqKD job shrunk to minutes. ViT-S/14 teacher and
# student with random weights (explicit opt-ins, logged), LoRA r8, three
# blocks, synthetic KAIST data at 320x256 written by
#   python tools/dataset_converters/make_synthetic_rgbt.py --layout kaist \
#       --out data/kaist_synthetic --num 48 --seed 0 --size 320 256
# Everything else (loss, band split, data pipeline, runtime) is kaist_vit.py.
_base_ = ['./kaist_vit.py']

data_root = 'data/kaist_synthetic/'
distill_blocks = (3, 7, 11)
vit_small = dict(
    arch='small',
    num_register_tokens=0,
    out_indices=distill_blocks,
    # Random weights with DINOv2's layer-scale init (1e-5) leave the blocks
    # nearly silent and pass almost no gradient; trained models have learned
    # layer scales, so random ones start at full strength.
    layer_scale_init_value=1.0,
    init_cfg=None)

model = dict(
    teacher=vit_small,
    student=vit_small,
    student_lora=dict(rank=8, alpha=8, dropout=0.0),
    distill_pairs=[
        dict(name=f'block{block}', teacher_index=i, student_index=i,
             weight=1.0) for i, block in enumerate(distill_blocks)
    ],
    allow_random_teacher=True,
    allow_random_student=True)

geometry = [
    dict(type='Resize', scale=(320, 256), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='LoadPairedImageFromFile', ir_channels=3),
            dict(type='PairedGeometric', transforms=geometry),
            dict(type='PackPairedDetInputs'),
        ]))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='LoadPairedImageFromFile', ir_channels=3),
            dict(type='PairedGeometric', transforms=geometry[:1]),
            dict(type='PackPairedDetInputs'),
        ]))
test_dataloader = val_dataloader

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', eta_min=1e-6, begin=0, end=max_epochs,
         T_max=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=3))
# The random base weights are not in the checkpoints (they hold the LoRA
# adapters only): a fixed seed makes every rebuild (resume, test, export,
# analysis) draw the same ones as training.
randomness = dict(seed=0)
log_processor = dict(window_size=3)
