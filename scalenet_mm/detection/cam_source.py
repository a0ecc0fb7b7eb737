"""Where the pseudo-box pipeline gets its class activation maps from (one function, easy to swap)."""
from typing import Tuple

import torch
import torch.nn as nn

__all__ = ['classifier_cams']


def _is_multilabel(head: nn.Module) -> bool:
    from mmpretrain.models.heads import MultiLabelClsHead
    return isinstance(head, MultiLabelClsHead)


@torch.no_grad()
def classifier_cams(model: nn.Module, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Classic CAMs of all classes and the classifier's class scores for a batch of preprocessed images.

    ``model`` is an mmpretrain ``ImageClassifier`` whose head supports classic CAM (scalenet_mm's
    ``CAMHead``, or a ``LinearClsHead`` / ``MultiLabelLinearClsHead`` after global average pooling: then
    ``CAM_c(x, y) = sum_k w_ck F_k(x, y) + b_c`` on the backbone's last output, i.e. exactly the classifier
    evaluated at every position). Returns ``(cams (N, C, h, w), scores (N, C))`` with sigmoid scores for a
    multi-label head and softmax scores otherwise.
    """
    from scalenet_mm.wsol.gradcam import ClassicCAM
    cams, logits = ClassicCAM(model).all_maps(inputs)
    scores = logits.sigmoid() if _is_multilabel(model.head) else logits.softmax(dim=1)
    return cams, scores
