"""init_model / build_model / build_runner: one loader for classifiers and detectors, one Runner builder."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from scalenet_mm.apis import build_model, build_runner, init_model, load_config, setup_cpu_distributed

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'scalenet', 'demo_embedded.py')
DETECTOR = osp.join(REPO, 'configs', 'detection', 'embedded', 'faster-rcnn_scalenet-tiny_fpn_shapes.py')


def test_untrained_twin_is_seeded_and_checkpoint_restores_weights(tmp_path):
    torch.manual_seed(0)
    a = init_model(DEMO)
    torch.manual_seed(0)
    b = init_model(DEMO)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not a.training and a.cfg.filename == DEMO and a.data_preprocessor is not None
    ckpt = tmp_path / 'w.pth'
    torch.save({'state_dict': a.state_dict(), 'meta': {'dataset_meta': {'classes': list('abcdefgh')}}}, ckpt)
    torch.manual_seed(1)
    c = init_model(DEMO, str(ckpt))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), c.state_dict().values()))
    assert c.dataset_meta['classes'] == list('abcdefgh')
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(a(x, mode='tensor'), c(x, mode='tensor'))


def test_detector_and_meta_builds():
    det = init_model(DETECTOR)
    assert type(det).__name__ == 'FasterRCNN' and det.cfg.default_scope == 'mmdet'
    meta = build_model(Config.fromfile(DEMO), device='meta', init_weights=False)
    assert next(meta.parameters()).device.type == 'meta'
    native = build_model(Config.fromfile(DETECTOR), 'meta', False, dict(backbone=dict(deconv_impl='native')))
    assert type(native.backbone.stage1[0].deconv3).__name__ == 'ConvTranspose2d'


def test_runner_builder_honours_runner_type_and_cpu_launcher(tmp_path):
    cfg = load_config(DEMO, work_dir=str(tmp_path), launcher='none')
    cfg.runner_type = 'Runner'
    assert type(build_runner(cfg)).__name__ == 'Runner'
    cfg.pop('runner_type')
    runner = build_runner(cfg)  # without runner_type: Runner.from_cfg
    assert type(runner).__name__ == 'Runner' and runner.work_dir == str(tmp_path)
    cfg = load_config(DEMO, work_dir=str(tmp_path))
    cfg.launcher = 'bogus'
    with pytest.raises(ValueError, match='launcher must be one of'):
        setup_cpu_distributed(cfg)


def test_pseudo_boxes_refuse_a_class_count_that_does_not_match_the_coco_file():
    from types import SimpleNamespace

    from scalenet_mm.apis.pseudo_boxes import check_class_count
    model = SimpleNamespace(head=SimpleNamespace(num_classes=3))
    coco = dict(categories=[dict(id=7, name='a'), dict(id=2, name='b')])
    with pytest.raises(ValueError, match='3 classes but x.json has 2 categories'):
        check_class_count(model, coco, 'x.json')
    model.head.num_classes = 2
    assert check_class_count(model, coco, 'x.json') == [2, 7]  # class index i = the i-th id, ascending
