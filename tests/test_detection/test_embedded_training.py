"""The embedded-set detector trains a few iterations on real COCO files and is evaluated by CocoMetric."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_detection.det_helpers import EMBEDDED_DIR


def _tiny_run_cfg(config, coco_root, work_dir, ann_file='annotations/instances_train2017.json'):
    cfg = Config.fromfile(str(EMBEDDED_DIR / config))
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = coco_root + '/'
    cfg.train_dataloader.dataset.ann_file = ann_file
    cfg.train_dataloader.batch_size = 2
    cfg.val_dataloader.batch_size = cfg.test_dataloader.batch_size = 6
    cfg.test_evaluator.ann_file = osp.join(coco_root, 'annotations', 'instances_val2017.json')
    cfg.val_evaluator = cfg.test_evaluator
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{osp.splitext(config)[0]}_{osp.basename(str(work_dir))}'
    return cfg


@pytest.mark.parametrize('config', ['faster-rcnn_scalenet-tiny_fpn_shapes.py'])
def test_embedded_detector_trains_and_evaluates(config, shapes_coco, tmp_path):
    from mmengine.runner import Runner
    cfg = _tiny_run_cfg(config, shapes_coco, tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert key in metrics and -1.0 <= metrics[key] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize('config', ['faster-rcnn_r18_fpn_shapes.py'])
def test_embedded_resnet_detector_trains_and_evaluates(config, shapes_coco, tmp_path):
    test_embedded_detector_trains_and_evaluates(config, shapes_coco, tmp_path)
