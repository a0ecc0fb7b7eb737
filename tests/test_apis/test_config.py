"""load_config / override_data_root: one data-root override that reaches every dataset base of configs/."""
import glob
import os.path as osp

import pytest

from scalenet_mm.apis import dataloader_datasets, load_config, override_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# one config per dataset base: CIFAR, ImageNet, the embedded folder set, CUB, ImageNet boxes, COCO multi-label,
# COCO detection (mmdet base), VOC (wrapped datasets)
FAMILIES = ['configs/scalenet/cifar10_d7_32l.py', 'configs/scalenet/cifar100_d7_32l.py',
            'configs/scalenet/imagenet_d25.py', 'configs/scalenet/demo_embedded.py',
            'configs/wsol/scalenet_demo_cub.py',
            'configs/wsol/scalenet103_imagenet.py', 'configs/detection/embedded/cls_scalenet-tiny_shapes-multilabel.py',
            'configs/detection/embedded/faster-rcnn_scalenet-tiny_fpn_shapes.py',
            'configs/detection/faster-rcnn_scalenet-d4d5s5_fpn_1x_voc0712.py']


def test_families_cover_every_dataset_base():
    bases = {osp.basename(p) for p in glob.glob(osp.join(REPO, 'configs', '_base_', 'datasets', '*.py'))}
    assert bases <= {'cifar10_bs128.py', 'cifar100_bs128.py', 'imagenet_bs64.py', 'imagenet_test320.py'}


@pytest.mark.parametrize('config', FAMILIES)
def test_data_root_reaches_every_dataset(config, tmp_path):
    new_root = str(tmp_path / 'elsewhere')
    cfg = load_config(osp.join(REPO, config), data_root=new_root)
    leaves = list(dataloader_datasets(cfg))
    assert leaves, config
    assert all(d['data_root'] == new_root for d in leaves), [d.get('data_root') for d in leaves]
    for split in ('val', 'test'):
        evaluators = cfg.get(f'{split}_evaluator')
        for ev in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
            if isinstance(ev, dict) and isinstance(ev.get('ann_file'), str):
                assert ev['ann_file'].startswith(new_root), ev['ann_file']  # COCO metrics follow the data


def test_cfg_options_then_data_root_and_work_dir(tmp_path):
    config = osp.join(REPO, 'configs/scalenet/demo_embedded.py')
    cfg = load_config(config, {'train_dataloader.batch_size': 3}, data_root='x')
    assert cfg.train_dataloader.batch_size == 3 and cfg.work_dir == './work_dirs/demo_embedded'
    again = load_config(cfg, work_dir=str(tmp_path), launcher='none')  # a Config is copied, not modified
    assert again.work_dir == str(tmp_path) and cfg.work_dir == './work_dirs/demo_embedded'
    assert again.launcher == 'none' and 'launcher' not in cfg


def test_bad_input_is_named():
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_config('no/such/config.py')
    cfg = load_config(osp.join(REPO, 'configs/scalenet/demo_embedded.py'))
    with pytest.raises(ValueError, match='non-empty path'):
        override_data_root(cfg, '')
    cfg.train_dataloader = cfg.val_dataloader = cfg.test_dataloader = None
    with pytest.raises(KeyError, match='no train/val/test dataloader'):
        override_data_root(cfg, 'x')
