"""Benchmarks of ScaleNet against torchvision baselines on PyTorch, ONNX Runtime and OpenVINO (the code behind
``tools/benchmark.py`` and ``tools/benchmark_deconv.py``; the tools only parse arguments)."""
from .deconv_bench import run_deconv_benchmark
from .memory import HeapPeak
from .protocol import ENGINES, machine_load, time_models
from .runner import run_benchmark
from .zoo import TORCHVISION, build_model, count_macs, split_name

__all__ = ['run_deconv_benchmark', 'HeapPeak', 'ENGINES', 'machine_load', 'time_models', 'run_benchmark',
           'TORCHVISION', 'build_model', 'count_macs', 'split_name']
