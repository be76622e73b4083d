# FLIR ADAS aligned RGB-thermal pairs for FreqKD Stage 1 (no annotations
# needed). ``img`` is the thermal preview image (student input), ``img_rgb``
# the aligned RGB image (teacher input); geometry is shared. The pipelines
# and loader settings are those of the KAIST pairs; only the files differ.
_base_ = './kaist_paired.py'

dataset_type = 'FLIRAlignedDataset'
data_root = 'data/flir_aligned/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_train.json',
        data_prefix=dict(img='JPEGImages/')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/align_validation.json',
        data_prefix=dict(img='JPEGImages/')))
test_dataloader = val_dataloader
