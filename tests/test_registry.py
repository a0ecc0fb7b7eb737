"""`import scalenet_mm` registers our modules for mmpretrain and mmdet configs; configs outside the repo work."""
import subprocess
import sys
import textwrap

import torch
from mmengine.registry import DefaultScope

import scalenet_mm  # noqa: F401


def test_models_resolve_in_both_scopes():
    from mmdet.registry import MODELS as DET_MODELS
    from mmpretrain.registry import MODELS as CLS_MODELS
    for registry, scope in ((CLS_MODELS, 'mmpretrain'), (DET_MODELS, 'mmdet')):
        with DefaultScope.overwrite_default_scope(scope):
            backbone = registry.build(dict(type='ScaleNet', arch='ci7'))
        assert type(backbone).__name__ == 'ScaleNet'
        assert backbone(torch.randn(1, 3, 32, 32))[-1].shape == (1, 88, 8, 8)


def test_classifier_from_config():
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='ScaleNet', arch='ci7'),
                                  neck=dict(type='GlobalAveragePooling'),
                                  head=dict(type='LinearClsHead', num_classes=10, in_channels=88)))
    assert model(torch.randn(2, 3, 32, 32), mode='tensor').shape == (2, 10)


def test_config_outside_repo_with_custom_imports(tmp_path):
    """A config written anywhere builds ScaleNet through custom_imports alone (fresh interpreter)."""
    cfg = tmp_path / 'my_cfg.py'
    cfg.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['scalenet_mm'], allow_failed_imports=False)
        default_scope = 'mmdet'
        model = dict(type='ScaleNet', arch='D4D5S5', out_indices=(1, 2, 3, 4), frozen_stages=1, norm_eval=True)
    '''))
    script = textwrap.dedent(f'''
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        cfg = Config.fromfile({str(cfg)!r})
        init_default_scope(cfg.default_scope)
        from mmdet.registry import MODELS
        model = MODELS.build(cfg.model)
        print(type(model).__module__, model.out_channels)
    ''')
    out = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert 'scalenet_mm.models.backbones.scalenet [80, 160, 400, 1746]' in out.stdout
