# Stage 2 on FLIR aligned, baseline: the KAIST DINO ViT-L/14-reg4 detector
# (five ViT levels, 900 queries, AdamW 5e-5, 12 epochs) on the thermal images
# with three classes: person, car, bicycle. The paper's metric is AP@0.5 over
# the three classes (`coco/bbox_mAP_50`); the FreqKD-initialised model
# (flir_dino_vitl_freqkd.py) gains 2.1 over this baseline.
_base_ = [
    '../_base_/models/dino_5level_vitl.py',
    '../_base_/datasets/flir_ir_detection.py',
    '../_base_/schedules/dino_adamw_12e.py',
    '../_base_/det_runtime.py',
]

model = dict(bbox_head=dict(num_classes=3))
