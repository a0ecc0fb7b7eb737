"""CIFAR pickles written by our writer load through our local CIFAR loaders."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest

from scalenet_mm.datasets import CIFAR10Local, CIFAR100Local, write_cifar_layout


@pytest.fixture(scope='module')
def cifar10(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar10')
    info = write_cifar_layout(str(root), {'train': 60, 'test': 20}, num_classes=10, image_size=32)
    return str(root), info


@pytest.fixture(scope='module')
def cifar100(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar100')
    info = write_cifar_layout(str(root), (50, 30), num_classes=100, image_source='random')
    return str(root), info


def _raw(folder, names, key):
    data, labels = [], []
    for name in names:
        with open(osp.join(folder, name), 'rb') as f:
            d = pickle.load(f, encoding='latin1')
        data.append(d['data'])
        labels.extend(d[key])
    return np.concatenate(data), np.array(labels)


def test_cifar10_layout_and_splits(cifar10):
    root, info = cifar10
    folder = osp.join(root, 'cifar-10-batches-py')
    assert sorted(os.listdir(folder)) == sorted(
        [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch', 'batches.meta'])
    train = CIFAR10Local(root, split='train', num_val=10)
    val = CIFAR10Local(root, split='val', num_val=10)
    trainval = CIFAR10Local(root, split='trainval', num_val=10)
    test = CIFAR10Local(folder, split='test')  # the batches folder itself works too
    assert (len(train), len(val), len(trainval), len(test)) == (50, 10, 60, 20)
    assert not train.test_mode and val.test_mode and test.test_mode
    assert train.CLASSES == tuple(info['classes']) and len(train.CLASSES) == 10
    data, labels = _raw(folder, [f'data_batch_{i}' for i in range(1, 6)], 'labels')
    # train = first 50 of the official order, val = the last 10
    np.testing.assert_array_equal(train.get_gt_labels(), labels[:50])
    np.testing.assert_array_equal(val.get_gt_labels(), labels[50:])
    item = val.get_data_info(3)
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    np.testing.assert_array_equal(item['img'], data[53].reshape(3, 32, 32).transpose(1, 2, 0))
    # default num_val=5000 does not fit a 60-image train set: clear error
    with pytest.raises(ValueError, match='num_val=5000'):
        CIFAR10Local(root, split='val')


def test_cifar10_pipeline(cifar10):
    root, _ = cifar10
    ds = CIFAR10Local(
        root, split='train', num_val=10,
        pipeline=[dict(type='RandomCrop', crop_size=32, padding=4),
                  dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                  dict(type='PackInputs')])
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 32, 32)
    assert int(out['data_samples'].gt_label) == ds.get_data_info(0)['gt_label']


def test_cifar100(cifar100):
    root, info = cifar100
    train = CIFAR100Local(root, split='train', num_val=5)
    val = CIFAR100Local(root, split='val', num_val=5)
    test = CIFAR100Local(root, split='test', num_val=5)
    assert (len(train), len(val), len(test)) == (45, 5, 30)
    assert len(train.CLASSES) == 100 and train.CLASSES == tuple(info['classes'])
    _, labels = _raw(osp.join(root, 'cifar-100-python'), ['train'], 'fine_labels')
    np.testing.assert_array_equal(val.get_gt_labels(), labels[45:])


def test_cifar_errors(tmp_path, cifar10):
    src, _ = cifar10
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py'):
        CIFAR10Local(str(tmp_path), split='train')
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    for name in os.listdir(osp.join(src, 'cifar-10-batches-py')):
        (folder / name).write_bytes(open(osp.join(src, 'cifar-10-batches-py', name), 'rb').read())
    os.remove(folder / 'data_batch_3')
    with pytest.raises(FileNotFoundError, match=r'data_batch_3.*cifar-10-batches-py'):
        CIFAR10Local(str(tmp_path), split='train', num_val=10)
    # the test split does not need the train batches
    assert len(CIFAR10Local(str(tmp_path), split='test')) == 20
    (folder / 'data_batch_3').write_bytes(b'this is not a pickle')
    with pytest.raises(ValueError, match='data_batch_3 is corrupt'):
        CIFAR10Local(str(tmp_path), split='train', num_val=10)
    with open(folder / 'data_batch_3', 'wb') as f:
        pickle.dump({'data': np.zeros((4, 100), np.uint8), 'labels': [0] * 4}, f)
    with pytest.raises(ValueError, match=r'data_batch_3 is corrupt.*3072'):
        CIFAR10Local(str(tmp_path), split='train', num_val=10)
    with open(folder / 'data_batch_3', 'wb') as f:
        pickle.dump({'data': np.zeros((4, 3072), np.uint8), 'labels': [0] * 3}, f)
    with pytest.raises(ValueError, match=r'data_batch_3 is corrupt.*4 images but 3'):
        CIFAR10Local(str(tmp_path), split='train', num_val=10)
    with open(folder / 'data_batch_3', 'wb') as f:
        pickle.dump({b'data': np.zeros((4, 3072), np.uint8), b'labels': [0, 1, 2, 3]}, f)
    assert len(CIFAR10Local(str(tmp_path), split='trainval')) > 0  # bytes keys (py2 pickles) work
    os.remove(folder / 'batches.meta')
    with pytest.raises(FileNotFoundError, match='batches.meta'):
        CIFAR10Local(str(tmp_path), split='test')
    # explicit class names make the meta file unnecessary
    assert len(CIFAR10Local(str(tmp_path), split='test', classes=[str(i) for i in range(10)])) == 20
    with pytest.raises(ValueError, match='split'):
        CIFAR10Local(src, split='validation')
