#!/usr/bin/env python
"""Inference (and training) benchmark of ScaleNet presets against torchvision ResNet/DenseNet, in one run.

The paper's protocol (Fig. 4c): a fixed random input, warm-up passes, then N timed forward passes; we report the
median latency, throughput, peak memory, the achieved GFLOP/s (2 x MACs / latency) and that figure as a
fraction of this machine's fp32 GEMM peak measured in the same run. Every model runs in a fresh subprocess, so
its peak memory is its own (CPU: peak activation memory of one pass, see :class:`HeapPeak`; CUDA:
``max_memory_allocated``, weights included). Ratios are against ResNet-50.

    python tools/benchmark.py --models vo21 vo69 resnet50 resnet101 densenet121 densenet161 \
        --batch-sizes 1 16 --threads 2 --json work_dirs/bench/imagenet.json --chart work_dirs/bench/imagenet.png
    python tools/benchmark.py --cifar --models ci7 ao1 wa1 resnet_cifar18 --batch-sizes 1 16   # 32x32 inputs
    python tools/benchmark.py --models vo21 resnet50 --deconv-impl phase --channels-last --compile
    python tools/benchmark.py --models vo21 resnet50 --mode train    # forward+backward images/s

``--deconv-impl``: ``native`` (nn.ConvTranspose2d), ``phase`` (the exact sub-pixel formulation, trainable) or
``deploy`` (phase with kernels precomputed for inference). Our presets take any name of the preset table.

A ``:deploy`` suffix (``vo21:deploy``, ``resnet50:deploy``) measures the model after the CPU inference conversion
(:func:`scalenet_mm.deploy.deploy_for_cpu`: BN folding, BN+ReLU fusion, autotuned oneDNN weight packing). For
torchvision models the same generic steps apply: conv-BN folding (``torch.fx`` ``fuse``) and the packing, so
``resnet50:deploy`` is the fair counterpart of ``vo21:deploy``. Ratios stay against the plain ``--baseline``.

    python tools/benchmark.py --models vo21:deploy vo69:deploy resnet50:deploy resnet50 --channels-last
"""
import argparse
import json
import multiprocessing as mp
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from scalenet_mm.utils.complexity import MacCounter  # noqa: E402

TORCHVISION = ('resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'densenet121', 'densenet161',
               'densenet169', 'densenet201')


def build_model(name: str, num_classes: int, deconv_impl: str) -> nn.Module:
    """An image classifier as an ``nn.Module`` mapping images to logits."""
    if name in TORCHVISION:
        import torchvision
        return getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if name.startswith('resnet_cifar'):
        from mmpretrain.models import ResNet_CIFAR
        depth = int(name[len('resnet_cifar'):] or 50)
        backbone = ResNet_CIFAR(depth=depth)
        channels = 64 * 2**3 * (4 if depth >= 50 else 1)
        return nn.Sequential(LastFeature(backbone), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(channels, num_classes))
    import scalenet_mm  # noqa: F401
    from scalenet_mm.models import ScaleNet
    backbone = ScaleNet(name, deconv_impl='native' if deconv_impl == 'native' else 'phase')
    if deconv_impl == 'deploy':
        for m in backbone.modules():
            if hasattr(m, 'switch_to_deploy'):
                m.switch_to_deploy()
    return nn.Sequential(LastFeature(backbone), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(backbone.arch.out_channels, num_classes))


