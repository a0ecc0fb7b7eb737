"""Localisation benchmark v2: determinism, exact boxes, shared appearance, multi-object form, real strokes, the
layouts and the selection split (never the test split)."""
import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest

from scalenet_mm.datasets import generate_dataset, generate_samples
from scalenet_mm.datasets import localization_benchmark as bench
from scalenet_mm.datasets.annotations import mask_to_bbox
from scalenet_mm.datasets.localization_benchmark import generate_benchmark_samples


def _digest_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha1(f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def v2_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('bench_v2'))
    summary = generate_dataset(root, num_train=10, num_test=6, num_selection=5, image_size=32, seed=2,
                               variant='v2', progress=False)
    return root, summary


@pytest.mark.parametrize('variant', ['v2', 'v2-digits'])
def test_samples_deterministic(variant):
    a = generate_benchmark_samples(variant, 5, 40, True, seed=4, split='test')
    b = generate_benchmark_samples(variant, 5, 40, True, seed=4, split='test')
    c = generate_benchmark_samples(variant, 5, 40, True, seed=5, split='test')
    for sa, sb in zip(a, b):
        assert np.array_equal(sa.image, sb.image)
        assert [(o.label, o.bbox) for o in sa.objects] == [(o.label, o.bbox) for o in sb.objects]
    assert any(not np.array_equal(sa.image, sc.image) for sa, sc in zip(a, c))
    # a sample depends on (variant, seed, split, index) only
    assert np.array_equal(generate_benchmark_samples(variant, 2, 40, True, seed=4, split='test')[1].image, a[1].image)


def test_files_deterministic(tmp_path, v2_data):
    root, _ = v2_data
    generate_dataset(str(tmp_path), num_train=10, num_test=6, num_selection=5, image_size=32, seed=2, variant='v2',
                     progress=False)
    first = {k: v for k, v in _digest_tree(root).items() if k != 'synthetic_meta.json'}  # it records the root
    second = {k: v for k, v in _digest_tree(str(tmp_path)).items() if k != 'synthetic_meta.json'}
    assert first and first == second


@pytest.mark.parametrize('variant,multi', [('v2', False), ('v2', True), ('v2-digits', False)])
def test_boxes_are_visible_mask_extents(variant, multi):
    size = 48
    for s in generate_benchmark_samples(variant, 12, size, multi, seed=1, split='train'):
        assert s.image.shape == (size, size, 3) and s.image.dtype == np.uint8
        assert 1 <= len(s.objects) <= (4 if multi else 1)
        for o in s.objects:
            assert mask_to_bbox(o.mask) == o.bbox
            assert o.area_fraction == pytest.approx(o.mask.sum() / size**2)
            assert o.visible >= bench.MIN_VISIBLE
            assert 0 <= o.label < len(bench.benchmark_spec(variant).classes)


def test_single_object_labels_balanced():
    samples = generate_benchmark_samples('v2', 20, 32, False, seed=0, split='train')
    counts = np.bincount([s.label for s in samples], minlength=len(bench.SHAPE_CLASSES))
    assert counts.min() == counts.max() == 20 // len(bench.SHAPE_CLASSES)


def _saturation(pixels):
    pixels = pixels.astype(np.float64)
    hi, lo = pixels.max(axis=1), pixels.min(axis=1)
    return np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0.0)


def test_objects_share_the_appearance_of_the_rest():
    """The legacy objects are vivid on dull backgrounds; in v2 object pixels look like all other pixels."""

    def gap(samples):
        inside = np.concatenate([s.image[s.objects[0].mask] for s in samples])
        outside = np.concatenate([s.image[~s.objects[0].mask] for s in samples])
        return abs(_saturation(inside).mean() - _saturation(outside).mean())

    assert gap(generate_samples(40, 48, False, seed=0, split='test')) > 0.3
    assert gap(generate_benchmark_samples('v2', 40, 48, False, seed=0, split='test')) < 0.08


def test_multi_object_form():
    samples = generate_benchmark_samples('v2', 60, 64, True, seed=0, split='test')
    counts = [len(s.objects) for s in samples]
    assert min(counts) == 1 and max(counts) >= 3
    pairs = [s for s in samples if len(s.objects) == 2]
    assert any(s.objects[0].label == s.objects[1].label for s in pairs)  # two instances of one class
    assert any(s.objects[0].label != s.objects[1].label for s in pairs)  # two classes
    for s in samples:  # instances stay separable: boxes do not overlap
        for i, a in enumerate(s.objects):
            for b in s.objects[i + 1:]:
                assert a.bbox[2] < b.bbox[0] or b.bbox[2] < a.bbox[0] or a.bbox[3] < b.bbox[1] or \
                    b.bbox[3] < a.bbox[1]


