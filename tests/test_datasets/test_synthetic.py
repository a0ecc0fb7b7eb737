"""The synthetic generator (legacy variant, frozen) and generate_dataset: determinism, exact boxes, scale range,
layouts on disk, caching, the CLI."""
import hashlib
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from scalenet_mm.datasets.synthetic import CLASSES, generate_dataset, generate_samples, mask_to_bbox, mask_to_coco_rle

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _digest_tree(root):
    """{relative path: sha1} of every file under the layout folders of ``root``."""
    out = {}
    for layout in ('imagenet', 'cub', 'coco'):
        for dirpath, _, files in os.walk(osp.join(root, layout)):
            for name in files:
                path = osp.join(dirpath, name)
                with open(path, 'rb') as f:
                    out[osp.relpath(path, root)] = hashlib.sha1(f.read()).hexdigest()
    return out


def test_samples_deterministic():
    a = generate_samples(12, 48, True, seed=5, split='train')
    b = generate_samples(12, 48, True, seed=5, split='train')
    c = generate_samples(12, 48, True, seed=6, split='train')
    for sa, sb in zip(a, b):
        assert np.array_equal(sa.image, sb.image)
        assert [o.bbox for o in sa.objects] == [o.bbox for o in sb.objects]
        assert [o.label for o in sa.objects] == [o.label for o in sb.objects]
    assert any(not np.array_equal(sa.image, sc.image) for sa, sc in zip(a, c))
    # a sample depends on (seed, split, index) only
    d = generate_samples(4, 48, True, seed=5, split='train')
    assert np.array_equal(d[3].image, a[3].image)
    e = generate_samples(4, 48, True, seed=5, split='test')
    assert not np.array_equal(e[0].image, a[0].image)


def _samples_digest(samples):
    h = hashlib.sha1()
    for s in samples:
        h.update(s.image.tobytes())
        h.update(json.dumps([[o.label, list(o.bbox)] for o in s.objects]).encode())
    return h.hexdigest()


# Digests of the generator's output before it was frozen as the legacy variant (commit ca4bd14, when
# synthetic.py was the only generator): the legacy variant must keep producing these pixels and boxes.
@pytest.mark.parametrize('args,digest', [
    ((6, 48, True, 5, 'train'), '03ce1d0afeb55d719437dc5f19d5087e4e1c053c'),
    ((8, 64, False, 0, 'test'), 'b4688b73b78223d331b3f6167c2b7c6fdda8257b'),
])
def test_legacy_output_frozen(args, digest):
    assert _samples_digest(generate_samples(*args)) == digest


def test_files_deterministic(tmp_path):
    kw = dict(num_train=8, num_test=4, image_size=32, multi_object=True, seed=1, progress=False)
    generate_dataset(str(tmp_path / 'a'), **kw)
    generate_dataset(str(tmp_path / 'b'), **kw)
    da, db = _digest_tree(str(tmp_path / 'a')), _digest_tree(str(tmp_path / 'b'))
    assert da and da == db


@pytest.mark.parametrize('multi_object', [False, True])
def test_boxes_match_masks(multi_object):
    size = 64
    samples = generate_samples(60, size, multi_object, seed=0, split='test')
    n_objects = []
    for s in samples:
        assert s.image.shape == (size, size, 3) and s.image.dtype == np.uint8
        assert 1 <= len(s.objects) <= (4 if multi_object else 1)
        n_objects.append(len(s.objects))
        union = np.zeros((size, size), int)
        for o in s.objects:
            x0, y0, x1, y1 = o.bbox
            assert 0 <= x0 <= x1 < size and 0 <= y0 <= y1 < size
            assert o.mask.shape == (size, size) and o.mask.dtype == bool
            assert mask_to_bbox(o.mask) == o.bbox  # exact extent of the mask
            assert o.area_fraction == pytest.approx(o.mask.sum() / size**2)
            assert o.side_fraction == pytest.approx(max(x1 - x0 + 1, y1 - y0 + 1) / size)
            assert 0 <= o.label < len(CLASSES)
            union += o.mask
        assert union.max() == 1  # objects never overlap, masks are complete
    if multi_object:
        assert max(n_objects) >= 3 and min(n_objects) == 1


