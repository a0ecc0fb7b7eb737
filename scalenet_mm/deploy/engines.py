"""Inference sessions of one ONNX file in ONNX Runtime or OpenVINO, with the settings the benchmarks rely on.

Both run on CPU, in fp32 and with a fixed number of intra-op threads: ONNX Runtime with every graph
optimisation, OpenVINO with ``INFERENCE_PRECISION_HINT=f32`` (on CPUs with bf16/fp16 units it would otherwise
pick a lower precision, which is a different model). Each session can also report where its time goes, per
op type (ONNX Runtime's profiler, OpenVINO's performance counters), for ``docs/benchmarks.md``.
"""
import collections
import json
import os
import tempfile
from typing import Dict, List, Sequence

import numpy as np

__all__ = ['ENGINES', 'EngineSession', 'OnnxRuntimeSession', 'OpenVINOSession', 'create_session',
           'engine_available', 'max_abs_diff']

ENGINES = ('onnxruntime', 'openvino')


def engine_available(engine: str) -> bool:
    """Whether the runtime of ``engine`` is installed (``requirements/deploy.txt``)."""
    module = {'onnxruntime': 'onnxruntime', 'openvino': 'openvino'}.get(engine)
    if module is None:
        raise ValueError(f'unknown engine {engine!r}; choose one of {ENGINES}')
    try:
        __import__(module)
    except ImportError:
        return False
    return True


class EngineSession:
    """``session(x) -> list of numpy outputs`` for NCHW float32 inputs."""

    engine = ''

    def __call__(self, x: np.ndarray) -> List[np.ndarray]:
        raise NotImplementedError

    def op_profile(self, x: np.ndarray, runs: int = 5) -> Dict[str, float]:
        """Milliseconds per op type, summed over the graph and averaged over ``runs`` calls."""
        raise NotImplementedError


def _require(engine: str) -> None:
    if not engine_available(engine):
        raise ImportError(f'{engine} is not installed: pip install -r requirements/deploy.txt')


class OnnxRuntimeSession(EngineSession):
    """ONNX Runtime, CPU execution provider, all graph optimisations, sequential execution."""

    engine = 'onnxruntime'

    def __init__(self, path: str, threads: int = 2, profile: bool = False) -> None:
        _require('onnxruntime')
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if profile:
            options.enable_profiling = True
            options.profile_file_prefix = os.path.join(tempfile.mkdtemp(prefix='ort_profile_'), 'ort')
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, x: np.ndarray) -> List[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})

    def op_profile(self, x: np.ndarray, runs: int = 5) -> Dict[str, float]:
        self(x)  # warm-up, not in the profile's average
        for _ in range(runs):
            self(x)
        with open(self.session.end_profiling()) as f:
            events = json.load(f)
        per_type: Dict[str, float] = collections.defaultdict(float)
        for event in events:
            args = event.get('args', {})
            if event.get('cat') == 'Node' and event.get('name', '').endswith('_kernel_time'):
                per_type[args.get('op_name', '?')] += event['dur'] / 1e3
        return {op: ms / (runs + 1) for op, ms in sorted(per_type.items(), key=lambda kv: -kv[1])}


class OpenVINOSession(EngineSession):
    """OpenVINO on CPU, fp32 forced, ``threads`` inference threads, latency mode, one synchronous request."""

    engine = 'openvino'

    def __init__(self, path: str, threads: int = 2, profile: bool = False) -> None:
        _require('openvino')
        import openvino as ov
        core = ov.Core()
        config = {'INFERENCE_NUM_THREADS': threads, 'INFERENCE_PRECISION_HINT': 'f32', 'PERFORMANCE_HINT': 'LATENCY',
                  'NUM_STREAMS': 1}
        if profile:
            config['PERF_COUNT'] = True
        self.model = core.read_model(path)
        self.compiled = core.compile_model(self.model, 'CPU', config)
        precision = str(self.compiled.get_property('INFERENCE_PRECISION_HINT'))
        if precision not in ('f32', "<Type: 'float32'>", 'float32'):
            raise RuntimeError(f'OpenVINO compiled the model in {precision}, not f32')
        self.request = self.compiled.create_infer_request()
        self.outputs = list(self.compiled.outputs)

    def __call__(self, x: np.ndarray) -> List[np.ndarray]:
        result = self.request.infer({0: np.ascontiguousarray(x, dtype=np.float32)})
        return [np.asarray(result[o]) for o in self.outputs]

    def op_profile(self, x: np.ndarray, runs: int = 5) -> Dict[str, float]:
        self(x)
        per_type: Dict[str, float] = collections.defaultdict(float)
        for _ in range(runs):
            self(x)
            for info in self.request.get_profiling_info():
                per_type[info.node_type] += info.real_time.total_seconds() * 1e3
        return {op: ms / runs for op, ms in sorted(per_type.items(), key=lambda kv: -kv[1]) if ms > 0}


def create_session(engine: str, path: str, threads: int = 2, profile: bool = False) -> EngineSession:
    """A session of ``engine`` (``'onnxruntime'`` or ``'openvino'``) on the ONNX file ``path``."""
    sessions = {'onnxruntime': OnnxRuntimeSession, 'openvino': OpenVINOSession}
    if engine not in sessions:
        raise ValueError(f'unknown engine {engine!r}; choose one of {ENGINES}')
    return sessions[engine](path, threads=threads, profile=profile)


def max_abs_diff(outputs: Sequence[np.ndarray], expected: Sequence[np.ndarray]) -> float:
    """Largest absolute difference over matching outputs (shapes must agree)."""
    if len(outputs) != len(expected):
        raise ValueError(f'{len(outputs)} outputs, expected {len(expected)}')
    worst = 0.0
    for got, want in zip(outputs, expected):
        if got.shape != want.shape:
            raise ValueError(f'output shape {got.shape} differs from the expected {want.shape}')
        worst = max(worst, float(np.abs(got - want).max()) if got.size else 0.0)
    return worst
