"""Metrics: KAIST miss rate, MFNet mIoU, distillation losses."""
