"""CAM -> boxes -> COCO logic, the CocoImageLabels data set and tools/cam_to_coco.py end to end."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from scalenet_mm.detection import (
    CocoImageLabels,
    build_pseudo_coco,
    cam_detections,
    cam_to_boxes,
    coco_bbox_eval,
    image_level_labels,
    xyxy_to_coco,
)
from scalenet_mm.detection.pseudo_boxes import box_recall
from tests.test_detection.det_helpers import REPO_ROOT, SCALENET_TINY


def _two_blob_cam(size=32):
    cam = np.zeros((size, size))
    cam[4:10, 4:12] = 1.0  # 8x6 blob (48 px)
    cam[20:23, 25:28] = 0.8  # 3x3 blob (9 px)
    return cam


def _coco(images=3):
    return {
        'info': {'description': 'src'}, 'licenses': [],
        'images': [{'id': i, 'file_name': f'{i}.jpg', 'width': 32, 'height': 32} for i in range(1, images + 1)],
        'categories': [{'id': 1, 'name': 'a'}, {'id': 2, 'name': 'b'}, {'id': 3, 'name': 'c'}],
        'annotations': [
            {'id': 1, 'image_id': 1, 'category_id': 2, 'bbox': [4, 4, 8, 6], 'area': 48, 'iscrowd': 0},
            {'id': 2, 'image_id': 1, 'category_id': 2, 'bbox': [25, 20, 3, 3], 'area': 9, 'iscrowd': 0},
            {'id': 3, 'image_id': 2, 'category_id': 3, 'bbox': [0, 0, 5, 5], 'area': 25, 'iscrowd': 0},
            {'id': 4, 'image_id': 2, 'category_id': 1, 'bbox': [9, 9, 5, 5], 'area': 25, 'iscrowd': 0},
        ],
    }


def test_image_level_labels_reads_only_classes():
    assert image_level_labels(_coco()) == {1: [2], 2: [1, 3], 3: []}
    bad = _coco()
    bad['annotations'][0]['image_id'] = 99
    with pytest.raises(ValueError, match='unknown image'):
        image_level_labels(bad)


def test_cam_to_boxes_single_multi_and_min_area():
    cam = _two_blob_cam()
    single = cam_to_boxes(cam, (32, 32), thr=0.5)
    assert single.tolist() == [[4, 4, 11, 9]]
    multi = cam_to_boxes(cam, (32, 32), thr=0.5, multi_contour=True)
    assert multi.tolist() == [[4, 4, 11, 9], [25, 20, 27, 22]]  # largest first
    assert cam_to_boxes(cam, (32, 32), 0.5, True, min_area=10).tolist() == [[4, 4, 11, 9]]
    # the largest box survives any min_area; a constant map gives nothing
    assert len(cam_to_boxes(cam, (32, 32), 0.5, True, min_area=1000)) == 1
    assert cam_to_boxes(np.ones((8, 8)), (32, 32), 0.5).shape == (0, 4)
    # a low-resolution map is resized to the image: boxes scale with it
    small = cam_to_boxes(cam[::4, ::4], (32, 32), thr=0.5)
    assert small.shape == (1, 4) and small[0, 2] > 8 and small[0, 0] < 8


def test_build_pseudo_coco_keeps_images_and_categories_drops_true_boxes():
    src = _coco()
    boxes = {1: {2: np.array([[4, 4, 11, 9], [25, 20, 27, 22]])}, 2: {1: np.array([[0, 0, 0, 0]])}, 3: {}}
    doc = build_pseudo_coco(src, boxes)
    assert doc['images'] == src['images'] and doc['categories'] == src['categories']
    assert [a['bbox'] for a in doc['annotations']] == [[0, 0, 1, 1], [4, 4, 8, 6], [25, 20, 3, 3]] or \
        [a['bbox'] for a in doc['annotations']] == [[4, 4, 8, 6], [25, 20, 3, 3], [0, 0, 1, 1]]
    assert len({a['id'] for a in doc['annotations']}) == 3
    assert all(a['iscrowd'] == 0 and a['area'] == a['bbox'][2] * a['bbox'][3] for a in doc['annotations'])
    assert xyxy_to_coco([4, 4, 11, 9]) == [4.0, 4.0, 8.0, 6.0]
    with pytest.raises(ValueError, match='category'):
        build_pseudo_coco(src, {1: {7: np.zeros((1, 4))}})
    # loadable by pycocotools, and identical boxes score perfectly
    assert box_recall(src, doc) == (pytest.approx(2 / 4), pytest.approx(2 / 3))


def test_cam_detections_and_coco_eval():
    src = _coco()
    cams = np.zeros((3, 32, 32))
    cams[1] = _two_blob_cam()
    cams[0] = np.random.RandomState(0).rand(32, 32)
    cams[2, 0:5, 0:5] = 1.0
    scores = np.array([0.05, 0.9, 0.2])
    dets = cam_detections(1, cams, scores, [1, 2, 3], (32, 32), thr=0.5, multi_contour=True, score_thr=0.1)
    assert {d['category_id'] for d in dets} == {2, 3}  # class 1 is below score_thr
    assert [d['bbox'] for d in dets if d['category_id'] == 2] == [[4.0, 4.0, 8.0, 6.0], [25.0, 20.0, 3.0, 3.0]]
    assert all(d['score'] == 0.9 for d in dets if d['category_id'] == 2)
    assert len(cam_detections(1, cams, scores, [1, 2, 3], (32, 32), topk=1)) == 1
    perfect = [{'image_id': a['image_id'], 'category_id': a['category_id'], 'bbox': a['bbox'], 'score': 1.0}
               for a in src['annotations']]
    assert coco_bbox_eval(src, perfect)['bbox_mAP'] == pytest.approx(1.0)
    assert coco_bbox_eval(src, [])['bbox_mAP'] == 0.0


def test_coco_image_labels_dataset(shapes_coco):
    ds = CocoImageLabels(data_root=shapes_coco, ann_file='annotations/instances_train2017.json',
                         data_prefix='train2017/')
    with open(osp.join(shapes_coco, 'annotations', 'instances_train2017.json')) as f:
        coco = json.load(f)
    assert len(ds) == len(coco['images'])
    assert len(ds.metainfo['classes']) == 8
    labels = image_level_labels(coco)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert osp.exists(info['img_path'])
        assert sorted(info['gt_label']) == [c - 1 for c in labels[info['img_id']]]


@pytest.fixture(scope='module')
def tiny_classifier(tmp_path_factory):
    """A random (untrained) multi-label tiny-ScaleNet classifier config + checkpoint on disk."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    root = tmp_path_factory.mktemp('cls')
    src = REPO_ROOT / 'configs' / 'detection' / 'embedded' / 'cls_scalenet-tiny_shapes-multilabel.py'
    cfg = Config.fromfile(str(src))
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = root / 'cls.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    assert cfg.model.backbone.arch == SCALENET_TINY
    return str(src), str(ckpt)


