"""Precision of FreqKDDistiller under a mixed-precision (``--amp``) region:
the teacher follows ``teacher_dtype`` and the losses run in float32."""
import torch
from tiny_distiller import build_tiny_distiller


def paired_inputs():
    gen = torch.Generator().manual_seed(0)
    return dict(rgb=torch.randn(2, 3, 42, 56, generator=gen),
                ir=torch.randn(2, 3, 42, 56, generator=gen))


def test_float32_teacher_and_losses_inside_a_bfloat16_region():
    model = build_tiny_distiller(teacher_dtype='float32')
    inputs = paired_inputs()
    with torch.no_grad():
        teacher_fp32 = model.teacher(inputs['rgb'])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        teacher_maps = model.extract_teacher_feats(inputs['rgb'])
        student_maps = model.extract_student_feats(inputs['ir'])
        losses = model(inputs, mode='loss')
    # the teacher ignored the enclosing autocast region
    for got, want in zip(teacher_maps, teacher_fp32):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    # the student ran in bfloat16 (its maps differ from a float32 run) ...
    with torch.no_grad():
        student_fp32 = model.student(inputs['ir'])
    assert not torch.allclose(student_maps[1], student_fp32[1], rtol=1e-4)
    # ... and the losses are the float32 losses of its bfloat16-run maps
    for index, name in enumerate(('block1', 'block3')):
        reference = model.feature_loss(student_maps[index].float(),
                               teacher_maps[index])
        for term in ('low', 'high'):
            torch.testing.assert_close(
                losses[f'loss_{name}_{term}'], reference[f'loss_{term}'],
                rtol=1e-6, atol=1e-8)
            assert losses[f'loss_{name}_{term}'].dtype == torch.float32


def test_bfloat16_teacher_dtype_runs_the_teacher_in_bfloat16():
    model = build_tiny_distiller(teacher_dtype='bfloat16')
    inputs = paired_inputs()
    with torch.no_grad():
        teacher_fp32 = model.teacher(inputs['rgb'])
        with torch.autocast('cpu', dtype=torch.bfloat16):
            teacher_bf16 = model.teacher(inputs['rgb'])
    maps = model.extract_teacher_feats(inputs['rgb'])
    assert all(m.dtype == torch.float32 for m in maps)
    torch.testing.assert_close(maps[1], teacher_bf16[1].float())
    assert not torch.allclose(maps[1], teacher_fp32[1], rtol=1e-4)
