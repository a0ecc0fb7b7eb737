"""Kill ``tools/train.py`` for real (SIGKILL during an epoch, inside a checkpoint write, SIGTERM, a 2-process DDP
group) and resume it with ``--resume``: the final weights are bitwise those of an uninterrupted run.

Every run trains the demo config (plus Mixup, see ``write_mixup_config``) for 3 epochs of 4 iterations on 64
generated images. One uninterrupted run with ``num_workers=0`` is the reference of every single-process case,
so equality also shows that results do not depend on the number of workers or on whether they persist.
"""
import signal
import socket

import pytest

from tests.test_engine.crash_helpers import (
    ITERS_PER_EPOCH,
    assert_bitwise_equal,
    demo_options,
    kill_group,
    last_checkpoint_weights,
    logged_iterations,
    make_demo_data,
    run_training,
    start_training,
    train_command,
    wait_until,
    write_mixup_config,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp('crash_resume')
    return dict(root=root, data=make_demo_data(root / 'data'), config=write_mixup_config(root / 'mixup_demo.py'))


def train(env, name, options, resume=False, nproc=1, port=0, expect_rc=0, **fault_env):
    work = env['root'] / name
    log = env['root'] / f'{name}{"_resume" if resume else ""}.out'
    done = run_training(train_command(env['config'], work, options, resume=resume, nproc=nproc, port=port), log,
                        **fault_env)
    assert done.returncode == expect_rc, log.read_text()[-4000:]
    return work


@pytest.fixture(scope='module')
def reference(env):
    return last_checkpoint_weights(train(env, 'reference', demo_options(env['data'])))


def reached(work, epoch, batch, checkpoint):
    return lambda: (work / checkpoint).exists() and any(e == epoch and b >= batch for e, b in logged_iterations(work))


@pytest.mark.parametrize('checkpoints', ['epoch', 'iter'])
@pytest.mark.parametrize('num_workers,persistent', [(0, False), (2, False), (2, True)])
def test_sigkill_during_an_epoch(env, reference, num_workers, persistent, checkpoints):
    name = f'kill_{checkpoints}_w{num_workers}{"p" if persistent else ""}'
    work = env['root'] / name
    options = demo_options(env['data'], num_workers, persistent, iter_checkpoints=3 if checkpoints == 'iter' else 0)
    command = train_command(env['config'], work, options)
    process = start_training(command, env['root'] / f'{name}.out')
    # epoch checkpoints: killed in epoch 2 after epoch_1.pth; iteration ones: after iter_6.pth, in mid-epoch 2
    wait_until(reached(work, 2, 2, 'epoch_1.pth') if checkpoints == 'epoch' else reached(work, 2, 3, 'iter_6.pth'),
               process, env['root'] / f'{name}.out')
    kill_group(process)
    assert process.returncode == -signal.SIGKILL
    assert not (work / 'epoch_3.pth').exists() and not (work / f'iter_{3 * ITERS_PER_EPOCH}.pth').exists()
    train(env, name, options, resume=True)
    assert_bitwise_equal(last_checkpoint_weights(work), reference)


@pytest.mark.parametrize('target', ['epoch_2.pth', 'last_checkpoint', 'best_*epoch_1.pth'])
def test_sigkill_inside_a_checkpoint_write(env, reference, target):
    name = 'fault_' + target.replace('*', '').replace('.', '_')
    options = demo_options(env['data'])
    work = train(env, name, options, expect_rc=-signal.SIGKILL, SCALENET_MM_FAULT_AFTER_BYTES='4096',
                 SCALENET_MM_FAULT_FILE=target)
    partial = [p for p in work.iterdir() if p.name.endswith('.tmp')]
    # killed after 4096 bytes (last_checkpoint, first written after epoch 1, is shorter: all of it, no rename)
    assert len(partial) == 1 and partial[0].stat().st_size == (11 if target == 'last_checkpoint' else 4096)
    if target == 'epoch_2.pth':
        assert not (work / 'epoch_2.pth').exists() and (work / 'last_checkpoint').read_text() == 'epoch_1.pth'
    train(env, name, options, resume=True)
    assert not any(p.name.endswith('.tmp') for p in work.iterdir())  # the partial file was cleaned up
    assert_bitwise_equal(last_checkpoint_weights(work), reference)


def test_sigterm_to_the_process_group_leaves_a_resumable_checkpoint(env, reference):
    name = 'sigterm_w2p'
    work = env['root'] / name
    options = demo_options(env['data'], num_workers=2, persistent=True)
    process = start_training(train_command(env['config'], work, options), env['root'] / f'{name}.out')
    wait_until(reached(work, 2, 2, 'epoch_1.pth'), process, env['root'] / f'{name}.out')
    kill_group(process, signal.SIGTERM)  # what a scheduler sends: every process, workers included
    assert process.wait(timeout=300) == 143, (env['root'] / f'{name}.out').read_text()[-4000:]
    saved = (work / 'last_checkpoint').read_text()
    assert saved.startswith('iter_') and int(saved[5:-4]) > ITERS_PER_EPOCH + 1
    train(env, name, options, resume=True)
    assert_bitwise_equal(last_checkpoint_weights(work), reference)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_ddp_group_killed_and_resumed(env):
    """2 CPU processes (gloo), batch 8 each: 4 iterations per epoch."""
    options = dict(demo_options(env['data']), **{'train_dataloader.batch_size': 8})
    expected = last_checkpoint_weights(train(env, 'ddp_reference', options, nproc=2, port=free_port()))
    name = 'ddp_killed'
    work = env['root'] / name
    process = start_training(train_command(env['config'], work, options, nproc=2, port=free_port()),
                             env['root'] / f'{name}.out')
    wait_until(reached(work, 2, 2, 'epoch_1.pth'), process, env['root'] / f'{name}.out')
    kill_group(process)  # torchrun and both ranks
    train(env, name, options, resume=True, nproc=2, port=free_port())
    assert_bitwise_equal(last_checkpoint_weights(work), expected)
