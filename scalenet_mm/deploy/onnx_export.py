"""ONNX export of ScaleNet models: TorchScript exporter, opset 17, dynamic batch and H x W, checked and verified.

Why the TorchScript exporter (``torch.onnx.export(..., dynamo=False)``): it exports every op ScaleNet uses
exactly, needs no extra package, and its eval-mode peephole folds conv -> BN pairs. Shape-dependent Python
branches (cropping odd deconvolution outputs, padding odd sides) are traced at the export size, so the
exported graph accepts any batch and any H, W that are multiples of the network's coarsest stride (stored as
``input_size_multiple`` in the metadata; :func:`verify_onnx` checks several such sizes).

Before export the model is brought to its inference form (``switch_to_deploy()``) and every stride-2
deconvolution and pre-activation BN+ReLU gets the export form chosen for the target engine
(:mod:`scalenet_mm.deploy.form_selection`), so the graph holds only standard ONNX ops.
"""
import copy
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .engines import create_session, max_abs_diff

__all__ = ['ExportError', 'OPSET', 'export_onnx', 'add_metadata', 'read_metadata', 'verify_onnx',
           'check_exportable', 'fold_pads_into_convs']

OPSET = 17


class ExportError(RuntimeError):
    """A model (or a part of it) that cannot be exported to ONNX, with the reason and the way out."""


def check_exportable(model: nn.Module) -> None:
    """Raise :class:`ExportError` for modules that have no ONNX form, naming them and the fix."""
    from scalenet_mm.models.layers.phase_deconv import PhaseDeconv2d

    from .onednn import OneDNNConv2d, OneDNNConvTranspose2d
    for name, module in model.named_modules():
        if isinstance(module, (OneDNNConv2d, OneDNNConvTranspose2d)):
            raise ExportError(f'{name}: {type(module).__name__} is a oneDNN-packed PyTorch-internal op (from '
                              'deploy_for_cpu) with no ONNX form; export the model before deploy_for_cpu')
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
            raise ExportError(f'{name}: batch norm in training mode; call model.eval() before export')
        if isinstance(module, PhaseDeconv2d):
            raise ExportError(f'{name}: PhaseDeconv2d runs inside an autograd Function, which the exporter '
                              'cannot trace; use scalenet_mm.deploy.prepare_for_export (it replaces it by an '
                              'export form with the same weights)')


