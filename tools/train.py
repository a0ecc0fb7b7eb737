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

from scalenet_mm.apis import add_runner_args, apply_train_options, config_from_args, run_train


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
    add_runner_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = apply_train_options(config_from_args(args), args.amp, args.auto_scale_lr, args.no_validate, args.resume)
    return run_train(cfg)


if __name__ == '__main__':
    main()
