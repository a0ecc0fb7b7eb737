"""Resuming mmengine checkpoints with torch's weights-only loading, without trusting arbitrary pickles."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint
from PIL import Image

import scalenet_mm  # noqa: F401  (registers modules and the safe globals)
from scalenet_mm.engine.checkpoint_safety import (
    _history_buffer_getstate,
    make_history_buffer_plain,
    upgrade_legacy_checkpoint,
)

TINY_ARCH = dict(stages=2, depth=8, layers=(1, 1), blocks=('D', 'S'), growth=(0, 0), expand=(8, ), rock='U',
                 branch=3, version=3, dstyle='maxpool', stem='cifar')


def write_image_folder(root, n_per_class=6, size=32):
    rng = np.random.default_rng(0)
    for c, name in enumerate(['bright', 'dark']):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            base = 200 if c == 0 else 40
            img = np.clip(rng.normal(base, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f'{i}.png')


def runner_cfg(data_root, work_dir, max_epochs, resume=False):
    return Config(dict(
        default_scope='mmpretrain',
        model=dict(type='ImageClassifier',
                   data_preprocessor=dict(type='ClsDataPreprocessor', mean=[128.] * 3, std=[64.] * 3,
                                          num_classes=2),
                   backbone=dict(type='ScaleNet', arch=TINY_ARCH),
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=2, in_channels=16,
                             loss=dict(type='CrossEntropyLoss'))),
        work_dir=str(work_dir),
        train_dataloader=dict(batch_size=4, num_workers=0,
                              dataset=dict(type='CustomDataset', data_root=str(data_root),
                                           pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]),
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True, milestones=[1, 2], gamma=0.1, begin=0, end=10),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook',
                                                                                           interval=1)),
        randomness=dict(seed=0),
        resume=resume,
        log_level='WARNING',
    ))


def test_train_two_epochs_then_resume_to_three(tmp_path):
    write_image_folder(tmp_path / 'data')
    runner = Runner.from_cfg(runner_cfg(tmp_path / 'data', tmp_path / 'work', 2))
    runner.train()
    iters_per_epoch = len(runner.train_dataloader)
    ckpt2 = torch.load(tmp_path / 'work' / 'epoch_2.pth', map_location='cpu')  # weights_only by default
    assert any(isinstance(v, HistoryBuffer) for v in ckpt2['message_hub']['log_scalars'].values())
    momentum2 = {k: v['momentum_buffer'].clone() for k, v in ckpt2['optimizer']['state'].items()}

    resumed = Runner.from_cfg(runner_cfg(tmp_path / 'data', tmp_path / 'work', 3, resume=True))
    seen = {}

    def capture_state(runner):
        seen['iter'], seen['epoch'] = runner.iter, runner.epoch
        seen['lr'] = runner.optim_wrapper.get_lr()['lr'][0]
        state = runner.optim_wrapper.optimizer.state_dict()['state']
        seen['momentum'] = {k: v['momentum_buffer'].clone() for k, v in state.items()}

    resumed.register_hook(_CallbackHook(capture_state), priority='VERY_LOW')
    resumed.train()
    assert seen['iter'] == 2 * iters_per_epoch and seen['epoch'] == 2
    assert seen['lr'] == pytest.approx(0.1 * 0.1 * 0.1)  # scheduler state resumed: both milestones passed
    for k, v in momentum2.items():
        torch.testing.assert_close(seen['momentum'][k], v)
    assert resumed.iter == 3 * iters_per_epoch and resumed.epoch == 3
    ckpt3 = torch.load(tmp_path / 'work' / 'epoch_3.pth', map_location='cpu')
    assert ckpt3['meta']['iter'] == 3 * iters_per_epoch


class _CallbackHook(Hook):
    """Calls ``fn(runner)`` at ``before_train``, i.e. right after the runner resumed."""

    def __init__(self, fn):
        self.fn = fn

    def before_train(self, runner):
        self.fn(runner)


class Arbitrary:
    """A class that is not on the allow list."""

    def __reduce__(self):
        return (print, ('this must never run',))


def test_arbitrary_pickled_object_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1)}, extra=Arbitrary()), path)
    with pytest.raises(pickle.UnpicklingError, match=r'Unsupported global: GLOBAL print'):
        load_checkpoint(torch.nn.Module(), str(path))


def test_legacy_history_buffer_needs_explicit_trust(tmp_path, monkeypatch):
    buffer = HistoryBuffer([1.0, 2.0], [1, 1])
    monkeypatch.delattr(HistoryBuffer, '__getstate__')  # mmengine's original pickling (function references)
    monkeypatch.delattr(HistoryBuffer, '__setstate__')
    legacy_state = dict(buffer.__dict__, statistics_methods=dict(mean=HistoryBuffer.mean))
    monkeypatch.setattr(HistoryBuffer, '__getstate__', lambda self: legacy_state, raising=False)
    legacy = tmp_path / 'legacy.pth'
    torch.save(dict(message_hub=dict(log_scalars=dict(loss=buffer))), legacy)
    monkeypatch.undo()
    make_history_buffer_plain()
    assert HistoryBuffer.__getstate__ is _history_buffer_getstate
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(legacy, map_location='cpu')
    with pytest.raises(PermissionError, match='trust'):
        upgrade_legacy_checkpoint(str(legacy), str(tmp_path / 'x.pth'))
    upgraded = tmp_path / 'upgraded.pth'
    refused = upgrade_legacy_checkpoint(str(legacy), str(upgraded), trust=True)
    assert 'builtins.getattr' in refused
    loaded = torch.load(upgraded, map_location='cpu')['message_hub']['log_scalars']['loss']
    assert loaded.mean() == pytest.approx(1.5) and loaded.current() == 2.0


@pytest.mark.parametrize('strategy', ['cos', 'linear'])
def test_one_cycle_scheduler_state_is_plain_and_restores(tmp_path, strategy):
    from mmengine.optim.scheduler import OneCycleLR
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = OneCycleLR(opt, eta_max=0.1, total_steps=10, anneal_strategy=strategy)
    for _ in range(3):
        opt.step()
        sched.step()
    path = tmp_path / 'sched.pth'
    torch.save(sched.state_dict(), path)
    state = torch.load(path, weights_only=True)  # would raise on a pickled bound method (builtins.getattr)
    assert state['anneal_func'] == f'_annealing_{strategy}'
    fresh = OneCycleLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), eta_max=0.1,
                       total_steps=10, anneal_strategy='linear' if strategy == 'cos' else 'cos')
    fresh.load_state_dict(state)
    assert fresh.anneal_func is getattr(type(fresh), f'_annealing_{strategy}')
    assert fresh.last_step == sched.last_step
    with pytest.raises(ValueError, match='annealing method'):
        fresh.load_state_dict(dict(state, anneal_func='__init__'))
