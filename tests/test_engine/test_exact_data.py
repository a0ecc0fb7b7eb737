"""Per-sample seeding, epoch-carrying indices, batch skipping and random states in checkpoints."""
import io
import pickle
import random

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader, Dataset

import scalenet_mm  # noqa: F401
from scalenet_mm.engine.exact_data import (
    EpochSeededSampler,
    ResumableBatchSampler,
    SeededDataset,
    SeededIndex,
    exact_train_dataloader_cfg,
)
from scalenet_mm.engine.rng_state import capture_rng_state, restore_rng_state


class RandomAugmentations(Dataset):
    """Returns what a random pipeline would draw from the global generators."""

    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 10

    def __getitem__(self, idx):
        return (int(idx), random.random(), float(np.random.rand()), float(torch.rand(())))


def test_index_keeps_seed_and_epoch_through_pickling():
    idx = SeededIndex(7, seed=3, epoch=2)
    back = pickle.loads(pickle.dumps(idx))
    assert (back, back.seed, back.epoch, isinstance(back, int)) == (7, 3, 2, True)
    assert [10, 11, 12, 13, 14, 15, 16, 17][idx] == 17  # usable wherever an int index is


def test_sampler_order_is_default_sampler_order():
    data = list(range(23))
    ours, stock = EpochSeededSampler(data, shuffle=True, seed=5), DefaultSampler(data, shuffle=True, seed=5)
    for epoch in (0, 3):
        ours.set_epoch(epoch), stock.set_epoch(epoch)
        indices = list(ours)
        assert indices == list(stock) and {(i.seed, i.epoch) for i in indices} == {(5, epoch)}


def test_augmentations_depend_on_seed_epoch_and_index_only():
    dataset = SeededDataset(RandomAugmentations())
    first = dataset[SeededIndex(4, 0, 1)]
    random.random(), np.random.rand(), torch.rand(3)  # whatever else happened in between
    assert dataset[SeededIndex(4, 0, 1)] == first
    assert dataset[SeededIndex(4, 0, 2)] != first and dataset[SeededIndex(4, 1, 1)] != first
    assert dataset[SeededIndex(5, 0, 1)][1:] != first[1:]
    assert len(set(first[1:])) == 3  # Python, NumPy and torch streams are not copies of each other
    assert dataset.metainfo == dict(classes=('a', 'b')) and len(dataset) == 10


def test_main_process_random_streams_are_untouched_by_the_pipeline():
    dataset = SeededDataset(RandomAugmentations())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(()))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    dataset[SeededIndex(0, 0, 0)]
    assert (random.random(), np.random.rand(), torch.rand(())) == expected


def test_same_batches_with_and_without_workers():
    def batches(num_workers, persistent):
        sampler = EpochSeededSampler(RandomAugmentations(), shuffle=True, seed=0)
        loader = DataLoader(SeededDataset(RandomAugmentations()), batch_sampler=ResumableBatchSampler(sampler, 3),
                            num_workers=num_workers, persistent_workers=persistent, collate_fn=list)
        out = []
        for epoch in range(2):
            sampler.set_epoch(epoch)
            out.append([b for b in loader])
        return out

    reference = batches(0, False)
    assert batches(2, False) == reference
    assert batches(2, True) == reference


def test_batch_sampler_skips_only_the_next_pass():
    batch_sampler = ResumableBatchSampler(list(range(10)), batch_size=3)
    full = list(batch_sampler)
    batch_sampler.skip_next(2)
    assert list(batch_sampler) == full[2:] and list(batch_sampler) == full and len(batch_sampler) == 4


def test_dataloader_cfg_keeps_the_config_keys():
    cfg = dict(batch_size=2, num_workers=0, drop_last=True, sampler=dict(type='DefaultSampler', shuffle=True),
               dataset=dict(type='CustomDataset', data_root='x'))
    out = exact_train_dataloader_cfg(cfg, seed=0)
    assert out['dataset'] == dict(type='SeededDataset', dataset=cfg['dataset'])
    assert out['sampler'] == dict(type='EpochSeededSampler', shuffle=True)
    assert out['batch_sampler'] == dict(type='ResumableBatchSampler', batch_sampler=None, drop_last=True)
    assert 'drop_last' not in out and cfg['sampler']['type'] == 'DefaultSampler'  # the input is not changed
    assert exact_train_dataloader_cfg(out, seed=0)['dataset'] == out['dataset']  # idempotent


def test_random_state_roundtrip_is_weights_only_safe():
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in the NumPy state
    state = capture_rng_state()
    expected = (random.random(), np.random.randn(), torch.rand(2))
    buffer = io.BytesIO()
    torch.save(dict(rng=state), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)['rng']
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    restore_rng_state(loaded)
    got = (random.random(), np.random.randn(), torch.rand(2))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])