def test_scale_range_and_classes():
    samples = generate_samples(240, 64, False, seed=0, split='train')
    side = np.array([s.objects[0].side_fraction for s in samples])
    area = np.array([s.objects[0].area_fraction for s in samples])
    assert side.min() < 0.12 and side.max() > 0.65  # from ~8% to ~80% of the image side
    assert area.min() < 0.01 and area.max() > 0.3
    # small, medium and large objects all occur
    assert ((side > 0.2) & (side < 0.5)).sum() > 40
    counts = np.bincount([s.label for s in samples], minlength=len(CLASSES))
    assert len(CLASSES) >= 6 and counts.min() == counts.max() == 240 // len(CLASSES)
    assert list(CLASSES) == sorted(CLASSES)


def test_coco_rle_matches_pycocotools():
    mask_utils = pytest.importorskip('pycocotools.mask')
    for s in generate_samples(10, 40, True, seed=2, split='train'):
        for o in s.objects:
            rle = mask_to_coco_rle(o.mask)
            comp = mask_utils.frPyObjects(rle, *rle['size'])
            assert np.array_equal(mask_utils.decode(comp).astype(bool), o.mask)
            assert mask_utils.area(comp) == o.mask.sum()
            x0, y0, x1, y1 = o.bbox
            assert list(mask_utils.toBbox(comp)) == [x0, y0, x1 - x0 + 1, y1 - y0 + 1]


def test_layout_files(single_data):
    root, meta = single_data['root'], single_data['meta']
    summary = single_data['summary']
    assert summary['skipped'] is False
    assert summary['splits']['train']['num_images'] == 24
    assert summary['splits']['test']['num_images'] == 10
    assert set(summary['layouts']) == {'imagenet', 'cub', 'coco'}
    inet = osp.join(root, 'imagenet')
    assert open(osp.join(inet, 'meta', 'classes.txt')).read().split() == list(CLASSES)
    lines = open(osp.join(inet, 'meta', 'val.txt')).read().splitlines()
    assert len(lines) == 10
    rel, label = lines[0].rsplit(' ', 1)
    assert rel.split('/')[0] == CLASSES[int(label)]
    assert osp.isfile(osp.join(inet, 'val', rel))
    assert osp.isfile(osp.join(inet, 'val_boxes', osp.splitext(osp.basename(rel))[0] + '.xml'))
    cub = osp.join(root, 'cub', 'CUB_200_2011')
    for name in ('images.txt', 'image_class_labels.txt', 'train_test_split.txt',
                 'bounding_boxes.txt', 'classes.txt'):
        assert len(open(osp.join(cub, name)).read().splitlines()) == (34 if name != 'classes.txt'
                                                                      else len(CLASSES))
    first = open(osp.join(cub, 'images.txt')).readline().split()
    assert first[0] == '1' and first[1].startswith('0') and first[1].endswith('.jpg')
    with Image.open(osp.join(cub, 'images', first[1])) as im:
        assert im.format == 'JPEG' and im.size == (48, 48)
    seg = osp.join(root, 'cub', 'segmentations', osp.splitext(first[1])[0] + '.png')
    assert set(np.unique(np.asarray(Image.open(seg)))) <= {0, 255}
    for folder in ('train2017', 'val2017'):
        assert osp.isfile(osp.join(root, 'coco', 'annotations', f'instances_{folder}.json'))
    assert len(os.listdir(osp.join(root, 'coco', 'val2017'))) == 10
    # the recorded objects carry their area fraction
    obj = meta['images']['train'][0]['objects'][0]
    assert 0 < obj['area_fraction'] < 1 and len(obj['bbox']) == 4


