"""Micro-benchmark of ScaleNet's stride-2 deconvolutions on CPU (PyTorch eager).

For each deconv version (v3: k3 s2 p1 op1; v1/2: k4 s2 p1 op0), shape, batch and memory format it times
(median over ``runs`` round-robin rounds after ``warmup``): ``conv_s2`` (a stride-2 ``nn.Conv2d`` with the same
MACs, the baseline), ``convT`` (``nn.ConvTranspose2d``), ``phase:*`` (:class:`PhaseDeconv2d`, trainable) and
``deploy:*`` (:class:`DeployedPhaseDeconv2d`, cached kernel). Columns: ``infer`` (no grad), ``train`` (forward
with autograd recording) and ``fwd+bwd``; ratios are against ``conv_s2`` and ``convT`` of the same group.
"""
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

from scalenet_mm.models.layers.phase_deconv import DeployedPhaseDeconv2d, PhaseDeconv2d

__all__ = ['run_deconv_benchmark', 'VERSIONS', 'DEFAULT_SHAPES']

VERSIONS = {3: 'v3 (k3 op1)', 4: 'v1/2 (k4 op0)'}
DEFAULT_SHAPES = '128x28,64x56,400x7'


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def make_steps(m, x, grad, infer_only, no_backward):
    """The timed closures of one module: {column: fn}."""

    def infer():
        with torch.no_grad():
            m(x)

    steps = {'infer': infer}
    if infer_only or no_backward:
        return steps
    xg = x.detach().clone().requires_grad_()

    def train_fwd():
        m(xg)

    def fwd_bwd():
        m.zero_grad(set_to_none=True)
        xg.grad = None
        m(xg).backward(grad)

    steps['train'] = train_fwd
    steps['fwd+bwd'] = fwd_bwd
    return steps


def bench_group(entries, runs, warmup):
    """Round-robin timing (every module once per round) so that background load
    affects all modules of a group alike; returns {name: {column: median ms}}."""
    times = {name: {col: [] for col in steps} for name, steps in entries}
    for _ in range(warmup):
        for name, steps in entries:
            for fn in steps.values():
                fn()
    for _ in range(runs):
        for name, steps in entries:
            for col, fn in steps.items():
                times[name][col].append(_timed(fn))
    return ({name: {col: statistics.median(v) * 1e3 for col, v in cols.items()} for name, cols in times.items()},
            {name: {col: min(v) * 1e3 for col, v in cols.items()} for name, cols in times.items()})


def run_deconv_benchmark(args) -> dict:
    """The micro-benchmark of ``tools/benchmark_deconv.py`` (``args``: its parsed arguments); returns the JSON
    payload (also written to ``args.json`` when given)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    shapes = [tuple(int(v) for v in s.split('x')) for s in args.shapes.split(',')]
    batches = [int(b) for b in args.batches.split(',')]
    kernels = [int(k) for k in args.kernels.split(',')]
    impls = [i for i in args.impls.split(',') if i]
    formats = [f for f in args.formats.split(',') if f]
    meta = dict(torch=torch.__version__, threads=torch.get_num_threads(), runs=args.runs, warmup=args.warmup,
                python=platform.python_version(), machine=platform.machine(), processor=platform.processor(),
                mkldnn=torch.backends.mkldnn.is_available())
    print(f'# torch {meta["torch"]}, threads={meta["threads"]}, {args.stat} of {args.runs} round-robin runs after '
          f'{args.warmup} warm-up; times in ms; ratios = time / baseline time (lower is better)')
    records = []
    cols = ['infer', 'train', 'fwd+bwd']
    header = (f'{"version":<14} {"N":>2} {"C":>4} {"HxW->":>9} {"fmt":<4} {"module":<14}'
              + ''.join(f' {c:>8}' for c in cols) + ''.join(f' {c + "/conv":>13}' for c in cols)
              + ''.join(f' {c + "/convT":>14}' for c in cols))
    print(header)
    print('-' * len(header))
    for k in kernels:
        for c, h in shapes:
            for n in batches:
                for fmt in formats:
                    mf = torch.channels_last if fmt == 'cl' else torch.contiguous_format
                    x = torch.randn(n, c, h, h).contiguous(memory_format=mf)
                    x_big = torch.randn(n, c, 2 * h, 2 * h).contiguous(memory_format=mf)
                    op = 1 if k == 3 else 0
                    conv = nn.Conv2d(c, c, k, stride=2, padding=1, bias=False).to(memory_format=mf)
                    convt = nn.ConvTranspose2d(c, c, k, 2, 1, output_padding=op, bias=False)
                    convt = convt.to(memory_format=mf)
                    g_small = torch.randn(n, c, h, h).contiguous(memory_format=mf)
                    g_big = torch.randn(n, c, 2 * h, 2 * h).contiguous(memory_format=mf)
                    entries = [('conv_s2', conv, x_big, g_small, False), ('convT', convt, x, g_big, False)]
                    for impl in impls:
                        ph = PhaseDeconv2d.from_conv_transpose(convt, impl=impl)
                        entries.append((f'phase:{impl}', ph, x, g_big, False))
                    for impl in impls:
                        dp = DeployedPhaseDeconv2d(c, c, k, impl=impl)
                        dp.load_state_dict(convt.state_dict())
                        with torch.no_grad():  # sanity: exact up to float32 rounding
                            err = (dp(x) - convt(x)).abs().max().item()
                        assert err < 1e-3, f'deploy:{impl} mismatch {err}'
                        entries.append((f'deploy:{impl}', dp, x, g_big, True))
                    steps = []
                    for name, mod, inp, grad, infer_only in entries:
                        mod.train()
                        steps.append((name, make_steps(mod, inp, grad, infer_only, args.no_backward)))
                    med, mins = bench_group(steps, args.runs, args.warmup)
                    group = med if args.stat == 'median' else mins
                    for name in group:
                        t = group[name]
                        rec = dict(version=VERSIONS[k], kernel_size=k, batch=n, channels=c, in_hw=h, out_hw=2 * h,
                                   format=fmt, module=name, **{f'{kk}_ms': v for kk, v in med[name].items()},
                                   **{f'{kk}_min_ms': v for kk, v in mins[name].items()})
                        for base in ('conv_s2', 'convT'):
                            for col, v in t.items():
                                rec[f'{col}_vs_{base}'] = med[name][col] / med[base][col]
                                rec[f'{col}_min_vs_{base}'] = mins[name][col] / mins[base][col]
                        records.append(rec)
                        vals = ''.join(f' {t[cc]:8.2f}' if cc in t else f' {"-":>8}' for cc in cols)
                        r1 = ''.join(f' {t[cc] / group["conv_s2"][cc]:13.2f}' if cc in t else f' {"-":>13}'
                                     for cc in cols)
                        r2 = ''.join(f' {t[cc] / group["convT"][cc]:14.2f}' if cc in t else f' {"-":>14}'
                                     for cc in cols)
                        print(f'{VERSIONS[k]:<14} {n:>2} {c:>4} {f"{h}->{2 * h}":>9} {fmt:<4} {name:<14}'
                              f'{vals}{r1}{r2}', flush=True)
                    print()
    payload = dict(meta=meta, argv=sys.argv[1:], records=records)
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=1))
        print(f'wrote {args.json}')
    return payload
