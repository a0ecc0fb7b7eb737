"""``tools/benchmark.py``'s run: MACs, memory and interleaved timing of every model, then table/JSON/chart."""
from typing import Dict, List, Sequence

from .protocol import ENGINES, gemm_peak, machine_load, measure_memory, run_isolated, time_models
from .report import format_table, plot, write_json
from .zoo import count_macs, split_name

__all__ = ['run_benchmark']


def run_benchmark(models: Sequence[str], batch_sizes: Sequence[int], settings: Dict[str, object], baseline: str,
                  json_path: str = None, chart_path: str = None) -> dict:
    """Benchmark ``models`` (``baseline`` is added when missing) and print the table; returns the JSON payload.

    ``settings``: ``engine, device, threads, size, num_classes, warmup, iters, repeats, mode, deconv_impl, amp,
    channels_last, compile`` (see ``tools/benchmark.py --help``), plus ``profile`` for per-op-type profiles.
    """
    if settings['engine'] not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {settings['engine']!r}")
    if settings['engine'] != 'torch' and (settings['device'] != 'cpu' or settings['mode'] != 'infer'):
        raise ValueError('the ONNX engines run CPU inference only: use --device cpu --mode infer')
    models = list(models)
    for name in models:
        split_name(name)
    if baseline not in models:
        models.append(baseline)
    load_before = machine_load()
    peak = run_isolated(gemm_peak, settings)
    print(f"fp32 GEMM peak on {settings['device']} with {settings['threads']} threads: {peak:.1f} GFLOP/s "
          f"(load average {load_before['load_1min']})")
    shape = (3, settings['size'], settings['size'])
    macs = {m: count_macs(split_name(m)[0], settings['num_classes'], shape) for m in models}
    results: List[dict] = []
    for batch in batch_sizes:
        rows = run_isolated(time_models, dict(settings, models=models, batch=batch))
        if isinstance(rows, dict):  # the whole worker failed
            rows = [dict(model=m, batch=batch, engine=settings['engine'], error=rows['error']) for m in models]
        for row in rows:
            if 'error' not in row:
                row.update(measure_memory(dict(settings, model=row['model'])))
                m = macs[row['model']]
                latency = row['latency_ms'] / 1e3
                flops = 2 * m * batch * (3 if settings['mode'] == 'train' else 1)  # backward ~ 2x forward
                row.update(macs=m, throughput=batch / latency, gflops=flops / latency / 1e9)
            results.append(dict(settings, **row))
            shown = row.get('error') or f"{row['latency_ms']:.1f} ms ({row['latency_min_ms']:.1f}-" \
                                        f"{row['latency_max_ms']:.1f})"
            print(f"  {row['model']:>16s} batch {batch:>3d}: {shown}", flush=True)
    table = format_table(results, peak, baseline)
    print(table)
    payload = dict(gemm_peak_gflops=peak, settings=settings, load_before=load_before, load_after=machine_load(),
                   results=results)
    print(f"load average before/after: {load_before['load_1min']} / {payload['load_after']['load_1min']} "
          f"on {load_before['cpus']} CPUs")
    if json_path:
        write_json(json_path, payload)
    if chart_path:
        plot(results, chart_path)
        print(f'chart: {chart_path}')
    return payload
