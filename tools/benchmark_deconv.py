#!/usr/bin/env python
"""Micro-benchmark of ScaleNet's stride-2 deconvolutions on CPU (the code is
:func:`scalenet_mm.benchmarking.run_deconv_benchmark`).

For each deconv version (v3: k3 s2 p1 op1; v1/2: k4 s2 p1 op0), shape, batch and memory format it times
``conv_s2`` (a stride-2 Conv2d with the same MACs), ``convT`` (nn.ConvTranspose2d), ``phase:*`` (PhaseDeconv2d)
and ``deploy:*`` (DeployedPhaseDeconv2d), round-robin, median of ``--runs``.

Example::

    python tools/benchmark_deconv.py --threads 2 --impls auto,fused,split --json out.json
"""
import argparse

from scalenet_mm.benchmarking import run_deconv_benchmark
from scalenet_mm.benchmarking.deconv_bench import DEFAULT_SHAPES


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--threads', type=int, default=2, help='torch.set_num_threads (default 2)')
    p.add_argument('--runs', type=int, default=10, help='timed runs per measurement (median reported)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--shapes', default=DEFAULT_SHAPES, help='comma list of CxH (C channels in/out, H x H input)')
    p.add_argument('--batches', default='1,16')
    p.add_argument('--kernels', default='3,4', help='3 = version 3, 4 = versions 1/2')
    p.add_argument('--impls', default='auto', help='PhaseDeconv2d impls to time: auto,fused,split,native')
    p.add_argument('--formats', default='nchw,cl', help='nchw and/or cl (channels_last)')
    p.add_argument('--no-backward', action='store_true', help='skip train-forward and fwd+bwd timings')
    p.add_argument('--stat', choices=['median', 'min'], default='median',
                   help='statistic printed (both are written to --json); min is more robust on a busy machine')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', default=None, help='write all measurements to this file')
    return p.parse_args(argv)


if __name__ == '__main__':
    run_deconv_benchmark(parse_args())
