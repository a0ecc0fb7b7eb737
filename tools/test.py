#!/usr/bin/env python
"""Test a checkpoint with an mm config (mmpretrain or mmdet) and mmengine's Runner.

Examples::

    python tools/test.py configs/scalenet/imagenet_d4d5s5.py ckpt.pth               # 1-crop (224 from 256)
    python tools/test.py configs/scalenet/imagenet_d4d5s5_test320.py ckpt.pth --tta # Table 2: 10-crop 320 of 350
    python tools/test.py CONFIG ckpt.pth --out preds.pkl --metrics-json metrics.json

``--tta`` swaps in the config's ``tta_pipeline`` and wraps the model in its ``tta_model``. The scalenet
configs define the paper's 10-crop test: 4 corner + centre crops and their horizontal flips, with the
softmax scores averaged (``AverageClsScoreTTA``).
"""
import argparse
import json
import os
import os.path as osp

from scalenet_mm.apis import add_runner_args, apply_test_options, config_from_args, is_main_process, run_test


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a checkpoint with an mmengine Runner')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go (default ./work_dirs/<config name>)')
    parser.add_argument('--out', help='dump the per-sample predictions to this pickle file')
    parser.add_argument('--metrics-json', help='also write the final metrics to this JSON file')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation with the config\'s tta_pipeline / tta_model (10-crop here)')
    add_runner_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    metrics = run_test(apply_test_options(config_from_args(args), args.checkpoint, args.tta, args.out))
    if is_main_process():
        print('METRICS ' + json.dumps(metrics))
        if args.metrics_json:
            os.makedirs(osp.dirname(osp.abspath(args.metrics_json)), exist_ok=True)
            with open(args.metrics_json, 'w') as f:
                json.dump(metrics, f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
