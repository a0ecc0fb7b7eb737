"""``MultiLabelCAMHead``: a multi-label classification head whose logits pool class activation maps.

Like :class:`~scalenet_mm.models.heads.CAMHead`, a 1x1 convolution projects one feature level to a class score
map, and that map *is* the classic CAM; the logits are a pooling of it::

    cam    = conv1x1(norm_act(x))            # (N, num_classes, H', W'): the class activation maps
    logits = pool(cam)                       # (N, num_classes), sigmoid scores in predict

Why not global average pooling: with several instances per image, GAP rewards a class for covering the
whole image and penalises a small object among background; the CAM then spreads over context. Pooling the
strongest positions localises better for multi-instance images:

* ``'topk'``: mean of the ``k = max(1, round(topk_ratio * H' * W'))`` highest scores of each class map (the
  share of the map an object of the class may cover; ``topk_ratio=1`` is GAP, a tiny ratio is max pooling);
* ``'lse'``: log-sum-exp ``(1 / r) * log(mean(exp(r * cam)))``, a smooth interpolation between GAP (``r -> 0``)
  and max pooling (``r -> inf``) that gives a gradient to every position (Pinheiro & Collobert);
* ``'avg'`` / ``'max'``: the two limits, for comparison.

The head is an mmpretrain :class:`~mmpretrain.models.heads.MultiLabelClsHead`: its loss (default
``CrossEntropyLoss(use_sigmoid=True)``), ``thr`` / ``topk`` prediction rule and ``pred_score`` / ``pred_label``
fields are that class's, so mmpretrain's ``AveragePrecision`` / ``MultiLabelMetric`` evaluate it unchanged. It
exposes ``forward_cam`` and ``pool`` like ``CAMHead``, so the classic-CAM tools (``ClassicCAM``,
``classifier_cams``) read its maps and its logits.

``pred_cam`` (``cam_output``): ``'all'`` (default) stores the ``(C, H', W')`` maps of all classes, since a
multi-label sample has several ground-truth classes; ``'pred'`` the ``(H', W')`` map of the top-scoring class;
``'none'`` nothing. Maps are raw class scores (pre-sigmoid).
"""
import math
from typing import List, Optional, Sequence

import torch
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.structures import DataSample

from scalenet_mm.registry import register_model

from .cam_head import ClassMapProjection, attach_cams

__all__ = ['MultiLabelCAMHead', 'CAM_POOLINGS']

CAM_POOLINGS = ('topk', 'lse', 'avg', 'max')
_CAM_OUTPUTS = ('all', 'pred', 'none')


@register_model()
class MultiLabelCAMHead(ClassMapProjection, MultiLabelClsHead):
    """Multi-label CAM head: 1x1 conv projection + top-k / log-sum-exp pooling of the class maps.

    Args:
        num_classes / in_channels / in_index / norm_act / dropout: the class projection, as in
            :class:`~scalenet_mm.models.heads.CAMHead`.
        pooling: ``'topk'`` (default), ``'lse'``, ``'avg'`` or ``'max'`` (module docstring).
        topk_ratio: share of map positions averaged by ``'topk'``, in ``(0, 1]``.
        lse_r: sharpness ``r > 0`` of ``'lse'``.
        cam_output: what ``predict`` stores in ``pred_cam``: ``'all'`` | ``'pred'`` | ``'none'``.
        loss / thr / topk / init_cfg: as in :class:`mmpretrain.models.heads.MultiLabelClsHead` (``topk`` there is
            the number of labels predicted positive, unrelated to the pooling).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 in_index: int = -1,
                 norm_act: bool = False,
                 dropout: float = 0.0,
                 pooling: str = 'topk',
                 topk_ratio: float = 0.1,
                 lse_r: float = 5.0,
                 cam_output: str = 'all',
                 loss: dict = dict(type='CrossEntropyLoss', use_sigmoid=True),
                 thr: Optional[float] = None,
                 topk: Optional[int] = None,
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Conv2d', std=0.01)):
        super().__init__(loss=loss, thr=thr, topk=topk, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        if pooling not in CAM_POOLINGS:
            raise ValueError(f'pooling must be one of {CAM_POOLINGS}, got {pooling!r}')
        if not 0.0 < float(topk_ratio) <= 1.0:
            raise ValueError(f'topk_ratio must be in (0, 1] (a share of the map positions), got {topk_ratio}')
        if not float(lse_r) > 0.0:
            raise ValueError(f'lse_r must be > 0, got {lse_r}')
        if cam_output not in _CAM_OUTPUTS:
            raise ValueError(f'cam_output must be one of {_CAM_OUTPUTS} for a multi-label head, got {cam_output!r}')
        self._build_projection(num_classes, in_channels, in_index, norm_act, dropout)
        self.pooling = pooling
        self.topk_ratio = float(topk_ratio)
        self.lse_r = float(lse_r)
        self.cam_output = cam_output

    # ------------------------------------------------------------------------------------------ forward
    def pool(self, cams: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` from maps ``(N, C, H', W')`` with the configured pooling."""
        flat = cams.flatten(2)
        if self.pooling == 'avg':
            return flat.mean(dim=2)
        if self.pooling == 'max':
            return flat.amax(dim=2)
        if self.pooling == 'lse':
            r = self.lse_r
            return (torch.logsumexp(r * flat, dim=2) - math.log(flat.shape[2])) / r
        k = max(1, int(round(self.topk_ratio * flat.shape[2])))
        return flat.topk(k, dim=2).values.mean(dim=2)

    # ------------------------------------------------------------------------------------------ predict
    def predict(self,
                feats: Sequence[torch.Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None) -> List[DataSample]:
        cams = self.forward_cam(feats)
        logits = self.pool(cams)
        samples = self._get_predictions(logits, data_samples)
        if self.cam_output == 'all':
            attach_cams(samples, cams, 'all')
        elif self.cam_output == 'pred':
            top = logits.argmax(dim=1)
            for sample, cam, index in zip(samples, cams.detach(), top):
                sample.set_field(cam[int(index)].cpu(), 'pred_cam')
        return samples
