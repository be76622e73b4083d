# FreqKD Stage 1 on KAIST (the paper's main setting): DINOv2 ViT-L/14-reg4
# teacher on RGB, the same model with LoRA r64 as student on IR, blocks 7, 15,
# 19, 21, 23, FFT rectangle cutoff 0.5, 12 epochs, 640x512, 4 GPUs x 8.
#
# Teacher and student weights: put the official DINOv2 release file at
# checkpoints/dinov2_vitl14_reg4_pretrain.pth, or point
# model.teacher.init_cfg.checkpoint / model.student.init_cfg.checkpoint at a
# timm or Hugging Face file.
_base_ = [
    '../_base_/models/freqkd_vit_l.py',
    '../_base_/datasets/kaist_paired.py',
    '../_base_/schedules/freqkd_12e.py',
    '../_base_/freqkd_runtime.py',
]
