# Ablation: full fine-tuning of the student instead of LoRA.
_base_ = ['./kaist_vit.py']
model = dict(student_lora=None)
