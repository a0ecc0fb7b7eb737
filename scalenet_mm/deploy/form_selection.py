"""Choose, per engine and per layer shape, the fastest exact export form of each deconvolution and BN+ReLU.

:func:`prepare_for_export` copies the model, brings it to its inference form (every ``switch_to_deploy()``),
records the input shape of every replaceable layer on the example input, and for each distinct
``(layer kind, weights shape, input shape)`` exports every candidate form of
:mod:`scalenet_mm.deploy.export_forms` as a one-layer ONNX graph, runs it in the target engine and keeps the
fastest (candidates interleaved over the timed rounds, median). This is the ``cudnn.benchmark`` idea applied
once at export, per engine: ONNX Runtime and OpenVINO rank the forms differently.
"""
import os.path as osp
import statistics
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .bn_fusion import AffineReLU
from .cpu_inference import switch_to_deploy
from .engines import create_session
from .export_forms import DECONV_FORMS, NORM_FORMS, deconv_export_form, is_export_deconv, norm_export_form
from .onnx_export import export_copy, export_onnx

__all__ = ['prepare_for_export', 'select_export_model', 'DEFAULT_FORMS']

#: forms used without measuring (no engine given): each engine's own ops
DEFAULT_FORMS = dict(deconv='convtranspose', norm='batchnorm')


def _kind(m: nn.Module) -> Optional[str]:
    if is_export_deconv(m):
        return 'deconv'
    if isinstance(m, AffineReLU):
        return 'norm'
    return None


def _candidates(kind: str, module: nn.Module, forms: Sequence[str]) -> Dict[str, nn.Module]:
    if kind == 'deconv':
        k = module.kernel_size[0]
        return {f: deconv_export_form(module, f) for f in forms if not (f == 'fused' and k != 3)}
    return {f: norm_export_form(module, f) for f in forms}


def _record_shapes(model: nn.Module, example: torch.Tensor) -> Dict[nn.Module, Tuple[int, ...]]:
    shapes = {}

    def hook(module, args):
        shapes.setdefault(module, tuple(args[0].shape))

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if _kind(m)]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return shapes


def _time_forms(candidates: Dict[str, nn.Module], shape: Tuple[int, ...], engine: str, threads: int,
                repeats: int, workdir: str) -> Dict[str, float]:
    x = torch.randn(shape)
    sessions = {}
    for form, module in candidates.items():
        path = osp.join(workdir, f'{form}.onnx')
        export_onnx(module.eval(), path, x, ['output'], dynamic=False)
        sessions[form] = create_session(engine, path, threads=threads)
    xn = x.numpy()
    for session in sessions.values():
        for _ in range(2):
            session(xn)
    times: Dict[str, List[float]] = {form: [] for form in sessions}
    for _ in range(repeats):  # interleaved: background load hits every candidate alike
        for form, session in sessions.items():
            start = time.perf_counter()
            session(xn)
            times[form].append(time.perf_counter() - start)
    return {form: statistics.median(t) * 1e3 for form, t in times.items()}


def _signature(kind: str, module: nn.Module, shape: Tuple[int, ...]) -> tuple:
    if kind == 'deconv':
        return kind, tuple(module.weight.shape), shape
    return kind, shape


