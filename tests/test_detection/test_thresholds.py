"""Per-class CAM thresholds come from the selection split only; the best-tau vs chosen-tau diagnostic."""
import json

import numpy as np
import pytest

from scalenet_mm.detection import (
    SelectionBoxes,
    choose_cam_source,
    choose_class_thresholds,
    threshold_diagnostic,
    threshold_sweep,
    xyxy_to_coco,
)

SIZE = 100


def _cone(cx, cy, radius=40):
    """A pyramid whose level sets are squares: ``1 - chebyshev distance / radius``, 0 outside."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    return np.clip(1.0 - np.maximum(abs(xs - cx), abs(ys - cy)) / radius, 0, None)


def _level_box(cam, level):
    """The true box of a hand-made object: the bounding box of ``cam >= level``."""
    ys, xs = np.nonzero(cam >= level)
    return [xs.min(), ys.min(), xs.max(), ys.max()]


def _coco(objects, split):
    """``objects``: ``[(image_id, category_id, cam, level)]`` -> (COCO dict, {image_id: (2, H, W) cams})."""
    images, anns, cams = [], [], {}
    for image_id, cat, cam, level in objects:
        if image_id not in cams:
            images.append(dict(id=image_id, file_name=f'{image_id}.png', height=SIZE, width=SIZE))
            cams[image_id] = np.zeros((2, SIZE, SIZE))
        cams[image_id][cat - 1] = np.maximum(cams[image_id][cat - 1], cam)
        anns.append(dict(id=len(anns) + 1, image_id=image_id, category_id=cat, iscrowd=0,
                         bbox=xyxy_to_coco(_level_box(cam, level))))
    coco = dict(info=dict(split=split), images=images, annotations=anns,
                categories=[dict(id=1, name='a'), dict(id=2, name='b')])
    return coco, cams


def _selection(level_a=0.3, level_b=0.7, split='selection'):
    return _coco([(1, 1, _cone(48, 52), level_a), (2, 1, _cone(45, 55), level_a),
                  (3, 2, _cone(52, 50), level_b), (4, 2, _cone(55, 48), level_b),
                  (4, 1, _cone(20, 20, radius=16), level_a)], split)


def test_per_class_thresholds_follow_the_selection_boxes():
    coco, cams = _selection()
    selection = SelectionBoxes.from_coco(coco)
    assert choose_class_thresholds(selection, cams, [1, 2], iou_thr=0.95) == {1: 0.3, 2: 0.7}
    # the selection split's boxes, and nothing else, move the thresholds
    coco, cams = _selection(level_b=0.5)
    assert choose_class_thresholds(SelectionBoxes.from_coco(coco), cams, [1, 2], iou_thr=0.95) == {1: 0.3, 2: 0.5}
    sweep = threshold_sweep(SelectionBoxes.from_coco(coco), cams, [1, 2], iou_thr=0.95)
    best = int(np.argmax(sweep[2]['f1']))
    assert sweep[2]['tau'][best] == 0.5 and sweep[2]['recall'][best] == 1.0 and sweep[2]['precision'][best] == 1.0


def _write(path, coco):
    path.write_text(json.dumps(coco, default=int))
    return str(path)


def test_selection_boxes_are_read_from_the_selection_split_only(tmp_path):
    for split, found in (('train', "tagged info\\[\"split\"\\] = 'train'"), ('test', "= 'test'"),
                         (None, 'has no info\\["split"\\] tag')):
        coco, cams = _selection(split=split)
        path = _write(tmp_path / f'boxes_{split}.json', coco)
        with pytest.raises(ValueError, match=found) as err:
            SelectionBoxes.from_coco(path)
        assert f'boxes_{split}.json' in str(err.value) and 'instances_selection2017.json' in str(err.value)
    coco, cams = _selection()
    assert len(SelectionBoxes.from_coco(_write(tmp_path / 'boxes.json', coco))) == 4
    # the data layouts' file names mark the split too (their COCO files carry no split tag) ...
    untagged, _ = _selection(split=None)
    assert len(SelectionBoxes.from_coco(_write(tmp_path / 'instances_selection2017.json', untagged))) == 4
    with pytest.raises(ValueError, match="is the 'train' split file"):
        SelectionBoxes.from_coco(_write(tmp_path / 'instances_train2017.json', untagged))
    # ... and a name that contradicts the tag is refused
    with pytest.raises(ValueError, match="named as the 'test' split but tagged"):
        SelectionBoxes.from_coco(_write(tmp_path / 'instances_val2017.json', coco))
    # raw annotation dicts (e.g. the training file) are refused outright, whatever their tag
    with pytest.raises(TypeError, match='selection split only'):
        choose_class_thresholds(coco, cams, [1, 2])
    with pytest.raises(TypeError, match='from_coco'):
        SelectionBoxes(coco, 'train.json')


def test_cams_must_cover_exactly_the_selection_images():
    coco, cams = _selection()
    selection = SelectionBoxes.from_coco(coco)
    with pytest.raises(ValueError, match='no CAMs for 1 images'):
        choose_class_thresholds(selection, {k: v for k, v in cams.items() if k != 2}, [1, 2])
    with pytest.raises(ValueError, match='not in the selection split'):
        choose_class_thresholds(selection, {**cams, 99: cams[1]}, [1, 2])
    three = {k: np.concatenate([v, np.zeros((1, SIZE, SIZE))]) for k, v in cams.items()}
    with pytest.raises(ValueError, match='category 3 does not occur in the selection split'):
        choose_class_thresholds(selection, three, [1, 2, 3])
    assert choose_class_thresholds(selection, three, [1, 2, 3], fallback_tau=0.4)[3] == 0.4


def test_diagnostic_separates_cam_from_threshold():
    # class 1: image 1's object is the cone's 0.3 level, image 2's its 0.7 level -> one tau cannot fit both
    # class 2: the true object is far from the CAM's only peak -> no tau can find it
    gt, cams = _coco([(1, 1, _cone(48, 52), 0.3), (2, 1, _cone(45, 55), 0.7), (3, 2, _cone(30, 30), 0.5)],
                     'val')
    gt['annotations'][2]['bbox'] = [88, 88, 10, 10]
    report = threshold_diagnostic(gt, cams, [1, 2], {1: 0.3, 2: 0.5}, iou_thr=0.95)
    assert report['per_class'][1] == dict(recall_at_chosen=0.5, recall_at_best=1.0, num_true=2)
    assert report['per_class'][2] == dict(recall_at_chosen=0.0, recall_at_best=0.0, num_true=1)
    assert report['recall_at_chosen'] == pytest.approx(1 / 3) and report['recall_at_best'] == pytest.approx(2 / 3)


def test_custom_box_rule_and_cam_source_choice():
    coco, cams = _selection()
    selection = SelectionBoxes.from_coco(coco)

    def global_rule(cam, size, tau):  # one box around everything above tau times the maximum
        return np.array([_level_box(cam / cam.max(), tau)])

    # on single-peak maps a global rule and the peak rule agree
    assert choose_class_thresholds(selection, cams, [1, 2], box_fn=global_rule, iou_thr=0.95) == {1: 0.3, 2: 0.7}
    with pytest.raises(ValueError, match='only apply to the default box_fn'):
        choose_class_thresholds(selection, cams, [1, 2], box_fn=global_rule, min_peak=0.1)
    # a source whose maps sit off the objects loses to the one that holds them
    shifted = {k: np.roll(v, 30, axis=2) for k, v in cams.items()}
    best, scores = choose_cam_source(selection, {'shifted': shifted, 'level2': cams}, [1, 2], iou_thr=0.95)
    assert best == 'level2' and scores['level2'] == 1.0 and scores['shifted'] < 0.5
