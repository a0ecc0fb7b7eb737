"""Benchmark output: the markdown table, the latency chart and the JSON file (with the machine's load)."""
import json
import os
import os.path as osp
from typing import List

__all__ = ['format_table', 'plot', 'write_json']


def format_table(results: List[dict], peak: float, baseline: str) -> str:
    engine = results[0].get('engine', 'torch') if results else 'torch'
    rows = [f'| model | batch | params (M) | GMACs/img | latency (ms) | range (ms) | x {baseline} | img/s | GFLOP/s '
            f'| % GEMM peak | peak act. mem (MB) | x {baseline} mem |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|']
    base = {r['batch']: r for r in results if r['model'] == baseline and 'error' not in r}
    for r in results:
        if 'error' in r:
            rows.append(f"| {r['model']} | {r['batch']} | error: {r['error']} ||||||||||")
            continue
        b = base.get(r['batch'])
        ratio = f"{r['latency_ms'] / b['latency_ms']:.2f}" if b else '-'
        mem = r.get('peak_memory_mb')
        bmem = b.get('peak_memory_mb') if b else None
        mem_text = '-' if mem is None else f'{mem:.0f}'
        mem_ratio = f'{mem / bmem:.2f}' if mem is not None and bmem else '-'
        rows.append(f"| {r['model']} | {r['batch']} | {r['params'] / 1e6:.2f} | {r['macs'] / 1e9:.3f} | "
                    f"{r['latency_ms']:.1f} | {r['latency_min_ms']:.1f}-{r['latency_max_ms']:.1f} | {ratio} | "
                    f"{r['throughput']:.1f} | {r['gflops']:.1f} | {100 * r['gflops'] / peak:.0f}% | {mem_text} | "
                    f"{mem_ratio} |")
    return f'engine: {engine}\n' + '\n'.join(rows)


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
        lat = [rows[m]['latency_ms'] for m in names]
        err = [[rows[m]['latency_ms'] - rows[m]['latency_min_ms'] for m in names],
               [rows[m]['latency_max_ms'] - rows[m]['latency_ms'] for m in names]]
        ax.bar(names, lat, yerr=err, capsize=3,
               color=['tab:orange' if m.startswith(('resnet', 'densenet')) else 'tab:blue' for m in names])
        engine = results[0].get('engine', 'torch')
        ax.set_title(f'{engine}, batch {batch}: median latency (range)')
        ax.set_ylabel('ms')
        ax.tick_params(axis='x', rotation=45)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)


def write_json(path: str, payload: dict) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(payload, f, indent=1)
