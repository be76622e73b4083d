"""A tiny DINOv2 ViT and a FreqKDDistiller of two of them, for tests."""
from mmengine.registry import MODELS, DefaultScope

import mmfreqkd  # noqa: F401

TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=2,
                 feedforward_channels=64)


def tiny_vit(**kwargs) -> dict:
    """Config of a 4-block, 32-wide DINOv2 ViT giving blocks 1 and 3."""
    return dict(type='DINOv2ViT', arch=TINY_ARCH, out_indices=(1, 3),
                layer_scale_init_value=1.0, **kwargs)


def build_tiny_distiller(**kwargs):
    """A FreqKDDistiller of tiny random ViTs (frozen teacher, LoRA rank 4
    student, both random by opt-in) distilling blocks 1 and 3; ``kwargs``
    override or add config keys."""
    cfg = dict(
        type='FreqKDDistiller',
        teacher=tiny_vit(frozen=True),
        student=tiny_vit(),
        student_lora=dict(rank=4, alpha=8, dropout=0.0),
        distill_pairs=[
            dict(name='block1', teacher_index=0, student_index=0),
            dict(name='block3', teacher_index=1, student_index=1),
        ],
        allow_random_teacher=True,
        allow_random_student=True)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)
