#!/usr/bin/env python
"""Inference (and training) benchmark of ScaleNet presets against torchvision ResNet/DenseNet, in one run, on
PyTorch, ONNX Runtime or OpenVINO (the code is :mod:`scalenet_mm.benchmarking`).

Protocol: every model of the run on the same engine, built once, warmed up, then ``--repeats`` interleaved
rounds of ``--iters`` timed calls per model; the latency is the median of the round medians, the range their
spread. Peak activation memory (PyTorch) is measured in a fresh process per model. Ratios are against
ResNet-50 (``--baseline``); the JSON records the machine's load average before and after.

    python tools/benchmark.py --models vo21 vo69 resnet50 resnet101 densenet121 --batch-sizes 1 16 \
        --json work_dirs/bench/imagenet.json --chart work_dirs/bench/imagenet.png
    python tools/benchmark.py --engine openvino --models vo21 vo69 resnet50 --batch-sizes 1 16
    python tools/benchmark.py --cifar --models ci7 ao1 wa1 resnet_cifar18 --batch-sizes 1 16   # 32x32 inputs
    python tools/benchmark.py --models vo21:deploy resnet50:deploy resnet50 --channels-last

``--engine onnxruntime|openvino`` exports every model (ours and torchvision's) through the same path
(:func:`scalenet_mm.deploy.prepare_for_export` picks each layer's fastest exact export form for that engine,
:func:`scalenet_mm.deploy.export_onnx`), and runs it with 2 threads, fp32 forced. A ``:deploy`` suffix
(PyTorch engine only) measures the model after :func:`scalenet_mm.deploy.deploy_for_cpu`; ``resnet50:deploy``
gets the same generic conv-BN folding and packing, so it is the fair counterpart of ``vo21:deploy``.
``--deconv-impl``: ``native`` (nn.ConvTranspose2d), ``phase`` or ``deploy`` (phase with precomputed kernels).
"""
import argparse
import os
import sys

from scalenet_mm.benchmarking import ENGINES, run_benchmark, split_name


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=['vo21', 'vo69', 'resnet50', 'resnet101', 'densenet121',
                                                        'densenet161'])
    parser.add_argument('--engine', choices=ENGINES, default='torch')
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 16])
    parser.add_argument('--size', type=int, default=None, help='input side (224; 32 with --cifar)')
    parser.add_argument('--cifar', action='store_true', help='32x32 inputs, 10 classes')
    parser.add_argument('--device', default='cuda' if os.environ.get('CUDA_VISIBLE_DEVICES') else 'cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--baseline', help='ratios are against this model (resnet50; resnet_cifar18 with --cifar)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed calls per model before the first round')
    parser.add_argument('--iters', type=int, default=5, help='timed calls per model and round')
    parser.add_argument('--repeats', type=int, default=5, help='interleaved rounds (>= 5 for reported figures)')
    parser.add_argument('--mode', choices=['infer', 'train'], default='infer')
    parser.add_argument('--deconv-impl', choices=['native', 'phase', 'deploy'], default='deploy')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true')
    parser.add_argument('--profile', action='store_true', help='ONNX engines: record per-op-type time per model')
    parser.add_argument('--json', help='write all results here')
    parser.add_argument('--chart', help='write a latency chart (PNG) here')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for name in args.models:
        try:
            split_name(name)
        except ValueError as error:
            raise SystemExit(f'benchmark.py: {error}')
    settings = dict(engine=args.engine, device=args.device, threads=args.threads,
                    size=args.size or (32 if args.cifar else 224), num_classes=10 if args.cifar else 1000,
                    warmup=args.warmup, iters=args.iters, repeats=args.repeats, mode=args.mode,
                    deconv_impl=args.deconv_impl, amp=args.amp, channels_last=args.channels_last,
                    compile=args.compile, profile=args.profile)
    baseline = args.baseline or ('resnet_cifar18' if args.cifar else 'resnet50')
    try:
        run_benchmark(args.models, args.batch_sizes, settings, baseline, args.json, args.chart)
    except ValueError as error:
        raise SystemExit(f'benchmark.py: {error}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
