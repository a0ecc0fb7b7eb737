"""``CAMHead``: a classification head whose logits are the spatial average of class activation maps.

The head applies a 1x1 convolution (``num_classes`` filters, with bias) to one feature level and global
average pooling to the resulting class score map::

    cam    = conv1x1(norm_act(x))            # (N, num_classes, H', W'): the class activation maps
    logits = cam.mean(dim=(2, 3))            # (N, num_classes)

Because averaging and the 1x1 projection commute, this is exactly "GAP + Linear" (Zhou et al.'s CAM
classifier); the maps the head outputs at test time *are* the classifier evaluated at every position, at
the resolution of the chosen level (no up-sampling, no gradients).

Which level: ``in_index`` selects an element of the backbone (or neck) output tuple. For ScaleNet the head
input (last level, ``out_indices=(-1,)``) is already BN+ReLU'd by the backbone; the stage outputs
(``out_indices=(1,)`` ... and the within-block maps) are raw pre-activation residual sums, so set
``norm_act=True`` there: the head then owns a ``BatchNorm2d`` + ``ReLU`` before the projection (the
same normalisation the backbone applies to its own head input).

At ``predict`` time each data sample gets, besides ``pred_score`` / ``pred_label``, a ``pred_cam``
field following the :class:`~scalenet_mm.evaluation.WSOLMetric` contract:

* ``cam_output='gt'`` (default): the ``(H', W')`` map of the ground-truth class when the sample has a
  ``gt_label`` (the predicted class otherwise);
* ``'pred'``: the map of the predicted class;
* ``'all'``: the ``(C, H', W')`` maps of all classes (memory: C*H'*W' floats per sample).

Maps are raw class scores (pre-softmax, may be negative); the metric min-max normalises them.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from scalenet_mm.registry import register_model

__all__ = ['CAMHead', 'ClassMapProjection']

_CAM_OUTPUTS = ('gt', 'pred', 'all', 'none')


class ClassMapProjection:
    """What every CAM head shares: optional BN+ReLU, dropout and the 1x1 class projection of one feature level,
    kept as attributes of the head itself (``norm_act``, ``dropout``, ``cam_conv``) so checkpoints keep their keys.
    Heads differ only in how they pool the maps into logits."""

    def _build_projection(self, num_classes: int, in_channels: int, in_index: int, norm_act: bool,
                          dropout: float) -> None:
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.in_index = in_index
        if norm_act:
            self.norm_act = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True))
        else:
            self.norm_act = nn.Identity()
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.cam_conv = nn.Conv2d(in_channels, num_classes, kernel_size=1, bias=True)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The (normalised) feature map the CAMs are computed from, ``(N, in_channels, H', W')``."""
        if isinstance(feats, torch.Tensor):
            feats = (feats, )
        x = feats[self.in_index]
        name = type(self).__name__
        if x.dim() != 4:
            raise ValueError(f'{name} needs a spatial (N, C, H, W) feature map, got shape {tuple(x.shape)}; '
                             'do not put a GlobalAveragePooling neck in front of it')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{name} was built with in_channels={self.in_channels} but feature '
                             f'{self.in_index} has {x.shape[1]} channels')
        return self.norm_act(x)

    def forward_cam(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Class activation maps of all classes, ``(N, num_classes, H', W')``."""
        return self.cam_conv(self.dropout(self.pre_logits(feats)))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.pool(self.forward_cam(feats))


@register_model()
class CAMHead(ClassMapProjection, ClsHead):
    """Class-activation-map classification head (1x1 conv projection + global average pooling).

    Args:
        num_classes: number of classes.
        in_channels: channels of the selected feature level.
        in_index: which element of the feature tuple to use (default ``-1``, the last).
        norm_act: add ``BatchNorm2d`` + ``ReLU`` before the projection (use it on ScaleNet stage outputs,
            which are not normalised; not needed on ScaleNet's head input or on ResNet stages).
        dropout: dropout probability on the feature map during training (0: none).
        cam_output: what ``predict`` stores in ``pred_cam``: ``'gt'`` | ``'pred'`` | ``'all'`` | ``'none'``.
        loss / topk / cal_acc / init_cfg: as in :class:`mmpretrain.models.heads.ClsHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 in_index: int = -1,
                 norm_act: bool = False,
                 dropout: float = 0.0,
                 cam_output: str = 'gt',
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Conv2d', std=0.01),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        if cam_output not in _CAM_OUTPUTS:
            raise ValueError(f'cam_output must be one of {_CAM_OUTPUTS}, got {cam_output!r}')
        self.cam_output = cam_output
        self._build_projection(num_classes, in_channels, in_index, norm_act, dropout)

    # ------------------------------------------------------------------------------------------ forward
    @staticmethod
    def pool(cams: torch.Tensor) -> torch.Tensor:
        """Logits from maps: global average pooling."""
        return cams.mean(dim=(2, 3))

    # ------------------------------------------------------------------------------------------ predict
    def predict(self,
                feats: Sequence[torch.Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None) -> List[DataSample]:
        cams = self.forward_cam(feats)
        samples = self._get_predictions(self.pool(cams), data_samples)
        attach_cams(samples, cams, self.cam_output)
        return samples


def _gt_index(sample) -> Optional[int]:
    label = sample.get('gt_label', None) if hasattr(sample, 'get') else None
    if label is None:
        return None
    label = torch.as_tensor(label).reshape(-1)
    return int(label[0]) if label.numel() == 1 else None


def attach_cams(samples: List[DataSample], cams: torch.Tensor, cam_output: str = 'gt') -> None:
    """Store ``pred_cam`` in each data sample (see the module docstring for ``cam_output``)."""
    if cam_output == 'none':
        return
    cams = cams.detach()
    for sample, cam in zip(samples, cams):
        if cam_output == 'all':
            sample.set_field(cam.cpu(), 'pred_cam')
            continue
        index = _gt_index(sample) if cam_output == 'gt' else None
        if index is None:
            index = int(torch.as_tensor(sample.pred_label).reshape(-1)[0])
        sample.set_field(cam[index].cpu(), 'pred_cam')


def cam_head_maps(head: nn.Module, feats: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(cams, logits)`` of a head that supports classic CAM: :class:`CAMHead`, or a linear head
    (mmpretrain ``LinearClsHead`` after a ``GlobalAveragePooling`` neck), whose ``fc`` applied at every
    position of the feature map gives the CAM (the features must then be the un-pooled map)."""
    if isinstance(head, CAMHead) or callable(getattr(head, 'forward_cam', None)):  # e.g. MultiLabelCAMHead
        cams = head.forward_cam(feats)
        return cams, head.pool(cams)
    fc = getattr(head, 'fc', None)
    if isinstance(fc, nn.Linear):
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        cams = torch.einsum('nchw,kc->nkhw', x, fc.weight) + fc.bias.view(1, -1, 1, 1)
        return cams, cams.mean(dim=(2, 3))
    raise TypeError(f'classic CAM needs a CAMHead or a head with a linear `fc`, got {type(head).__name__}; '
                    'use Grad-CAM for other heads')
