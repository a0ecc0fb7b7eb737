"""The whole export of ``tools/export_onnx.py``: build, choose export forms, export, check, verify, annotate."""
import json
from typing import Optional, Sequence, Union

import torch

from .detector_export import build_detector_raw
from .engines import engine_available
from .form_selection import prepare_for_export, select_export_model
from .model_builder import build_export_model
from .onnx_export import OPSET, export_onnx, verify_onnx

__all__ = ['export_model']


def export_model(source: str,
                 output: str,
                 checkpoint: Optional[str] = None,
                 out_indices: Optional[Sequence[Union[int, str]]] = None,
                 dynamic: bool = True,
                 engine: Optional[str] = None,
                 batch: int = 1,
                 size: Optional[int] = None,
                 verify_sizes: Optional[Sequence[int]] = None,
                 num_classes: int = 1000,
                 threads: int = 2,
                 atol: float = 1e-4,
                 detector_raw: bool = False) -> dict:
    """Export ``source`` (config or preset) to ``output`` and verify it; returns a report.

    ``engine`` (``'onnxruntime'``/``'openvino'``) selects the export forms by measuring them in that engine at
    ``batch x size x size``; ``None`` keeps each engine's own ops. Verification runs in every installed engine
    on ``verify_sizes`` (default: the export size and two other multiples of the network's stride) and fails
    above ``atol``. ``detector_raw``: ``source`` is an mmdet config, exported up to its raw FPN and RPN outputs
    (:mod:`scalenet_mm.deploy.detector_export`).
    """
    if detector_raw:
        built = build_detector_raw(source, checkpoint)
    else:
        built = build_export_model(source, checkpoint, out_indices, num_classes)
    size = size or built.input_size
    multiple = int(built.metadata['input_size_multiple'])
    if size % multiple:
        raise ValueError(f'--size {size} is not a multiple of {multiple} (the coarsest stride of this network); '
                         'the exported graph accepts multiples of it only')
    example = torch.randn(batch, 3, size, size)
    if engine is None:
        model, forms = prepare_for_export(built.module, example)
    else:
        model, forms = select_export_model(built.module, example, engine, threads=threads)
    metadata = dict(built.metadata, output_names=','.join(built.output_names), exporter='torch.onnx (TorchScript)',
                    opset=str(OPSET), export_forms=json.dumps(forms['forms']), tuned_for=str(engine))
    export_onnx(model, output, example, built.output_names, dynamic=dynamic, metadata=metadata)
    sizes = list(verify_sizes or ([size, size + multiple, size + 2 * multiple] if dynamic else [size]))
    engines = [e for e in ('onnxruntime', 'openvino') if engine_available(e)]
    checks = verify_onnx(output, built.module, sizes, engines=engines, batch=2 if dynamic else batch, atol=atol,
                         threads=threads)
    return dict(output=output, output_names=built.output_names, metadata=metadata, forms=forms, checks=checks)