class LastFeature(nn.Module):
    """An mm backbone (tuple of maps) as a module that returns its last map."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)[-1]


def count_macs(name: str, num_classes: int, shape) -> int:
    """Exact Conv2d/ConvTranspose2d/Linear MACs of one image (deconvs at input resolution).

    Counted on the 'meta' device (shapes only, no memory) where the model can be built there.
    """
    try:
        with torch.device('meta'):
            return _count_macs(build_model(name, num_classes, 'native').eval(), shape, 'meta')
    except (RuntimeError, NotImplementedError):
        return _count_macs(build_model(name, num_classes, 'native').eval(), shape, 'cpu')


def _count_macs(model: nn.Module, shape, device: str) -> int:
    counter = MacCounter(model)
    with torch.no_grad():
        model(torch.zeros(1, *shape, device=device))
    counter.remove()
    return counter.total


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class HeapPeak:
    """Peak CPU activation memory of one pass: glibc's in-use heap bytes, sampled at every module's entry and
    exit, minus the bytes in use before the pass (weights and the input are already allocated then).

    Peak RSS cannot be used for this: freed memory stays resident in the allocator, so a model whose
    activations fit in memory freed earlier (e.g. while building it) shows no growth at all.
    """

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        class MallInfo2(ctypes.Structure):
            _fields_ = [(f, ctypes.c_size_t) for f in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                                                      'fsmblks', 'uordblks', 'fordblks', 'keepcost')]

        libc = ctypes.CDLL(ctypes.util.find_library('c'))
        self._mallinfo = getattr(libc, 'mallinfo2', None)  # glibc >= 2.33
        if self._mallinfo is not None:
            self._mallinfo.restype = MallInfo2
        self.peak = 0

    @property
    def available(self) -> bool:
        return self._mallinfo is not None

    def in_use(self) -> int:
        info = self._mallinfo()
        return info.uordblks + info.hblkhd  # small chunks + mmapped chunks

    def _sample(self, *args) -> None:
        self.peak = max(self.peak, self.in_use())

    def measure_mb(self, model: nn.Module, step) -> float:
        handles = [h for m in model.modules()
                   for h in (m.register_forward_pre_hook(self._sample), m.register_forward_hook(self._sample))]
        try:
            base = self.in_use()
            self.peak = base
            step()
            self._sample()
        finally:
            for h in handles:
                h.remove()
        return (self.peak - base) / 2**20


def _worker(spec: dict, queue) -> None:
    try:
        queue.put(_measure(spec))
    except Exception as error:  # report, don't hang the parent
        queue.put(dict(spec, error=f'{type(error).__name__}: {error}'))


def split_name(name: str):
    """``'vo21:deploy'`` -> ``('vo21', True)``."""
    base, _, suffix = name.partition(':')
    if suffix not in ('', 'deploy'):
        raise ValueError(f"unknown model suffix {suffix!r} in {name!r}; the only suffix is ':deploy'")
    return base, suffix == 'deploy'


def deploy_model(model: nn.Module, name: str, x: torch.Tensor) -> nn.Module:
    """The CPU inference conversion of ``model`` (see the module docstring)."""
    from scalenet_mm.deploy import deploy_for_cpu
    model.eval()
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    if name in TORCHVISION:
        from torch.fx.experimental.optimization import fuse
        model = fuse(model)  # conv -> BN folding of a traceable model
    report = deploy_for_cpu(model, x)
    left = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    print(f"  {name}:deploy: {norms - left} of {norms} BNs folded or fused, {report['packed']} convs packed, "
          f"{report['kept_plain']} kept plain (measured faster)", flush=True)
    return model


def _measure(spec: dict) -> dict:
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    device = torch.device(spec['device'])
    shape = (3, spec['size'], spec['size'])
    macs = spec['macs']
    name, deploy = split_name(spec['model'])
    model = build_model(name, spec['num_classes'], spec['deconv_impl'])
    params = sum(p.numel() for p in model.parameters())
    model = model.to(device)
    x = torch.randn(spec['batch'], *shape, device=device)
    memory_format = torch.channels_last if spec['channels_last'] else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    x = x.contiguous(memory_format=memory_format)
    train = spec['mode'] == 'train'
    model.train(train)
    if deploy:
        if train or device.type != 'cpu':
            raise ValueError(':deploy is the CPU inference conversion; use it with --mode infer --device cpu')
        model = deploy_model(model, name, x)
    if spec['compile']:
        model = torch.compile(model)
    if train:
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        target = torch.randint(0, spec['num_classes'], (spec['batch'], ), device=device)

    def step():
        with torch.autocast(device.type, enabled=spec['amp'], dtype=torch.bfloat16 if device.type == 'cpu'
                            else torch.float16):
            if train:
                loss = torch.nn.functional.cross_entropy(model(x), target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            else:
                with torch.inference_mode():
                    model(x)
        if device.type == 'cuda':
            torch.cuda.synchronize()

    baseline_rss = _peak_rss_mb()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for _ in range(spec['warmup']):
        step()
    times = []
    for _ in range(spec['iters']):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    latency = statistics.median(times)
    flops = 2 * macs * spec['batch'] * (3 if train else 1)  # backward ~ 2x forward
    result = dict(spec, params=params, macs=macs, latency_ms=latency * 1e3, throughput=spec['batch'] / latency,
                  gflops=flops / latency / 1e9)
    if device.type == 'cuda':
        result['peak_memory_mb'] = torch.cuda.max_memory_allocated() / 2**20
    else:
        result['peak_rss_mb'] = _peak_rss_mb()
        heap = HeapPeak()
        if heap.available:
            result['peak_memory_mb'] = heap.measure_mb(model, step)
        else:  # not glibc: fall back to the growth of peak RSS (see HeapPeak for its limits)
            result['peak_memory_mb'] = _peak_rss_mb() - baseline_rss
    return result


def _gemm_peak(spec: dict, queue) -> None:
    torch.set_num_threads(spec['threads'])
    n = 2048 if spec['device'] == 'cpu' else 8192
    a = torch.randn(n, n, device=spec['device'])
    b = torch.randn(n, n, device=spec['device'])
    for _ in range(2):
        a @ b
    times = []
    for _ in range(5):
        if spec['device'] == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if spec['device'] == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    queue.put(2 * n**3 / min(times) / 1e9)


def run_isolated(target, spec: dict):
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(spec, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def format_table(results: List[dict], peak: float, baseline: str) -> str:
    rows = [f'| model | batch | params (M) | GMACs/img | latency (ms) | x {baseline} | img/s | GFLOP/s | % GEMM peak '
            f'| peak act. mem (MB) | x {baseline} mem |', '|---|---|---|---|---|---|---|---|---|---|---|']
    base = {(r['batch'], r['mode']): r for r in results if r['model'] == baseline and 'error' not in r}
    for r in results:
        if 'error' in r:
            rows.append(f"| {r['model']} | {r['batch']} | error: {r['error']} |||||||||")
            continue
        b = base.get((r['batch'], r['mode']))
        ratio = f"{r['latency_ms'] / b['latency_ms']:.2f}" if b else '-'
        mem = r['peak_memory_mb']
        bmem = b['peak_memory_mb'] if b else None
        mem_ratio = f'{mem / bmem:.2f}' if bmem else '-'
        rows.append(f"| {r['model']} | {r['batch']} | {r['params'] / 1e6:.2f} | {r['macs'] / 1e9:.3f} | "
                    f"{r['latency_ms']:.1f} | {ratio} | {r['throughput']:.1f} | {r['gflops']:.1f} | "
                    f"{100 * r['gflops'] / peak:.0f}% | {mem:.0f} | {mem_ratio} |")
    return '\n'.join(rows)


def plot(results: List[dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    batches = sorted({r['batch'] for r in results})
    models = list(dict.fromkeys(r['model'] for r in results))
    fig, axes = plt.subplots(1, len(batches), figsize=(5 * len(batches), 4), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        rows = {r['model']: r for r in results if r['batch'] == batch and 'error' not in r}
        names = [m for m in models if m in rows]
        ax.bar(names, [rows[m]['latency_ms'] for m in names],
               color=['tab:orange' if m.startswith(('resnet', 'densenet')) else 'tab:blue' for m in names])
        ax.set_title(f'batch {batch}: median latency')
        ax.set_ylabel('ms')
        ax.tick_params(axis='x', rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=['vo21', 'vo69', 'resnet50', 'resnet101', 'densenet121',
                                                        'densenet161'])
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 16])
    parser.add_argument('--size', type=int, default=None, help='input side (224; 32 with --cifar)')
    parser.add_argument('--cifar', action='store_true', help='32x32 inputs, 10 classes')
    parser.add_argument('--device', default='cuda' if os.environ.get('CUDA_VISIBLE_DEVICES') else 'cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--baseline', help='ratios are against this model (resnet50; resnet_cifar18 with --cifar)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--mode', choices=['infer', 'train'], default='infer')
    parser.add_argument('--deconv-impl', choices=['native', 'phase', 'deploy'], default='deploy')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true')
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
    size = args.size or (32 if args.cifar else 224)
    baseline = args.baseline or ('resnet_cifar18' if args.cifar else 'resnet50')
    if baseline not in args.models:
        args.models.append(baseline)
    common = dict(device=args.device, threads=args.threads, size=size, num_classes=10 if args.cifar else 1000,
                  warmup=args.warmup, iters=args.iters, mode=args.mode, deconv_impl=args.deconv_impl, amp=args.amp,
                  channels_last=args.channels_last, compile=args.compile)
    peak = run_isolated(_gemm_peak, common)
    print(f'fp32 GEMM peak on {args.device} with {args.threads} threads: {peak:.1f} GFLOP/s')
    results = []
    for batch in args.batch_sizes:
        for model in args.models:
            # counted here, so that the worker's memory stays its own
            macs = count_macs(split_name(model)[0], common['num_classes'], (3, size, size))
            result = run_isolated(_worker, dict(common, model=model, batch=batch, macs=macs))
            results.append(result)
            shown = result.get('error') or f"{result['latency_ms']:.1f} ms"
            print(f'  {model:>14s} batch {batch:>3d}: {shown}', flush=True)
    table = format_table(results, peak, baseline)
    print(table)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(gemm_peak_gflops=peak, settings=common, results=results), f, indent=1)
    if args.chart:
        os.makedirs(osp.dirname(osp.abspath(args.chart)), exist_ok=True)
        plot(results, args.chart)
        print(f'chart: {args.chart}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
