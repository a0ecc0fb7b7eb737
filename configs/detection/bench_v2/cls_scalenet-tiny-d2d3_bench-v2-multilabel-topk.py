# The ScaleNet multi-label CAM classifier of cls_scalenet-tiny-d2d3_bench-v2-multilabel.py with the class maps
# pooled by top-k (MultiLabelCAMHead) instead of GAP + linear: the logit of a class is the mean of the strongest
# 10 % of its 8x8 CAM, so a small object among background is not averaged away (the pooling diagnostic of
# docs/detection_pseudo_boxes.md). Same backbone, data and recipe.
_base_ = ['./cls_scalenet-tiny-d2d3_bench-v2-multilabel.py']

model = dict(neck=None,
             head=dict(_delete_=True, type='MultiLabelCAMHead', num_classes=5, in_channels=96, pooling='topk',
                       topk_ratio=0.1))  # the head's default loss: sigmoid BCE, as the GAP classifier's
