"""End to end: one representative config per family trains 2 epochs on tiny data in the real on-disk format,
checkpoints, resumes to epoch 3, and tests with 1 crop and with the 10-crop TTA (tools/train.py, tools/test.py,
real mmengine Runner)."""
import glob
import os.path as osp
import pickle

import pytest
import torch

from tests.test_configs.config_helpers import config_path, loader_opts, test_like_tool, train_like_tool


def _train_resume_test(tmp_path, config, opts, num_test):
    wd = str(tmp_path / 'work')
    runner = train_like_tool(config, wd, [*opts, 'train_cfg.max_epochs=2'])
    iters_per_epoch = len(runner.train_dataloader)
    assert runner.epoch == 2 and osp.isfile(osp.join(wd, 'epoch_2.pth'))
    assert glob.glob(osp.join(wd, 'best_*.pth')), 'validation after each epoch should keep a best checkpoint'

    # training longer is a deliberate schedule change: the exact-resume hook refuses it unless it is allowed
    longer = [*opts, 'train_cfg.max_epochs=3', "custom_hooks.0.allowed_changes=['train_cfg.max_epochs']"]
    runner = train_like_tool(config, wd, longer, resume='auto')
    assert runner.epoch == 3 and runner.iter == 3 * iters_per_epoch
    ckpt = osp.join(wd, 'epoch_3.pth')
    meta = torch.load(ckpt, map_location='cpu')['meta']  # weights-only load (scalenet_mm allow-lists the rest)
    assert meta['epoch'] == 3 and meta['iter'] == 3 * iters_per_epoch
    logs = sorted(glob.glob(osp.join(wd, '*', '*.log')))
    assert any('resumed epoch: 2' in open(p).read() for p in logs), 'the 3rd epoch must come from resuming'

    one = test_like_tool(config, ckpt, wd, opts)
    assert 0 <= one['accuracy/top1'] <= 100
    out = str(tmp_path / 'preds.pkl')
    ten = test_like_tool(config, ckpt, wd, opts, tta=True, out=out)
    assert 0 <= ten['accuracy/top1'] <= 100
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == num_test
    for p in preds:
        assert torch.allclose(p['pred_score'].sum(), torch.tensor(1.), atol=1e-4)  # averaged softmax
    return one, ten


def test_cifar10_family(tmp_path, cifar10_root):
    opts = loader_opts(cifar10_root, batch=8, extra_dataset={'num_val': 8})
    _train_resume_test(tmp_path, config_path('cifar10_d7_32l'), opts, num_test=4)


def test_cifar100_family(tmp_path, cifar100_root):
    opts = loader_opts(cifar100_root, batch=8, extra_dataset={'num_val': 8})
    _train_resume_test(tmp_path, config_path('cifar100_d7_32l'), opts, num_test=4)


@pytest.mark.slow  # ~100 s on 2 shared cores (real D3D3S3 preset, 4 Runner runs)
def test_imagenet_family(tmp_path, synthetic_root):
    """A real Table-2 preset (ScaleNet38-D3D3S3) on ImageNet-folder data, with the crops shrunk to 64."""
    opts = loader_opts(osp.join(synthetic_root, 'imagenet'), batch=4) + [
        'train_dataloader.dataset.pipeline.1.scale=64',
        'val_dataloader.dataset.pipeline.1.scale=72', 'val_dataloader.dataset.pipeline.2.crop_size=64',
        'test_dataloader.dataset.pipeline.1.scale=72', 'test_dataloader.dataset.pipeline.2.crop_size=64',
        'tta_pipeline.1.scale=72',
    ] + [f'tta_pipeline.2.transforms.0.{i}.crop_size=64' for i in range(5)]
    _train_resume_test(tmp_path, config_path('imagenet_d3d3s3_38l'), opts, num_test=8)


def test_demo_family(tmp_path, synthetic_root):
    opts = loader_opts(osp.join(synthetic_root, 'imagenet'), batch=8)
    _train_resume_test(tmp_path, config_path('demo_embedded'), opts, num_test=8)


def test_missing_imagenet_says_where_to_put_it(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(config_path('imagenet_d4d4s4'))
    ds = dict(cfg.train_dataloader.dataset, data_root=str(tmp_path / 'nowhere'))
    with DefaultScope.overwrite_default_scope('mmpretrain'), pytest.raises(FileNotFoundError, match='Put ImageNet'):
        DATASETS.build(ds)
