# Step 1 of the paired crop task: train the RGB teacher classifier on the RGB
# crops of FLIR aligned (plain MMPretrain classifier, CE only). Its last
# checkpoint, work_dirs/flir_crops_rgb_teacher/epoch_30.pth, is the teacher
# of flir_crops_freqkd_figkd.py.
_base_ = [
    '../_base_/models/flir_crops_resnets.py',
    '../_base_/datasets/flir_crops_paired_cls.py',
    '../_base_/schedules/flir_crops_sgd_30e.py',
    '../_base_/figkd_runtime.py',
]

# The pair is loaded and cropped as for distillation, then only the RGB crop
# is packed (PackInputs reads it from img_rgb); OpenCV decodes BGR.
model = dict(
    _base_.rgb_teacher,
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=_base_.num_classes,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

rgb_only = dict(type='PackInputs', input_key='img_rgb')
train_dataloader = dict(
    dataset=dict(pipeline=_base_.train_pipeline[:-1] + [rgb_only]))
val_dataloader = dict(
    dataset=dict(pipeline=_base_.test_pipeline[:-1] + [rgb_only]))
test_dataloader = val_dataloader
