# The ResNet-18-s8 multi-label CAM classifier of cls_r18-20-s8_bench-v2-multilabel.py with the class maps pooled
# by top-k (MultiLabelCAMHead, the strongest 10 % of the 8x8 CAM) instead of GAP + linear: the ResNet twin of
# cls_scalenet-tiny-d2d3_bench-v2-multilabel-topk.py for the pooling diagnostic of docs/detection_pseudo_boxes.md.
_base_ = ['./cls_r18-20-s8_bench-v2-multilabel.py']

model = dict(neck=None,
             head=dict(_delete_=True, type='MultiLabelCAMHead', num_classes=5, in_channels=160, pooling='topk',
                       topk_ratio=0.1))  # the head's default loss: sigmoid BCE, as the GAP classifier's
