"""The timing protocol: every model of a ratio on the same engine, in the same run, interleaved.

For each batch size one worker process builds every model for the chosen engine (PyTorch eager, or the
model exported to ONNX and run in ONNX Runtime / OpenVINO), warms each up, then runs ``repeats`` rounds; in
each round every model in turn runs ``iters`` timed calls. A model's latency is the median of its round
medians and its range the lowest and highest round median, so load that comes and goes hits every model of
the comparison alike and shows up as a wide range instead of a biased ratio. Peak activation memory
(PyTorch only) is the in-use heap growth during one extra pass of each model, which counts only what that
pass allocates, so models sharing the process do not disturb each other's figure.
"""
import multiprocessing as mp
import os
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn

from .memory import HeapPeak, peak_rss_mb
from .zoo import build_model, deploy_model, split_name

__all__ = ['ENGINES', 'run_isolated', 'gemm_peak', 'time_models', 'measure_memory', 'machine_load']

ENGINES = ('torch', 'onnxruntime', 'openvino')


def machine_load() -> Dict[str, object]:
    """The 1/5/15-minute load averages (``uptime``), stored next to every benchmark result."""
    one, five, fifteen = os.getloadavg()
    return dict(load_1min=round(one, 2), load_5min=round(five, 2), load_15min=round(fifteen, 2),
                cpus=os.cpu_count())


def _report(target, spec, queue) -> None:
    try:
        queue.put(target(spec))
    except Exception as error:  # report, don't hang the parent
        queue.put(dict(error=f'{type(error).__name__}: {error}'))