def export_onnx(model: nn.Module,
                path: str,
                example: torch.Tensor,
                output_names: Sequence[str],
                dynamic: bool = True,
                metadata: Optional[Dict[str, str]] = None,
                opset: int = OPSET) -> str:
    """Export ``model`` (already in its export form, see :func:`prepare_for_export`) to ``path``.

    The file is checked with ``onnx.checker`` and carries ``metadata`` as ``metadata_props``. Returns ``path``.
    """
    import onnx
    check_exportable(model)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    output_names = list(output_names)
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
        dynamic_axes.update({name: {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'} for name in output_names})
        if output_names == ['logits']:
            dynamic_axes['logits'] = {0: 'batch'}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore')  # tracer warnings about Python shape branches (see the module doc)
            torch.onnx.export(model, (example, ), path, input_names=['input'], output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True,
                              dynamo=False, training=torch.onnx.TrainingMode.EVAL)
    except Exception as error:
        raise ExportError(f'torch.onnx.export failed for {type(model).__name__}: {type(error).__name__}: {error}. '
                          'Only standard ops export: convert the model with prepare_for_export first') from error
    proto = onnx.load(path)
    fold_pads_into_convs(proto.graph)
    if metadata:
        _set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)
    return path


def _constant_values(graph) -> Dict[str, np.ndarray]:
    from onnx import numpy_helper
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == 'Constant' and node.attribute and node.attribute[0].name == 'value':
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def _fold_pad_sizes(graph) -> None:
    """Evaluate the exporter's pad-size arithmetic (``ConstantOfShape -> Concat -> ... -> Cast``, constant but
    left unfolded in dynamic exports) into ``Constant`` pads, so that :func:`fold_pads_into_convs` sees them."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator
    constants = _constant_values(graph)
    producers = {out: node for node in graph.node for out in node.output}
    wanted, needed = [], set()
    for pad in (n for n in graph.node if n.op_type == 'Pad'):
        for name in pad.input[1:3]:
            if not name or name in constants:
                continue
            ancestors, stack, foldable = set(), [name], True
            while stack and foldable:
                current = stack.pop()
                if current in constants or not current:
                    continue
                node = producers.get(current)
                if node is None or node.op_type in ('Shape', 'Size'):
                    foldable = False  # depends on the input's shape: not a constant
                    break
                if id(node) not in ancestors:
                    ancestors.add(id(node))
                    stack.extend(node.input)
            if foldable:
                wanted.append(name)
                needed |= ancestors
    if not wanted:
        return
    nodes = [n for n in graph.node if id(n) in needed]
    leaves = {i for n in nodes for i in n.input if i in constants}
    model = helper.make_model(
        helper.make_graph(nodes, 'pad_sizes', [], [helper.make_tensor_value_info(w, 0, None) for w in wanted],
                          [numpy_helper.from_array(np.asarray(constants[n]), n) for n in sorted(leaves)]),
        opset_imports=[helper.make_opsetid('', OPSET)])
    values = ReferenceEvaluator(model).run(None, {})
    renamed = {}
    for name, value in zip(wanted, values):
        renamed[name] = f'{name}_folded'
        graph.node.insert(0, helper.make_node('Constant', [], [renamed[name]],
                                              value=numpy_helper.from_array(np.asarray(value), renamed[name])))
    for pad in (n for n in graph.node if n.op_type == 'Pad'):
        for i in (1, 2):
            if len(pad.input) > i and pad.input[i] in renamed:
                pad.input[i] = renamed[pad.input[i]]


def _prune_dead_nodes(graph) -> None:
    while True:
        used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(out in used for out in n.output)]
        if not dead:
            return
        for node in dead:
            graph.node.remove(node)


def fold_pads_into_convs(graph) -> int:
    """Merge zero ``Pad`` nodes into the ``Conv`` nodes that consume them (ONNX ``Conv`` takes asymmetric
    ``pads``), as the phase export forms pad one side only; returns how many were folded. The exporter writes
    ``F.pad`` as a separate op, which an engine would otherwise run as an extra copy of the input."""
    from onnx import helper
    _fold_pad_sizes(graph)
    constants = _constant_values(graph)
    consumers: Dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    folded = []
    for node in graph.node:
        if node.op_type != 'Pad' or len(node.input) < 2 or node.output[0] in outputs:
            continue
        mode = next((helper.get_attribute_value(a) for a in node.attribute if a.name == 'mode'), b'constant')
        pads = constants.get(node.input[1])
        value = constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(1)
        users = consumers.get(node.output[0], [])
        if (mode != b'constant' or pads is None or pads.size != 8 or value is None or np.any(value != 0)
                or np.any(pads[[0, 1, 4, 5]] != 0) or np.any(pads < 0) or not users
                or any(u.op_type != 'Conv' or u.input[0] != node.output[0] for u in users)):
            continue
        for conv in users:
            attrs = {a.name: a for a in conv.attribute}
            if 'auto_pad' in attrs and helper.get_attribute_value(attrs['auto_pad']) not in (b'NOTSET', b''):
                break
        else:
            top, left, bottom, right = (int(v) for v in pads[[2, 3, 6, 7]])
            for conv in users:
                attrs = {a.name: a for a in conv.attribute}
                old = list(helper.get_attribute_value(attrs['pads'])) if 'pads' in attrs else [0, 0, 0, 0]
                new = [old[0] + top, old[1] + left, old[2] + bottom, old[3] + right]
                if 'pads' in attrs:
                    conv.attribute.remove(attrs['pads'])
                conv.attribute.append(helper.make_attribute('pads', new))
                conv.input[0] = node.input[0]
            folded.append(node)
    for node in folded:
        graph.node.remove(node)
    _prune_dead_nodes(graph)
    return len(folded)


def _set_metadata(proto, metadata: Dict[str, str]) -> None:
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in metadata.items():
        prop = existing.get(key) or proto.metadata_props.add()
        prop.key, prop.value = key, str(value)


def add_metadata(path: str, metadata: Dict[str, str]) -> None:
    """Add or overwrite ``metadata_props`` of an ONNX file."""
    import onnx
    proto = onnx.load(path)
    _set_metadata(proto, metadata)
    onnx.save(proto, path)


def read_metadata(path: str) -> Dict[str, str]:
    """The ``metadata_props`` of an ONNX file."""
    import onnx
    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


def verify_onnx(path: str,
                model: nn.Module,
                sizes: Sequence[int],
                engines: Sequence[str] = ('onnxruntime', ),
                batch: int = 2,
                threads: int = 2,
                atol: float = 1e-4,
                seed: int = 0) -> List[dict]:
    """Run ``path`` in each engine on random ``batch x 3 x size x size`` inputs and compare with ``model``.

    Returns one ``{'engine', 'size', 'batch', 'max_abs_diff'}`` per engine and size; raises
    :class:`ExportError` when a difference exceeds ``atol``.
    """
    gen = torch.Generator().manual_seed(seed)
    results = []
    for engine in engines:
        session = create_session(engine, path, threads=threads)
        for size in sizes:
            x = torch.randn(batch, 3, size, size, generator=gen)
            with torch.no_grad():
                expected = model(x)
            expected = [t.numpy() for t in (expected if isinstance(expected, (tuple, list)) else [expected])]
            diff = max_abs_diff(session(x.numpy()), expected)
            results.append(dict(engine=engine, size=size, batch=batch, max_abs_diff=diff))
            if not diff <= atol:
                raise ExportError(f'{engine} output differs from PyTorch by {diff:.3g} (> {atol:g}) at {size}x{size}')
    return results


def export_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode (the export forms replace modules; the caller's model is kept)."""
    return copy.deepcopy(model).eval()


def to_numpy(outputs) -> List[np.ndarray]:
    return [t.detach().numpy() for t in (outputs if isinstance(outputs, (tuple, list)) else [outputs])]
