# Ablation: LoRA rank 16 (alpha = rank, so the update scale stays 1).
_base_ = ['./kaist_vit.py']
model = dict(student_lora=dict(rank=16, alpha=16))
