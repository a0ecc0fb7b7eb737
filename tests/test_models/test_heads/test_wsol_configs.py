"""The configs in configs/wsol parse and build, with a CAM head reading a spatial map."""
import glob
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'wsol', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_wsol_config_builds(path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import scalenet_mm  # noqa: F401
    from scalenet_mm.models.heads import CAMHead
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    from mmpretrain.registry import MODELS
    model = MODELS.build(cfg.model)
    assert isinstance(model.head, CAMHead)
    assert model.neck is None
    assert cfg.model.head.num_classes == cfg.data_preprocessor.get('num_classes', cfg.model.head.num_classes)
    types = [t['type'] for t in cfg.test_evaluator]
    assert 'WSOLMetric' in types
    steps = [s['type'] for s in cfg.test_dataloader.dataset.pipeline]
    assert 'CenterCrop' not in steps and 'PackInputs' in steps