def prepare_for_export(model: nn.Module,
                       example: torch.Tensor,
                       engine: Optional[str] = None,
                       threads: int = 2,
                       repeats: int = 7,
                       deconv_forms: Sequence[str] = DECONV_FORMS,
                       norm_forms: Sequence[str] = NORM_FORMS) -> Tuple[nn.Module, dict]:
    """An exportable copy of ``model`` with each layer in its fastest form for ``engine``.

    Args:
        model: a ScaleNet model (any model: layers without an export form are left as they are).
        example: an input of the batch size and image size the engine will run (the ranking depends on it).
        engine: ``'onnxruntime'`` / ``'openvino'`` to measure, or ``None`` for :data:`DEFAULT_FORMS`.
        repeats: timed rounds per candidate.
        deconv_forms / norm_forms: the candidates (see :mod:`scalenet_mm.deploy.export_forms`).

    Returns:
        ``(model copy, report)``; ``report['choices']`` lists ``{kind, shape, weight, times_ms, form, layers}``
        per distinct layer signature and ``report['forms']`` counts the layers per chosen form.
    """
    model = export_copy(model)
    switch_to_deploy(model)
    shapes = _record_shapes(model, example)
    groups: Dict[tuple, List[Tuple[nn.Module, str, nn.Module]]] = {}
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            kind = _kind(child)
            if kind and child in shapes:
                groups.setdefault(_signature(kind, child, shapes[child]), []).append((parent, name, child))
    choices, counts = [], {}
    with tempfile.TemporaryDirectory(prefix='export_forms_') as workdir:
        for signature, members in groups.items():
            kind, shape = signature[0], signature[-1]
            forms = deconv_forms if kind == 'deconv' else norm_forms
            first = members[0][2]
            candidates = _candidates(kind, first, forms) or _candidates(kind, first, [DEFAULT_FORMS[kind]])
            if engine is None or len(candidates) == 1:
                times, best = {}, DEFAULT_FORMS[kind] if engine is None else next(iter(candidates))
            else:
                times = _time_forms(candidates, shape, engine, threads, repeats, workdir)
                best = min(times, key=times.get)
            for parent, name, child in members:
                setattr(parent, name, _candidates(kind, child, [best])[best])
            counts[f'{kind}:{best}'] = counts.get(f'{kind}:{best}', 0) + len(members)
            choices.append(dict(kind=kind, shape=list(shape), weight=list(first.weight.shape) if kind == 'deconv'
                                else None, times_ms={k: round(v, 4) for k, v in times.items()}, form=best,
                                layers=len(members)))
    return model.eval(), dict(engine=engine, choices=choices, forms=counts)


def _time_models(models: Dict[str, nn.Module], example: torch.Tensor, engine: str, threads: int, repeats: int,
                 workdir: str) -> Dict[str, float]:
    sessions = {}
    for name, model in models.items():
        path = osp.join(workdir, f'whole_{name.replace(":", "_")}.onnx')
        export_onnx(model, path, example, ['output'], dynamic=False)
        sessions[name] = create_session(engine, path, threads=threads)
    x = example.numpy()
    for session in sessions.values():
        session(x)
    times: Dict[str, List[float]] = {name: [] for name in sessions}
    for _ in range(repeats):
        for name, session in sessions.items():
            start = time.perf_counter()
            session(x)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def select_export_model(model: nn.Module,
                        example: torch.Tensor,
                        engine: str,
                        threads: int = 2,
                        repeats: int = 5,
                        whole_repeats: int = 5) -> Tuple[nn.Module, dict]:
    """Like :func:`prepare_for_export`, then a check in context: the per-layer choice is timed as a whole model
    against the same model with one deconvolution form everywhere (layout changes between ops, which a
    one-layer graph does not show, can reverse a ranking), and the fastest whole model is returned.

    ``report['strategies']`` holds the whole-model median ms per strategy, ``report['strategy']`` the winner.
    """
    per_layer, report = prepare_for_export(model, example, engine, threads, repeats)
    norm_counts = {k.split(':')[1]: v for k, v in report['forms'].items() if k.startswith('norm:')}
    norm = [max(norm_counts, key=norm_counts.get)] if norm_counts else list(NORM_FORMS[:1])
    candidates = {'per_layer': (per_layer, report)}
    if any(k.startswith('deconv:') for k in report['forms']):
        for form in DECONV_FORMS:
            candidates[f'all:{form}'] = prepare_for_export(model, example, engine, threads, repeats,
                                                           deconv_forms=[form], norm_forms=norm)
    if len(candidates) == 1:
        return per_layer, dict(report, strategy='per_layer', strategies={})
    with tempfile.TemporaryDirectory(prefix='export_whole_') as workdir:
        times = _time_models({k: v[0] for k, v in candidates.items()}, example, engine, threads, whole_repeats,
                             workdir)
    best = min(times, key=times.get)
    chosen, chosen_report = candidates[best]
    return chosen, dict(chosen_report, strategy=best, strategies={k: round(v, 3) for k, v in times.items()},
                        per_layer_choices=report['choices'])