def test_cache_skips_and_regenerates(tmp_path, capsys):
    kw = dict(num_train=4, num_test=2, image_size=32, seed=0, progress=False)
    first = generate_dataset(str(tmp_path), layouts=('imagenet', 'coco'), **kw)
    assert not first['skipped']
    capsys.readouterr()
    again = generate_dataset(str(tmp_path), layouts=('imagenet', 'coco'), **kw)
    assert again['skipped'] and 'skipped' in capsys.readouterr().out
    assert again['params_hash'] == first['params_hash']
    # other parameters: regenerated, stale files removed
    kw['num_train'] = 3
    third = generate_dataset(str(tmp_path), layouts=('imagenet', ), **kw)
    assert not third['skipped'] and third['params_hash'] != first['params_hash']
    assert len(open(tmp_path / 'imagenet' / 'meta' / 'train.txt').read().splitlines()) == 3
    assert sum(len(f) for _, _, f in os.walk(tmp_path / 'imagenet' / 'train')) == 3
    marker = json.load(open(tmp_path / 'imagenet' / '.complete'))
    assert marker['hash'] == third['params_hash']


def test_refuses_foreign_directory(tmp_path):
    (tmp_path / 'imagenet').mkdir()
    (tmp_path / 'imagenet' / 'precious.txt').write_text('not ours')
    with pytest.raises(FileExistsError, match='imagenet'):
        generate_dataset(str(tmp_path), num_train=2, num_test=1, image_size=32, progress=False)
    assert (tmp_path / 'imagenet' / 'precious.txt').exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='layouts'):
        generate_dataset(str(tmp_path), layouts=('voc', ))
    with pytest.raises(ValueError, match='image_size'):
        generate_samples(1, image_size=8)
    with pytest.raises(ValueError, match='variant'):
        generate_dataset(str(tmp_path), variant='v3')
    with pytest.raises(ValueError, match='selection'):
        generate_dataset(str(tmp_path), num_selection=4)  # the legacy variant has none


def test_progress_bar(tmp_path, capfd):
    generate_dataset(str(tmp_path), num_train=3, num_test=2, image_size=32, layouts=('coco', ), progress=True)
    out = capfd.readouterr().out
    assert 'rendering train: 3 images' in out and '3/3' in out  # mmengine's ProgressBar


def test_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('make_demo_data',
                                                  osp.join(REPO, 'tools', 'make_demo_data.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    summary = cli.main(['--root', str(tmp_path / 'v2'), '--num-train', '4', '--num-test', '2',
                        '--num-selection', '2', '--image-size', '32', '--multi-object', '--seed', '1'])
    assert not summary['skipped'] and '"params_hash"' in capsys.readouterr().out
    assert osp.isfile(tmp_path / 'v2' / 'coco' / 'annotations' / 'instances_selection2017.json')
    marker = json.load(open(tmp_path / 'v2' / 'coco' / '.complete'))
    assert marker['params']['variant'] == 'v2'  # the CLI's default
    assert marker['params']['multi_object'] is True and marker['params']['seed'] == 1
    legacy = cli.main(['--root', str(tmp_path / 'legacy'), '--variant', 'legacy', '--num-train', '4',
                       '--num-test', '2', '--image-size', '32', '--cifar', '10'])
    assert osp.isfile(tmp_path / 'legacy' / 'cifar' / 'cifar-10-batches-py' / 'test_batch')
    marker = json.load(open(tmp_path / 'legacy' / 'coco' / '.complete'))
    # the legacy variant keeps the parameters (hence the cache hashes) of the frozen generator
    assert 'variant' not in marker['params'] and marker['params']['generator_version'] == 1
    assert legacy['params_hash'] == generate_dataset(str(tmp_path / 'legacy'), num_train=4, num_test=2,
                                                     image_size=32, progress=False)['params_hash']
