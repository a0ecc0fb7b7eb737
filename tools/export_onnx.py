#!/usr/bin/env python
"""Export a ScaleNet classifier (logits) or backbone (multi-level features) to ONNX and verify it.

    python tools/export_onnx.py configs/scalenet/demo_embedded.py work_dirs/onnx/demo.onnx --checkpoint CKPT
    python tools/export_onnx.py vo21 work_dirs/onnx/vo21.onnx --engine openvino      # forms tuned for OpenVINO
    python tools/export_onnx.py vo21 work_dirs/onnx/vo21_feats.onnx --out-indices 1 2 3 4   # detection necks
    python tools/export_onnx.py configs/detection/embedded/faster-rcnn_scalenet-tiny_fpn_shapes.py \
        work_dirs/onnx/frcnn_raw.onnx --detector-raw --size 96     # FPN + RPN outputs, before NMS

Exporter: ``torch.onnx.export(..., dynamo=False)`` (TorchScript), opset 17, dynamic batch and H x W (any
multiple of the network's coarsest stride) unless ``--static``. The file is checked with ``onnx.checker``,
run in ONNX Runtime and OpenVINO on several input sizes against PyTorch (max abs difference printed, failure
above ``--atol``) and carries mean/std, colour order, class names and input layout as metadata.
"""
import argparse
import json
import sys

from scalenet_mm.deploy import ExportError
from scalenet_mm.deploy.pipeline import export_model


def _index(value: str):
    return int(value) if value.lstrip('-').isdigit() else value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('source', help='config file (.py) or ScaleNet preset name (vo21, D4D5S5, ...)')
    parser.add_argument('output', help='the .onnx file to write')
    parser.add_argument('--checkpoint', help='weights to load (random init without)')
    parser.add_argument('--out-indices', nargs='+', type=_index,
                        help="export these backbone levels (ints or names such as 'stage2.a3') instead of logits")
    parser.add_argument('--detector-raw', action='store_true',
                        help='an mmdet config: export backbone + FPN + RPN head outputs (before decoding and NMS)')
    parser.add_argument('--static', action='store_true', help='fixed batch and size (default: dynamic)')
    parser.add_argument('--dynamic', action='store_true', help='dynamic batch and H x W (the default)')
    parser.add_argument('--engine', choices=['onnxruntime', 'openvino'],
                        help='measure the export forms in this engine and keep the fastest per layer')
    parser.add_argument('--batch', type=int, default=1, help='batch the forms are tuned for')
    parser.add_argument('--size', type=int, help='export / tuning input side (default: the config input size)')
    parser.add_argument('--verify-sizes', nargs='+', type=int, help='input sides to verify against PyTorch')
    parser.add_argument('--num-classes', type=int, default=1000, help='head size of a preset classifier')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--atol', type=float, default=1e-4)
    args = parser.parse_args(argv)
    if args.static and args.dynamic:
        parser.error('--static and --dynamic exclude each other')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = export_model(args.source, args.output, args.checkpoint, args.out_indices, not args.static,
                              args.engine, args.batch, args.size, args.verify_sizes, args.num_classes, args.threads,
                              args.atol, args.detector_raw)
    except (ExportError, ValueError, FileNotFoundError, ImportError) as error:
        print(f'export_onnx.py: {error}', file=sys.stderr)
        return 1
    print(f"wrote {report['output']} (outputs: {', '.join(report['output_names'])}; export forms: "
          f"{json.dumps(report['forms']['forms'])})")
    for check in report['checks']:
        print(f"  {check['engine']:>11s} {check['batch']}x3x{check['size']}x{check['size']}: max abs difference "
              f"to PyTorch {check['max_abs_diff']:.2e}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
