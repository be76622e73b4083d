# Ablation: full fine-tuning of the student instead of LoRA.
_base_ = ['./kaist_vit.py']
model = dict(student_lora=None)
# Blocks after the last distilled one and the final norm get no gradient:
# DDP must be told (see the DDP note of the README).
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
