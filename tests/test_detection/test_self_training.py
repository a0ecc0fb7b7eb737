"""A self-training round consumes image-level labels only and keeps a box for every labelled pair."""
import copy
import json

import pytest
import torch

from scalenet_mm.detection import detections_from_samples, self_training_round

CATS = [dict(id=1, name='a'), dict(id=2, name='b'), dict(id=3, name='c')]


def _images():
    return [dict(id=i, file_name=f'{i}.png', height=64, width=64) for i in (1, 2, 3)]


def _labels_coco():
    """Image 1: {1, 2}; image 2: {2}; image 3: {3}; with real-looking boxes."""
    anns = [(1, 1, [2, 2, 10, 10]), (1, 2, [30, 30, 12, 8]), (2, 2, [5, 5, 20, 20]), (3, 3, [0, 0, 30, 30])]
    return dict(images=_images(), categories=CATS,
                annotations=[dict(id=k + 1, image_id=i, category_id=c, bbox=b, area=b[2] * b[3], iscrowd=0)
                             for k, (i, c, b) in enumerate(anns)])


def _previous():
    anns = [(1, 1, [0, 0, 16, 16]), (1, 2, [28, 28, 16, 12]), (3, 3, [1, 1, 20, 20])]  # nothing for (2, 2)
    return dict(info=dict(description='CAM pseudo-boxes'), images=_images(), categories=CATS,
                annotations=[dict(id=k + 1, image_id=i, category_id=c, bbox=b, area=b[2] * b[3], iscrowd=0)
                             for k, (i, c, b) in enumerate(anns)])


DETECTIONS = [
    dict(image_id=1, category_id=1, bbox=[3.0, 2.0, 9.0, 11.0], score=0.95),
    dict(image_id=1, category_id=1, bbox=[40.0, 40.0, 9.0, 9.0], score=0.7),
    dict(image_id=1, category_id=1, bbox=[20.0, 0.0, 5.0, 5.0], score=0.3),  # below the threshold
    dict(image_id=1, category_id=3, bbox=[10.0, 10.0, 20.0, 20.0], score=0.99),  # class 3 is not in image 1
    dict(image_id=2, category_id=2, bbox=[4.0, 6.0, 21.0, 19.0], score=0.2),  # only a weak detection
    dict(image_id=3, category_id=1, bbox=[0.0, 0.0, 8.0, 8.0], score=0.9),  # class 1 is not in image 3
]


def _boxes(coco):
    return sorted((a['image_id'], a['category_id'], tuple(a['bbox'])) for a in coco['annotations'])


def test_round_keeps_confident_labelled_detections_and_falls_back():
    out = self_training_round(DETECTIONS, _labels_coco(), _previous(), score_thr=0.5)
    assert _boxes(out.coco) == [
        (1, 1, (3.0, 2.0, 9.0, 11.0)), (1, 1, (40.0, 40.0, 9.0, 9.0)),  # confident, labelled
        (1, 2, (28.0, 28.0, 16.0, 12.0)),  # no detection: the previous round's box
        (2, 2, (4.0, 6.0, 21.0, 19.0)),  # no confident detection, no previous box: the best detection
        (3, 3, (1.0, 1.0, 20.0, 20.0)),  # the class-1 detection in image 3 is dropped, the previous box kept
    ]
    assert out.stats == dict(pairs=4, from_detections=1, from_previous=2, from_best_detection=1, missing=0,
                             boxes=5, dropped_unlabelled=2, dropped_low_score=1, dropped_topk=0)
    assert out.coco['images'] == _images() and out.coco['categories'] == CATS
    # top-k per class and per-class thresholds
    top1 = self_training_round(DETECTIONS, _labels_coco(), _previous(), score_thr={1: 0.5, 2: 0.1, 3: 0.5},
                               topk_per_class=1)
    assert [b for b in _boxes(top1.coco) if b[:2] == (1, 1)] == [(1, 1, (3.0, 2.0, 9.0, 11.0))]
    assert top1.stats['from_detections'] == 2  # (2, 2) now passes its class threshold
    assert top1.stats['dropped_topk'] == 1
    # without the best-detection fallback the pair is reported missing
    strict = self_training_round(DETECTIONS, _labels_coco(), _previous(), fallback_to_best=False)
    assert strict.stats['missing'] == 1 and all(b[:2] != (2, 2) for b in _boxes(strict.coco))


def test_round_reads_only_image_level_labels(tmp_path):
    reference = self_training_round(DETECTIONS, _labels_coco(), _previous())
    garbage = _labels_coco()
    for k, ann in enumerate(garbage['annotations']):  # nonsense boxes, same classes per image
        ann['bbox'] = [-1000.0 * k, 7.0, -3.0, 1e9]
        ann['area'] = -1
    absent = copy.deepcopy(garbage)
    for ann in absent['annotations']:
        del ann['bbox'], ann['area']
    path = tmp_path / 'garbage.json'
    path.write_text(json.dumps(garbage))
    for labels in (garbage, absent, str(path), {1: [2, 1], 2: [2], 3: [3]}):
        assert self_training_round(DETECTIONS, labels, _previous()) == reference
    # ... while the labels themselves matter: drop class 2 from image 1 and its pair disappears
    fewer = self_training_round(DETECTIONS, {1: [1], 2: [2], 3: [3]}, _previous())
    assert all(b[:2] != (1, 2) for b in _boxes(fewer.coco))


def test_round_checks_its_inputs():
    with pytest.raises(ValueError, match='cover different images'):
        self_training_round(DETECTIONS, {1: [1], 2: [2]}, _previous())
    with pytest.raises(ValueError, match='not a training image'):
        self_training_round(DETECTIONS + [dict(image_id=8, category_id=1, bbox=[0, 0, 1, 1], score=1.0)],
                            _labels_coco(), _previous())
    with pytest.raises(ValueError, match='no value for categories'):
        self_training_round(DETECTIONS, _labels_coco(), _previous(), score_thr={1: 0.5})


def test_det_data_samples_give_the_same_round():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    samples = []
    for image_id in (1, 2, 3):
        dets = [d for d in DETECTIONS if d['image_id'] == image_id]
        sample = DetDataSample(metainfo=dict(img_id=image_id))
        pred = InstanceData()
        pred.bboxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (d['bbox'] for d in dets)])
        pred.scores = torch.tensor([d['score'] for d in dets])
        pred.labels = torch.tensor([d['category_id'] - 1 for d in dets])
        sample.pred_instances = pred
        samples.append(sample)
    converted = detections_from_samples(samples, [1, 2, 3])
    assert sorted((d['image_id'], d['category_id'], tuple(d['bbox'])) for d in converted) == sorted(
        (d['image_id'], d['category_id'], tuple(d['bbox'])) for d in DETECTIONS)
    assert self_training_round(samples, _labels_coco(), _previous(), category_ids=[1, 2, 3]) == \
        self_training_round(DETECTIONS, _labels_coco(), _previous())
