"""Which checkpoint ``resume=True`` picks: the newest that loads, from the work dir's own files."""
import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

import scalenet_mm  # noqa: F401
from scalenet_mm.engine.config_diff import result_relevant_differences
from scalenet_mm.engine.resume import (
    check_resumable,
    find_resumable_checkpoint,
    list_checkpoints,
    read_last_checkpoint,
    write_last_checkpoint,
)


def save_resumable(path, epoch, iteration):
    torch.save(dict(meta=dict(epoch=epoch, iter=iteration), state_dict={'w': torch.full((4, ), float(iteration))},
                    message_hub={}, optimizer={}), path)


@pytest.fixture
def warnings_log():
    """Records the warnings mmengine's current logger emits."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_candidates_are_ordered_by_training_progress(tmp_path):
    for name in ('epoch_2.pth', 'epoch_10.pth', 'iter_25.pth', 'iter_20.pth', 'best_acc_epoch_10.pth', 'x.pth'):
        (tmp_path / name).write_bytes(b'')
    # 10 iterations per epoch: iter_25 is mid-epoch 3, after epoch_2 (iter 20) and the preemption iter_20
    names = [c.path.split('/')[-1] for c in list_checkpoints(str(tmp_path), 'epoch_{}.pth', 'iter_{}.pth', 10)]
    assert names == ['epoch_10.pth', 'iter_25.pth', 'epoch_2.pth', 'iter_20.pth']


def test_last_checkpoint_is_relative_and_never_followed_outside(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    write_last_checkpoint(str(work), str(work / 'epoch_3.pth'))
    assert (work / 'last_checkpoint').read_text() == 'epoch_3.pth'
    assert read_last_checkpoint(str(work)) == str(work / 'epoch_3.pth')
    # what plain mmengine writes, after the work dir was copied from /elsewhere
    (work / 'last_checkpoint').write_text('/elsewhere/old_work/epoch_3.pth')
    assert read_last_checkpoint(str(work)) == str(work / 'epoch_3.pth')


def test_truncated_latest_is_skipped_with_a_warning(tmp_path, warnings_log):
    save_resumable(tmp_path / 'epoch_1.pth', 1, 4)
    save_resumable(tmp_path / 'epoch_2.pth', 2, 8)
    data = (tmp_path / 'epoch_2.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
    write_last_checkpoint(str(tmp_path), str(tmp_path / 'epoch_2.pth'))
    assert 'PytorchStreamReader' in check_resumable(str(tmp_path / 'epoch_2.pth'))
    chosen = find_resumable_checkpoint(str(tmp_path), str(tmp_path), 'epoch_{}.pth', 'iter_{}.pth', 4)
    assert chosen == str(tmp_path / 'epoch_1.pth')
    assert any('epoch_2.pth' in w and 'Skipping unreadable' in w for w in warnings_log)


def test_no_loadable_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'garbage')
    torch.save({'w': torch.ones(1)}, tmp_path / 'epoch_2.pth')  # loads, but is no training checkpoint
    with pytest.raises(RuntimeError, match=r'no checkpoint in .* loads(.|\n)*epoch_2.pth(.|\n)*epoch_1.pth'):
        find_resumable_checkpoint(str(tmp_path), str(tmp_path), 'epoch_{}.pth', 'iter_{}.pth', 4)


def test_fresh_work_dir_starts_from_scratch_but_dangling_record_is_an_error(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path), str(tmp_path), 'epoch_{}.pth', 'iter_{}.pth', 4) is None
    (tmp_path / 'last_checkpoint').write_text('epoch_7.pth')
    with pytest.raises(RuntimeError, match='Delete last_checkpoint'):
        find_resumable_checkpoint(str(tmp_path), str(tmp_path), 'epoch_{}.pth', 'iter_{}.pth', 4)


def test_config_differences_that_matter():
    base = Config(dict(model=dict(type='ImageClassifier', backbone=dict(type='ScaleNet', arch='vo21')),
                       train_dataloader=dict(batch_size=32, num_workers=4, dataset=dict(type='ImageNet')),
                       train_cfg=dict(by_epoch=True, max_epochs=100), work_dir='a',
                       default_hooks=dict(logger=dict(interval=10))))
    same_result = Config(base.to_dict())
    same_result.merge_from_dict({'train_dataloader.num_workers': 16, 'train_dataloader.persistent_workers': True,
                                 'work_dir': 'b', 'default_hooks.logger.interval': 1})
    assert result_relevant_differences(base, same_result) == []
    changed = Config(base.to_dict())
    changed.merge_from_dict({'train_dataloader.batch_size': 64, 'train_cfg.max_epochs': 120})
    assert result_relevant_differences(base, changed) == [('train_cfg.max_epochs', 100, 120),
                                                          ('train_dataloader.batch_size', 32, 64)]
    assert result_relevant_differences(base.pretty_text, changed, allowed=['train_cfg']) == [
        ('train_dataloader.batch_size', 32, 64)]
