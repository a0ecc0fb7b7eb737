#!/usr/bin/env python
"""Train with an mm config (mmpretrain or mmdet: the config's ``default_scope`` decides) and mmengine's Runner.

Examples::

    python tools/train.py configs/scalenet/cifar10_d7_32l.py
    python tools/train.py configs/scalenet/imagenet_d4d4s4.py --work-dir work_dirs/d4d4s4 --amp
    python tools/train.py CONFIG --resume                      # resume from the latest checkpoint of work-dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_2.pth
    bash tools/dist_train.sh CONFIG 4                          # 4 processes (gloo on CPU, nccl on GPUs)
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _runner_utils import add_common_args, build_runner, load_config, setup_cpu_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model with an mmengine Runner')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume training: from the given checkpoint, or, without a value, from the latest '
                        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the total batch size (config auto_scale_lr)')
    parser.add_argument('--no-validate', action='store_true', help='skip validation during training')
    add_common_args(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    if args.amp:
        import torch
        if torch.cuda.is_available():
            optim = cfg.optim_wrapper
            if optim.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
                warnings.warn('the config already uses AmpOptimWrapper')
            else:
                optim.type = 'AmpOptimWrapper'
                optim.setdefault('loss_scale', 'dynamic')
        else:
            warnings.warn('--amp needs a GPU (mmengine AmpOptimWrapper); training in fp32 on CPU')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint {args.resume} does not exist')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args), args)
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
