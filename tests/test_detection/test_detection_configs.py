"""Every shipped detection config builds, trains one iteration and predicts on CPU at small, odd sizes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.test_detection.det_helpers import DET_CONFIG_DIR, EMBEDDED_DIR, REPO_ROOT

SHIPPED = sorted(DET_CONFIG_DIR.glob('*.py'))

EMBEDDED_DET = sorted(EMBEDDED_DIR.glob('faster-rcnn_*.py'))


def _num_classes(model_cfg):
    head = model_cfg.get('bbox_head') or model_cfg['roi_head']['bbox_head']
    return head['num_classes']


def _train_and_predict(cfg, shapes):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    num_classes = _num_classes(cfg.model)
    # sizes that are not multiples of 32: the data preprocessor pads them
    data = demo_mm_inputs(len(shapes), [[3, h, w] for h, w in shapes], num_classes=num_classes)
    batch = model.data_preprocessor(data, True)
    assert batch['inputs'].shape[-2] % 32 == 0 and batch['inputs'].shape[-1] % 32 == 0
    model.train()
    losses = model(**batch, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    trainable = [p for p in model.backbone.parameters() if p.requires_grad]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable)
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(data, False), mode='predict')
    assert len(out) == len(shapes)
    for sample, (h, w) in zip(out, shapes):
        boxes = sample.pred_instances.bboxes
        assert boxes.ndim == 2 and boxes.shape[-1] == 4
        if len(boxes):  # rescaled to the original image
            assert float(boxes[:, 2].max()) <= w + 1e-3 and float(boxes[:, 3].max()) <= h + 1e-3
    return model


def test_all_configs_present():
    names = {p.name for p in SHIPPED}
    for det in ('faster-rcnn_scalenet-d4d5s5_fpn_1x', 'retinanet_scalenet-d4d5s5_fpn_1x',
                'retinanet_scalenet-d25_fpn_1x', 'faster-rcnn_scalenet-d25_fpn_1x'):
        assert f'{det}_coco.py' in names and f'{det}_voc0712.py' in names


@pytest.mark.parametrize('path', SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_config_builds(path):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(str(path))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    head = model.bbox_head if hasattr(model, 'bbox_head') else model.roi_head.bbox_head
    assert head.num_classes == _num_classes(cfg.model)
    assert type(model.backbone).__name__ == 'ScaleNet'
    assert model.backbone.out_channels == cfg.model.neck.in_channels


@pytest.mark.parametrize('path', SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_config_trains_and_predicts(path):
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports == dict(imports=['scalenet_mm'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmdet'
    bb = cfg.model.backbone
    assert bb.type == 'ScaleNet' and bb.norm_eval is True
    assert bb.norm_cfg == dict(type='BN', requires_grad=True)
    assert bb.frozen_stages == (1 if bb.arch == 'D4D5S5' else 0)  # D25: its only stage is the whole trunk
    assert bb.init_cfg['type'] == 'Pretrained' and bb.init_cfg['prefix'] == 'backbone.'
    assert _num_classes(cfg.model) == (20 if 'voc0712' in path.name else 80)
    assert cfg.train_cfg.max_epochs == (4 if 'voc0712' in path.name else 12)  # VOC: 4 x 3 repeats
    if 'voc0712' in path.name:
        assert 'VOC' in cfg.train_dataloader.dataset.dataset.datasets[0].type
    else:
        assert cfg.train_dataloader.dataset.type == 'CocoDataset'
    # neck channels follow the backbone's feature_info
    from scalenet_mm.models.backbones import ScaleNet
    infos = ScaleNet(arch=bb.arch, out_indices=bb.out_indices).out_feature_info
    assert cfg.model.neck.in_channels == [f.channels for f in infos]
    strides = [f.stride for f in infos]
    assert strides == sorted(strides) and min(strides) <= 8
    model = _train_and_predict(cfg, [(64, 80), (72, 48)])
    if bb.arch == 'D4D5S5':
        assert strides == [4, 8, 16, 32]
    # frozen parts have no gradients; BN stays in eval mode while training
    model.train()
    assert not any(p.requires_grad for p in model.backbone.stem.parameters())
    assert all(not m.training for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.parametrize('path', EMBEDDED_DET, ids=[p.stem for p in EMBEDDED_DET])
def test_embedded_config_builds(path):
    cfg = Config.fromfile(str(path))
    assert cfg.val_evaluator.type == 'CocoMetric'
    _train_and_predict(cfg, [(96, 96), (70, 100)])


def test_config_works_outside_the_repo(tmp_path):
    """A shipped config copied into an unrelated folder builds through custom_imports + the mmdet:: base."""
    src = DET_CONFIG_DIR / 'retinanet_scalenet-d25_fpn_1x_coco.py'
    (tmp_path / 'my_det.py').write_text(src.read_text())
    code = ('from mmengine.config import Config\n'
            'from mmengine.registry import init_default_scope\n'
            "cfg = Config.fromfile('my_det.py')\n"
            "init_default_scope(cfg.default_scope)\n"
            'from mmdet.registry import MODELS\n'
            'model = MODELS.build(cfg.model)\n'
            "print(type(model).__name__, type(model.backbone).__name__, type(model.backbone).__module__)\n")
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], cwd=str(tmp_path), capture_output=True,
                         text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'RetinaNet ScaleNet scalenet_mm.models.backbones.scalenet' in res.stdout
    assert not (tmp_path / 'scalenet_mm').exists() and Path.cwd() != tmp_path
    assert str(REPO_ROOT) not in str(tmp_path)