def run_isolated(target: Callable[[dict], object], spec: dict):
    """``target(spec)`` in a fresh (spawned) process; exceptions come back as ``{'error': ...}``."""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_report, args=(target, spec, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def gemm_peak(spec: dict) -> float:
    """This machine's fp32 GEMM rate (2048^2 matmul on CPU) with the benchmark's threads, in GFLOP/s."""
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
    return 2 * n**3 / min(times) / 1e9


def _torch_model(spec: dict, model_name: str, device: torch.device, x: torch.Tensor) -> nn.Module:
    name, deploy = split_name(model_name)
    model = build_model(name, spec['num_classes'], spec['deconv_impl']).to(device)
    memory_format = torch.channels_last if spec['channels_last'] else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    model.train(spec['mode'] == 'train')
    if deploy:
        if spec['mode'] == 'train' or device.type != 'cpu':
            raise ValueError(':deploy is the CPU inference conversion; use it with --mode infer --device cpu')
        model = deploy_model(model, name, x)
    if spec['compile']:
        model = torch.compile(model)
    return model


def _torch_step(spec: dict, model: nn.Module, x: torch.Tensor, device: torch.device) -> Callable[[], None]:
    train = spec['mode'] == 'train'
    if train:
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        target = torch.randint(0, spec['num_classes'], (x.shape[0], ), device=device)

    def step():
        with torch.autocast(device.type, enabled=spec['amp'],
                            dtype=torch.bfloat16 if device.type == 'cpu' else torch.float16):
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

    return step


def _input(spec: dict, device: torch.device) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(spec['batch'], 3, spec['size'], spec['size'], device=device)
    return x.contiguous(memory_format=torch.channels_last if spec['channels_last'] else torch.contiguous_format)


def _engine_runner(spec: dict, model_name: str, workdir: str) -> tuple:
    """Export ``model_name`` through the engine's export forms; returns (runner, info)."""
    from scalenet_mm.deploy import create_session, export_onnx, max_abs_diff, select_export_model
    name, deploy = split_name(model_name)
    if deploy:
        raise ValueError(f"{model_name}: ':deploy' is the PyTorch engine's conversion; with --engine "
                         f"{spec['engine']} every model is exported through the engine's own forms (use {name})")
    model = build_model(name, spec['num_classes'], 'native').eval()
    x = _input(dict(spec, channels_last=False), torch.device('cpu'))
    started = time.perf_counter()
    exportable, forms = select_export_model(model, x, spec['engine'], threads=spec['threads'],
                                            repeats=spec.get('form_repeats', 5))
    path = os.path.join(workdir, f"{name}_b{spec['batch']}_{spec['engine']}.onnx")
    export_onnx(exportable, path, x, ['logits'], dynamic=True)
    session = create_session(spec['engine'], path, threads=spec['threads'], profile=spec.get('profile', False))
    xn = x.numpy()
    with torch.no_grad():
        diff = max_abs_diff(session(xn), [model(x).numpy()])
    info = dict(export_s=round(time.perf_counter() - started, 1), max_abs_diff=diff, forms=forms['forms'],
                form_choices=forms['choices'], form_strategy=forms['strategy'],
                form_strategies_ms=forms['strategies'])
    if spec.get('profile'):
        info['op_profile_ms'] = {k: round(v, 3) for k, v in session.op_profile(xn).items()}
        session = create_session(spec['engine'], path, threads=spec['threads'])  # profiling off for timing
    return (lambda: session(xn)), info


def time_models(spec: dict) -> List[dict]:
    """Interleaved timing of ``spec['models']`` at ``spec['batch']`` on ``spec['engine']`` (see module doc)."""
    import tempfile
    torch.set_num_threads(spec['threads'])
    device = torch.device(spec['device'])
    runners, models = {}, {}
    infos: Dict[str, dict] = {name: {} for name in spec['models']}
    with tempfile.TemporaryDirectory(prefix='bench_onnx_') as workdir:
        for model_name in spec['models']:
            try:
                if spec['engine'] == 'torch':
                    x = _input(spec, device)
                    model = _torch_model(spec, model_name, device, x)
                    runners[model_name] = _torch_step(spec, model, x, device)
                    models[model_name] = model
                else:
                    runners[model_name], infos[model_name] = _engine_runner(spec, model_name, workdir)
            except Exception as error:
                infos[model_name] = dict(error=f'{type(error).__name__}: {error}')
            print(f"  built {model_name} for {spec['engine']}", flush=True)
        for runner in runners.values():
            for _ in range(spec['warmup']):
                runner()
        rounds: Dict[str, List[float]] = {name: [] for name in runners}
        for _ in range(spec['repeats']):
            for name, runner in runners.items():
                times = []
                for _ in range(spec['iters']):
                    start = time.perf_counter()
                    runner()
                    times.append(time.perf_counter() - start)
                rounds[name].append(statistics.median(times) * 1e3)
        for name, model in models.items():  # in-use heap growth of one pass: the model's own, see HeapPeak
            infos[name].update(_memory(spec, model, runners[name], device))
    results = []
    for name in spec['models']:
        row = dict(model=name, batch=spec['batch'], engine=spec['engine'], **infos[name])
        if name in rounds:
            row.update(latency_ms=statistics.median(rounds[name]), latency_min_ms=min(rounds[name]),
                       latency_max_ms=max(rounds[name]), round_medians_ms=[round(t, 3) for t in rounds[name]])
        results.append(row)
    return results


def _memory(spec: dict, model: nn.Module, step: Callable[[], None], device: torch.device) -> dict:
    """Peak activation memory of one step: glibc's in-use heap growth on CPU (the bytes this pass allocates,
    whatever else the process holds), ``max_memory_allocated`` on CUDA (weights included)."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        step()
        return dict(peak_memory_mb=torch.cuda.max_memory_allocated() / 2**20)
    heap = HeapPeak()
    if not heap.available:  # not glibc: no reliable per-pass figure (peak RSS does not see reused memory)
        return dict(peak_memory_mb=None, peak_rss_mb=peak_rss_mb())
    return dict(peak_memory_mb=heap.measure_mb(model, step), peak_rss_mb=peak_rss_mb())


def measure_memory(spec: dict) -> dict:
    """Parameter count of one model (its memory comes from :func:`time_models`)."""
    name = split_name(spec['model'])[0]
    return dict(params=sum(p.numel() for p in build_model(name, spec['num_classes'], 'native').parameters()))
