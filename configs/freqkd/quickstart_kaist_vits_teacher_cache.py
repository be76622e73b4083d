# The CPU quick start with the teacher feature cache: the frozen teacher runs
# once per (image, flip) pair, later epochs read its maps from memory.
# Valid because the pipeline only loads, resizes, flips and packs (see
# TeacherFeatureCache); the hook refuses any pipeline where that is not so.
# Memory: 3 maps of 384 x 19 x 23 per sample (2 MB in float32), at most
# 36 frames x 2 flips here.
_base_ = ['./quickstart_kaist_vits.py']

model = dict(teacher_feature_cache=dict(max_items=128))
custom_hooks = [dict(type='TeacherFeatureCacheHook', log_interval=9)]
