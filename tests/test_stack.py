"""The pinned OpenMMLab stack works on this CPU: mmcv's compiled ops and an mmdet detector from mmdet's config."""
import os.path as osp

import mmdet
import torch


def test_mmcv_compiled_ops_run_on_cpu():
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    feats = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    rois = torch.tensor([[0, 0, 0, 4, 4]], dtype=torch.float32)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feats, rois)
    assert out.shape == (1, 1, 2, 2)
    # aligned=True shifts the RoI by half a pixel: bins span [-0.5, 1.5] and [1.5, 3.5], sampled at 0, 1 and 2, 3;
    # bilinear samples of the linear ramp 8y+x average to the ramp at (0.5, 2.5) x (0.5, 2.5)
    torch.testing.assert_close(out.flatten(), torch.tensor([4.5, 6.5, 20.5, 22.5]))


def test_faster_rcnn_from_mmdet_config_predicts_on_cpu():
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg_path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'faster_rcnn',
                        'faster-rcnn_r50_fpn_1x_coco.py')
    cfg = Config.fromfile(cfg_path)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    sample = DetDataSample(metainfo=dict(img_shape=(128, 160), ori_shape=(128, 160), scale_factor=(1., 1.),
                                         pad_shape=(128, 160), batch_input_shape=(128, 160)))
    data = model.data_preprocessor(dict(inputs=[torch.randint(0, 255, (3, 128, 160), dtype=torch.uint8)],
                                        data_samples=[sample]))
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4 and len(pred.bboxes) == len(pred.scores) == len(pred.labels)
