# DINOv2 ViT-L/14 with 4 registers, initialised from the official release
# file (a timm or Hugging Face file also loads: point init_cfg.checkpoint at
# it). Configs take ``dict(_base_.dinov2_vitl14_reg4, out_indices=...)``.
dinov2_checkpoint = 'checkpoints/dinov2_vitl14_reg4_pretrain.pth'
dinov2_vitl14_reg4 = dict(
    type='DINOv2ViT',
    arch='large',
    num_register_tokens=4,
    init_cfg=dict(type='Pretrained', checkpoint=dinov2_checkpoint))
