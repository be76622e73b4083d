"""Export the student of a FreqKD Stage-1 checkpoint for Stage 2.

The LoRA adapters are merged into the base weights at ``--lora-scale``
(paper: 0.5) and the student's weights are saved under ``--prefix``
(default ``backbone.``), so that an mmdet / mmseg config loads them with::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='student.pth', prefix='backbone.')))

for a ``DINOv2ViT`` backbone (it checks the file itself), or
``type='CheckedPretrained'`` for any other (e.g. the ResNet-50), which
refuses a file lacking any of the backbone's weights.

Usage::

    python tools/model_converters/export_student.py \
        configs/freqkd/kaist_vit.py work_dirs/kaist_vit/epoch_12.pth \
        checkpoints/freqkd_kaist_vitl_student.pth --lora-scale 0.5
"""
import argparse
import math
import os
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint

import mmfreqkd  # noqa: F401
from mmfreqkd.utils import (check_stage1_model, exit_with_one_line_error,
                            load_config, seed_like_runner,
                            without_parameter_init_report)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export the student of a FreqKD Stage-1 checkpoint')
    parser.add_argument('config', help='Stage-1 config the checkpoint '
                        'was trained with')
    parser.add_argument('checkpoint', help='Stage-1 checkpoint')
    parser.add_argument('out', help='output checkpoint path (.pth)')
    parser.add_argument(
        '--lora-scale',
        type=float,
        default=0.5,
        help='scale of the merged LoRA update, a finite number >= 0 '
        '(paper: 0.5; 0 keeps the base weights, 1 the trained model)')
    parser.add_argument(
        '--prefix', default='backbone.',
        help="prefix of the saved keys, ending with a dot (default: "
        "'backbone.'); '' saves the student's own keys")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override existing config keys')
    args = parser.parse_args(argv)
    if not 0 <= args.lora_scale < math.inf:
        parser.error('--lora-scale must be a finite number >= 0, got '
                     f'{args.lora_scale}')
    if args.prefix and not args.prefix.endswith('.'):
        parser.error(f'--prefix {args.prefix!r} does not end with a dot, so '
                     f"the keys would read '{args.prefix}cls_token'; use "
                     f"--prefix {args.prefix}. (e.g. 'backbone.')")
    return args


@exit_with_one_line_error
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    check_stage1_model(cfg.model)
    # The teacher plays no part in the export: skip its weights.
    cfg.model.teacher.init_cfg = None
    cfg.model.allow_random_teacher = True
    seed_like_runner(cfg)  # random base weights as in training
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    # A LoRA checkpoint holds only the adapters: the base weights come from
    # the student's own init_cfg, as during training.
    with without_parameter_init_report():
        model.student.init_weights()
        load_checkpoint(model, args.checkpoint, map_location='cpu',
                        strict=True)
    state_dict = model.export_student(lora_scale=args.lora_scale)
    doubled = [k for k in state_dict if k.startswith(args.prefix)] \
        if args.prefix else []
    if doubled:
        raise ValueError(
            f'the student ({cfg.model.student.get("type")}) is a whole model '
            f"whose keys already start with {args.prefix!r}, so the export "
            f"would read '{args.prefix}{doubled[0]}'; pass --prefix '' to "
            'save its keys as they are')
    state_dict = {args.prefix + k: v for k, v in state_dict.items()}
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(
                source_config=args.config,
                source_checkpoint=args.checkpoint,
                lora_scale=args.lora_scale if model.uses_lora else None,
                student=cfg.model.student.get('type'))), args.out)
    print_log(f'saved {len(state_dict)} student tensors with prefix '
              f'{args.prefix!r} to {args.out}')


if __name__ == '__main__':
    main()
