"""Every shipped config loads, builds its model and its data pipelines, and its head matches the backbone."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tests.test_configs.config_helpers import ALL_CONFIGS, config_path

IMAGENET_ROWS = ['imagenet_d25', 'imagenet_d8d8', 'imagenet_d3d3s3_44l', 'imagenet_d3d3s3_38l', 'imagenet_d4d4s4',
                 'imagenet_d4d5s5', 'imagenet_d4d5s6']
CIFAR_PRESETS = ['cifar10_d10_44l', 'cifar10_d7_32l', 'cifar10_d7_32l_singlepath', 'cifar100_d7_32l',
                 'cifar10_d20s5_98l', 'cifar10_d20s5_98l_singlepath', 'cifar10_d9d8s5_90l', 'cifar100_d9d8s5_90l',
                 'cifar10_d23d10s7_157l', 'cifar100_d23d10s7_157l', 'cifar100_d50s5_220l', 'cifar100_d78d28s4_444l',
                 'cifar10_d272d200s50_2000l']


def test_promised_config_names_exist():
    for name in IMAGENET_ROWS + [n + '_test320' for n in IMAGENET_ROWS] + CIFAR_PRESETS + [
            'cifar10_d7_32l_pool-down', 'cifar10_d7_32l_interp-up', 'demo_embedded']:
        assert osp.isfile(config_path(name)), name


@pytest.mark.parametrize('config', ALL_CONFIGS, ids=lambda p: osp.basename(p))
def test_config_builds(config):
    from mmengine.dataset import Compose
    from mmpretrain.registry import MODELS, TRANSFORMS
    cfg = Config.fromfile(config)
    assert cfg.default_scope == 'mmpretrain' and 'scalenet_mm' in cfg.custom_imports.imports
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with torch.device('meta'):  # shapes only: the 2000-layer net builds in a second
            model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            Compose([TRANSFORMS.build(t) for t in cfg[key].dataset.pipeline])
        Compose([TRANSFORMS.build(t) for t in cfg.tta_pipeline])
    assert cfg.model.head.in_channels == model.backbone.arch.out_channels
    assert cfg.model.head.num_classes == cfg.data_preprocessor.num_classes
    assert cfg.tta_model.type == 'AverageClsScoreTTA'
    assert cfg.auto_scale_lr.base_batch_size in (128, 256, 32)
    # the preset named in the file name is the one built (ablations: the one of their base)
    name = osp.splitext(osp.basename(config))[0]
    if name in IMAGENET_ROWS + CIFAR_PRESETS:
        from scalenet_mm.models.backbones.scalenet_arch import resolve_arch
        assert model.backbone.preset == resolve_arch(name)[0]


@pytest.mark.parametrize('name', IMAGENET_ROWS)
def test_imagenet_recipe(name):
    cfg = Config.fromfile(config_path(name))
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=False)
    assert cfg.param_scheduler.type == 'StepLR' and cfg.param_scheduler.step_size == 30
    assert cfg.train_cfg.max_epochs == 100 and cfg.auto_scale_lr.base_batch_size == 256
    rrc = cfg.train_dataloader.dataset.pipeline[1]
    assert rrc.type == 'RandomResizedCrop' and rrc.scale == 224 and rrc.crop_ratio_range == (0.08, 1.0)
    assert [t.type for t in cfg.test_dataloader.dataset.pipeline][1:3] == ['ResizeEdge', 'CenterCrop']
    cfg320 = Config.fromfile(config_path(name + '_test320'))
    assert cfg320.test_dataloader.dataset.pipeline[1].scale == 350
    assert cfg320.test_dataloader.dataset.pipeline[2].crop_size == 320
    assert cfg320.tta_pipeline[2].transforms[0][0].crop_size == 320


def test_cifar_recipe():
    cfg = Config.fromfile(config_path('cifar100_d7_32l'))
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4 and cfg.train_cfg.max_epochs == 300
    assert cfg.param_scheduler.milestones == [240, 270] and cfg.train_dataloader.batch_size == 128
    assert cfg.train_dataloader.dataset.split == 'train' and cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == 'test' and cfg.train_dataloader.dataset.num_val == 5000
    assert cfg.data_preprocessor.mean == [125.3, 123.0, 113.9] and cfg.data_preprocessor.std == [63.0, 62.1, 66.7]
    assert cfg.train_cfg.val_interval == 1


def test_ablation_overrides():
    assert Config.fromfile(config_path('cifar10_d7_32l_pool-down')).model.backbone.downsample == 'pool'
    assert Config.fromfile(config_path('cifar10_d7_32l_interp-up')).model.backbone.upsample == 'interp'
    assert Config.fromfile(config_path('cifar100_d7_32l_singlepath')).model.backbone.residual == 'singlepath'