def test_sizes_span_the_buckets():
    samples = generate_benchmark_samples('v2', 90, 64, False, seed=3, split='test')
    side = np.array([s.objects[0].side_fraction for s in samples])
    assert side.min() < 0.2 and side.max() > 0.7
    area = np.array([(o.bbox[2] - o.bbox[0] + 1) * (o.bbox[3] - o.bbox[1] + 1) / 64**2
                     for s in samples for o in s.objects])
    for lo, hi in bench.SIZE_BUCKETS.values():
        assert ((area > lo) & (area <= hi)).sum() >= 9  # every bucket holds at least a tenth


def test_digit_scans_disjoint_and_smooth():
    splits = {name: set(bench.digit_scan_indices(name).tolist()) for name in bench.SPLITS}
    assert sum(len(v) for v in splits.values()) == 1797
    assert not (splits['train'] & splits['test']) and not (splits['selection'] & splits['test'])
    assert not (splits['train'] & splits['selection'])
    images, _ = bench._digits()
    alpha = bench._digit_alpha(np.random.default_rng(0), images[0], 64, 32.0, 32.0, 24.0)
    soft = alpha[(alpha > 0) & (alpha < 1)]
    assert np.unique(soft).size > 100  # neither the 17 grey levels nor the 8x8 grid survive


def test_photo_regions_disjoint():
    spans = sorted(bench._SPLIT_REGIONS.values())
    assert spans[0][0] == 0.0 and spans[-1][1] == 1.0
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_layouts_and_loaders(v2_data):
    from mmengine.fileio import load

    from scalenet_mm.datasets import CUBWithBoxes, ImageNetWithBoxes
    root, summary = v2_data
    classes = list(bench.SHAPE_CLASSES)
    assert summary['classes'] == classes
    assert {k: v['num_images'] for k, v in summary['splits'].items()} == {'train': 10, 'test': 6, 'selection': 5}
    for split, n in (('train', 10), ('test', 6), ('selection', 5)):
        cub = CUBWithBoxes(data_root=osp.join(root, 'cub'), split=split, pipeline=[])
        assert len(cub) == n and list(cub.CLASSES) == classes
        info = cub.get_data_info(0)
        assert info['gt_bboxes'].shape == (1, 4) and osp.isfile(info['mask_path'])
    for split, n in (('train', 10), ('val', 6), ('selection', 5)):
        inet = ImageNetWithBoxes(data_root=osp.join(root, 'imagenet'), split=split, pipeline=[])
        assert len(inet) == n and inet.get_data_info(0)['gt_bboxes'].shape[1] == 4
    for folder, n in (('train2017', 10), ('val2017', 6), ('selection2017', 5)):
        coco = load(osp.join(root, 'coco', 'annotations', f'instances_{folder}.json'))
        assert len(coco['images']) == n and [c['name'] for c in coco['categories']] == classes
        assert all('truncated' in a and 'visible_fraction' in a for a in coco['annotations'])
    marker = json.load(open(osp.join(root, 'cub', '.complete')))
    assert marker['params']['variant'] == 'v2' and marker['params']['num_selection'] == 5
    again = generate_dataset(root, num_train=10, num_test=6, num_selection=5, image_size=32, seed=2, variant='v2',
                             progress=False)
    assert again['skipped']


def test_selection_split_is_never_the_test_split(v2_data):
    root, _ = v2_data
    from scalenet_mm.datasets import CUBWithBoxes
    sel = CUBWithBoxes(data_root=osp.join(root, 'cub'), split='selection', pipeline=[])
    test = CUBWithBoxes(data_root=osp.join(root, 'cub'), split='test', pipeline=[])
    sel_paths = {sel.get_data_info(i)['img_path'] for i in range(len(sel))}
    test_paths = {test.get_data_info(i)['img_path'] for i in range(len(test))}
    assert sel_paths and test_paths and not sel_paths & test_paths

    def pixels(paths):
        with_hash = set()
        for p in paths:
            with open(p, 'rb') as f:
                with_hash.add(hashlib.sha1(f.read()).hexdigest())
        return with_hash

    assert not pixels(sel_paths) & pixels(test_paths)
    # rendered images too (in memory, before encoding), at the default size
    s = generate_benchmark_samples('v2', 10, 64, False, seed=0, split='selection')
    t = generate_benchmark_samples('v2', 10, 64, False, seed=0, split='test')
    assert not {x.image.tobytes() for x in s} & {x.image.tobytes() for x in t}
    assert {x.stem for x in s}.isdisjoint({x.stem for x in t})


def test_bad_arguments():
    with pytest.raises(ValueError, match='image_size'):
        generate_benchmark_samples('v2', 1, 16)
    with pytest.raises(ValueError, match='split'):
        generate_benchmark_samples('v2', 1, 32, split='val')
    with pytest.raises(ValueError, match='variant'):
        bench.benchmark_spec('v3')
    with pytest.raises(ValueError, match='labels'):
        bench.render_benchmark_sample(np.random.default_rng(0), 'v2', 32, labels=[7])
