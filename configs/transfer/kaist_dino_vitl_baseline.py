# Stage 2 on KAIST, baseline: DINO on five levels of DINOv2 ViT-L/14-reg4
# initialised from the plain DINOv2 release, fine-tuned on infrared only
# (one class, person). Paper: the FreqKD-initialised model
# (kaist_dino_vitl_freqkd.py) reaches 64.1 AP@0.5, 2.4 above this baseline.
#
# Weights: the official release file dinov2_vitl14_reg4_pretrain.pth in
# checkpoints/ (or a timm / Hugging Face file, see model.backbone.init_cfg).
# Metrics: COCO bbox (`coco/bbox_mAP_50` is the paper's AP@0.5) and the
# KAIST log-average miss rate (`kaist/MR_all`, `_day`, `_night`, percent).
_base_ = [
    '../_base_/models/dino_5level_vitl.py',
    '../_base_/datasets/kaist_ir_detection.py',
    '../_base_/schedules/dino_adamw_12e.py',
    '../_base_/det_runtime.py',
]