def _cam_to_coco(args):
    """Run tools/cam_to_coco.py (its command line, in a subprocess)."""
    proc = subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / 'cam_to_coco.py'), *args], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


@pytest.mark.parametrize('multi', [False, True])
def test_cam_to_coco_tool_pseudo_boxes(tiny_classifier, shapes_coco, tmp_path, multi):
    config, ckpt = tiny_classifier
    ann = osp.join(shapes_coco, 'annotations', 'instances_train2017.json')
    out = tmp_path / 'pseudo.json'
    args = [config, ckpt, '--ann', ann, '--img-dir', osp.join(shapes_coco, 'train2017'), '--out', str(out),
            '--thr', '0.3', '--report-quality', '--threads', '1']
    if multi:
        args += ['--multi-contour', '--min-area', '4']
    _cam_to_coco(args)
    with open(ann) as f:
        true = json.load(f)
    pseudo = json.loads(out.read_text())
    assert pseudo['images'] == true['images'] and pseudo['categories'] == true['categories']
    labels = image_level_labels(true)
    got = image_level_labels(pseudo)
    for image_id, cats in labels.items():  # only classes present in the image, each with >= 1 box
        assert got[image_id] == cats
    per_key = {}
    for a in pseudo['annotations']:
        x, y, w, h = a['bbox']
        assert w >= 1 and h >= 1 and x >= 0 and y >= 0 and x + w <= 64 and y + h <= 64
        per_key[(a['image_id'], a['category_id'])] = per_key.get((a['image_id'], a['category_id']), 0) + 1
    if not multi:
        assert set(per_key.values()) == {1}
    quality = json.loads((tmp_path / 'pseudo.json.quality.json').read_text())
    assert quality['num_boxes'] == len(pseudo['annotations'])
    # the pseudo file trains an mmdet CocoDataset
    from mmdet.datasets import CocoDataset
    ds = CocoDataset(ann_file=str(out), data_prefix=dict(img=osp.join(shapes_coco, 'train2017') + '/'),
                     metainfo=dict(classes=tuple(c['name'] for c in true['categories'])), pipeline=[],
                     filter_cfg=dict(filter_empty_gt=True, min_size=0))
    assert len(ds) == sum(1 for v in labels.values() if v)


def test_cam_to_coco_tool_as_detections(tiny_classifier, shapes_coco, tmp_path):
    config, ckpt = tiny_classifier
    ann = osp.join(shapes_coco, 'annotations', 'instances_val2017.json')
    out = tmp_path / 'dets.json'
    _cam_to_coco([config, ckpt, '--ann', ann, '--img-dir', osp.join(shapes_coco, 'val2017'), '--out', str(out),
                  '--as-detections', '--score-thr', '0.0', '--eval', '--threads', '1'])
    dets = json.loads(out.read_text())
    assert dets and {'image_id', 'category_id', 'bbox', 'score'} <= set(dets[0])
    metrics = json.loads((tmp_path / 'dets.json.eval.json').read_text())
    assert 0.0 <= metrics['bbox_mAP'] <= 1.0
