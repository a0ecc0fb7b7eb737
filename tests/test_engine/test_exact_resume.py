"""Resumed runs end with bitwise the weights of an uninterrupted run (in-process, num_workers=0, 2 epochs of 4
iterations: the fast set; the killed-subprocess matrix is in test_crash_resume.py)."""
import os
import shutil
import signal

import pytest
import torch
from mmengine.hooks import Hook

import scalenet_mm  # noqa: F401
from scalenet_mm.engine import CrashSafeEpochBasedTrainLoop, CrashSafeIterBasedTrainLoop
from tests.test_engine.crash_helpers import (
    ITERS_PER_EPOCH,
    assert_bitwise_equal,
    build_runner,
    demo_options,
    make_demo_data,
    max_abs_difference,
    model_weights,
    write_mixup_config,
)

EPOCHS = 2


def opts(setup, **kwargs):
    return demo_options(setup['data'], max_epochs=EPOCHS, **kwargs)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('exact_resume')
    return dict(root=root, data=make_demo_data(root / 'data'), config=write_mixup_config(root / 'mixup_demo.py'))


@pytest.fixture(scope='module')
def reference(setup):
    """An uninterrupted run with a checkpoint every 3 iterations (mid-epoch ones included)."""
    work = setup['root'] / 'reference'
    runner = build_runner(setup['config'], work, opts(setup, iter_checkpoints=3))
    runner.train()
    assert isinstance(runner.train_loop, CrashSafeEpochBasedTrainLoop)
    return dict(work=work, weights=model_weights(runner))


class SendSignalAt(Hook):
    def __init__(self, iteration, sig=signal.SIGTERM):
        self.iteration, self.sig = iteration, sig

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), self.sig)


def test_mid_epoch_resume_is_bitwise_exact(setup, reference):
    # iteration 6 is batch 2 of epoch 2: the resumed epoch starts at its third batch
    work = setup['root'] / 'mid_epoch'
    runner = build_runner(setup['config'], work, opts(setup, iter_checkpoints=3), resume=True,
                          load_from=reference['work'] / 'iter_6.pth')
    runner.train()
    assert runner.iter == EPOCHS * ITERS_PER_EPOCH
    assert_bitwise_equal(model_weights(runner), reference['weights'])


@pytest.mark.slow
def test_resume_without_the_crash_safe_loop_is_not_exact(setup, reference):
    """Control: the same resume through ``Runner.from_cfg`` (which ignores ``runner_type``: mmengine's loop, no
    per-sample seeding, the interrupted epoch replayed from its start) diverges, so the test above can fail."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(setup['config']))
    cfg.merge_from_dict(opts(setup, iter_checkpoints=3))
    cfg.merge_from_dict(dict(work_dir=str(setup['root'] / 'stock'), resume=True, log_level='WARNING',
                             load_from=str(reference['work'] / 'iter_6.pth')))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert max_abs_difference(model_weights(runner), reference['weights']) > 0


def test_truncated_latest_in_a_copied_work_dir(setup, reference):
    """The copy's latest checkpoint is truncated; resume=True picks the copy's previous one and neither reads nor
    deletes anything of the original work dir (whose last_checkpoint and best checkpoint it inherited)."""
    original = reference['work']
    before = {p.name: p.stat().st_mtime_ns for p in original.iterdir()}
    last = f'iter_{EPOCHS * ITERS_PER_EPOCH}.pth'
    assert (original / 'last_checkpoint').read_text() == last

    copy = setup['root'] / 'reference_copy'
    shutil.copytree(original, copy)
    data = (copy / last).read_bytes()
    (copy / last).write_bytes(data[:len(data) // 3])
    runner = build_runner(setup['config'], copy, opts(setup, iter_checkpoints=3), resume=True)
    runner.train()
    assert runner._load_from == str(copy / 'iter_6.pth')
    assert_bitwise_equal(model_weights(runner), reference['weights'])
    assert torch.load(copy / last, weights_only=True)['meta']['iter'] == EPOCHS * ITERS_PER_EPOCH  # rewritten
    assert {p.name: p.stat().st_mtime_ns for p in original.iterdir()} == before


def test_sigterm_saves_an_iteration_checkpoint_and_exits(setup, reference):
    work = setup['root'] / 'sigterm'
    runner = build_runner(setup['config'], work, opts(setup))
    runner.register_hook(SendSignalAt(6), priority='NORMAL')
    handler_before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        runner.train()
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is handler_before  # handler given back
    assert (work / 'last_checkpoint').read_text() == 'iter_6.pth'
    assert torch.load(work / 'iter_6.pth', weights_only=True)['meta']['iter'] == 6

    resumed = build_runner(setup['config'], work, opts(setup), resume=True)
    resumed.train()
    assert_bitwise_equal(model_weights(resumed), reference['weights'])
    assert not (work / 'iter_6.pth').exists()  # superseded by epoch_2.pth and removed
    assert (work / 'last_checkpoint').read_text() == 'epoch_2.pth'


@pytest.mark.slow
def test_iteration_based_loop_resumes_exactly(setup):
    options = opts(setup, iter_checkpoints=3)
    options.pop('train_cfg.max_epochs')
    options.update(train_cfg=dict(_delete_=True, by_epoch=False, max_iters=10, val_interval=5),
                   param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
                                    dict(type='CosineAnnealingLR', by_epoch=False, begin=4, end=10, T_max=6)],
                   **{'log_processor.by_epoch': False})
    reference = build_runner(setup['config'], setup['root'] / 'iters', options)
    reference.train()
    assert isinstance(reference.train_loop, CrashSafeIterBasedTrainLoop)
    resumed = build_runner(setup['config'], setup['root'] / 'iters_resumed', options, resume=True,
                           load_from=setup['root'] / 'iters' / 'iter_6.pth')  # batch 3 of the second pass
    resumed.train()
    assert resumed.iter == 10
    assert_bitwise_equal(model_weights(resumed), model_weights(reference))


def test_resume_with_a_different_schedule_is_refused(setup, reference):
    options = dict(opts(setup, iter_checkpoints=3), **{'train_dataloader.batch_size': 8,
                                                       'optim_wrapper.optimizer.lr': 0.1})
    runner = build_runner(setup['config'], setup['root'] / 'changed', options, resume=True,
                          load_from=reference['work'] / 'iter_6.pth')
    with pytest.raises(RuntimeError, match=r'(?s)Refusing to resume.*optim_wrapper.optimizer.lr.*batch_size'):
        runner.train()
