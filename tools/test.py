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
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _runner_utils import add_common_args, build_runner, load_config, setup_cpu_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a checkpoint with an mmengine Runner')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs go (default ./work_dirs/<config name>)')
    parser.add_argument('--out', help='dump the per-sample predictions to this pickle file')
    parser.add_argument('--metrics-json', help='also write the final metrics to this JSON file')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation with the config\'s tta_pipeline / tta_model (10-crop here)')
    add_common_args(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    from copy import deepcopy
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            raise KeyError(f'--tta: the config {args.config} defines no tta_pipeline/tta_model')
        model = deepcopy(cfg.model)
        if cfg.get('data_preprocessor') is not None:  # the runner would attach it to the wrapper only
            model.setdefault('data_preprocessor', deepcopy(cfg.data_preprocessor))
        cfg.model = dict(deepcopy(cfg.tta_model), module=model)
        cfg.test_dataloader.dataset.pipeline = deepcopy(cfg.tta_pipeline)
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl/.pickle file')
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        evaluator.append(dict(type='DumpResults', out_file_path=args.out))
        cfg.test_evaluator = evaluator
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args), args)
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    metrics = runner.test()
    rank = int(os.environ.get('RANK', 0))
    if rank == 0:
        printable = {k: float(v) if hasattr(v, '__float__') else v for k, v in metrics.items()}
        print('METRICS ' + json.dumps(printable))
        if args.metrics_json:
            os.makedirs(osp.dirname(osp.abspath(args.metrics_json)), exist_ok=True)
            with open(args.metrics_json, 'w') as f:
                json.dump(printable, f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
