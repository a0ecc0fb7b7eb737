"""Detector export up to its raw head outputs: backbone + FPN + RPN head, before any decoding or NMS.

mmdeploy 1.3.1, the OpenMMLab tool that exports whole detectors (NMS included), does not install against this
stack (see ``docs/benchmarks.md``: it pins ``protobuf<=3.20.2``, which forces ``onnx`` down to 1.17, and its
ONNX Runtime custom-op library is built for ONNX Runtime 1.15). What every deployment of a two-stage detector
shares is the dense part: the FPN maps that the RoI head pools from and the RPN's per-level objectness and box
deltas. This module exports exactly that, with standard ONNX ops, so it runs in any engine; proposal
decoding, NMS and the RoI head stay in the host program (mmdet's ``rpn_head.predict_by_feat`` and
``roi_head.predict`` take these tensors as they are).
"""
import os.path as osp
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from .model_builder import ExportModel, _class_names, _metadata, _preprocessing, _quiet_init

__all__ = ['DetectorRawOutputs', 'build_detector_raw']


class DetectorRawOutputs(nn.Module):
    """``images -> (FPN level 0..L-1, RPN objectness per level, RPN box deltas per level)`` of an mmdet
    two-stage detector (or the FPN maps and the dense head outputs of a one-stage one)."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        if not hasattr(detector, 'extract_feat'):
            raise ValueError(f'{type(detector).__name__} is not an mmdet detector (no extract_feat)')
        self.detector = detector
        self.head = getattr(detector, 'rpn_head', None) or getattr(detector, 'bbox_head', None)
        if self.head is None:
            raise ValueError(f'{type(detector).__name__} has neither an rpn_head nor a bbox_head to export')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.detector.extract_feat(x)
        scores, deltas = self.head(feats)[:2]
        return tuple(feats) + tuple(scores) + tuple(deltas)

    def output_names(self, levels: int) -> List[str]:
        kind = 'rpn' if hasattr(self.detector, 'rpn_head') else 'head'
        return ([f'fpn{i}' for i in range(levels)] + [f'{kind}_cls{i}' for i in range(levels)]
                + [f'{kind}_bbox{i}' for i in range(levels)])


def build_detector_raw(config: str, checkpoint: Optional[str] = None) -> ExportModel:
    """An mmdet config's detector as :class:`DetectorRawOutputs`, with its preprocessing as metadata."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from scalenet_mm.apis import build_model, load_config, model_scope
    cfg = load_config(config)  # names a missing file
    init_default_scope(model_scope(cfg))
    model = build_model(cfg, init_weights=False, model_overrides=dict(backbone=dict(deconv_impl='native')))
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False)
    else:
        _quiet_init(model)
    module = DetectorRawOutputs(model.eval())
    levels = model.neck.num_outs if model.with_neck else len(model.backbone.out_indices)
    pre = _preprocessing(cfg)
    size_multiple = int(getattr(model.backbone, 'min_input_size', 32))
    meta = _metadata(pre['mean'], pre['std'], pre['to_rgb'], _class_names(cfg), 'detection (raw RPN/FPN outputs)',
                     osp.basename(config), max(size_multiple, 32))
    return ExportModel(module.eval(), module.output_names(levels), int(cfg.get('image_size') or 320), meta)
