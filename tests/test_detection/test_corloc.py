"""CorLoc and pseudo-box precision / recall on hand-made boxes."""
import pytest

from scalenet_mm.detection import box_recall, corloc, matched_count, pseudo_box_quality, top_boxes


def _gt():
    images = [dict(id=i, file_name=f'{i}.png', height=50, width=50) for i in (1, 2, 3)]
    anns = [
        dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 10, 10], area=100, iscrowd=0),
        dict(id=2, image_id=1, category_id=1, bbox=[30, 30, 10, 10], area=100, iscrowd=0),
        dict(id=3, image_id=1, category_id=2, bbox=[20, 0, 10, 20], area=200, iscrowd=0),
        dict(id=4, image_id=2, category_id=2, bbox=[5, 5, 20, 20], area=400, iscrowd=0),
        dict(id=5, image_id=3, category_id=1, bbox=[10, 10, 10, 10], area=100, iscrowd=0),
    ]
    return dict(images=images, annotations=anns, categories=[dict(id=1, name='a'), dict(id=2, name='b')])


def test_matched_count_is_one_to_one():
    true = [[0, 0, 10, 10], [30, 30, 10, 10]]
    assert matched_count(true, [[0, 0, 10, 10]]) == 1
    assert matched_count(true, [[0, 0, 10, 10], [1, 0, 10, 10]]) == 1  # two boxes on one object: one match
    assert matched_count(true, [[0, 0, 10, 10], [30, 31, 10, 10]]) == 2
    assert matched_count(true, []) == 0 and matched_count([], [[0, 0, 1, 1]]) == 0


def test_corloc_uses_the_top_box_and_counts_unboxed_pairs_as_misses():
    dets = [
        dict(image_id=1, category_id=1, bbox=[30, 30, 10, 10], score=0.9),  # top box of (1, 1): a hit
        dict(image_id=1, category_id=1, bbox=[40, 0, 5, 5], score=0.2),
        dict(image_id=1, category_id=2, bbox=[0, 40, 5, 5], score=0.8),  # top box of (1, 2): a miss ...
        dict(image_id=1, category_id=2, bbox=[20, 0, 10, 20], score=0.7),  # ... although this one is right
        dict(image_id=2, category_id=2, bbox=[6, 5, 20, 20], score=0.5),  # hit
        dict(image_id=2, category_id=1, bbox=[6, 5, 20, 20], score=0.99),  # class absent from image 2: ignored
    ]  # pair (3, 1) has no box: a miss
    assert top_boxes(dets)[(1, 2)] == [0, 40, 5, 5]
    overall, per_class = corloc(_gt(), dets, per_class=True)
    assert overall == pytest.approx(2 / 4)
    assert per_class == {1: pytest.approx(1 / 2), 2: pytest.approx(1 / 2)}


def test_corloc_of_annotation_dict_and_unknown_images():
    pseudo = dict(annotations=[dict(image_id=i, category_id=c, bbox=b) for i, c, b in
                               [(1, 1, [0, 0, 10, 10]), (1, 2, [20, 0, 10, 20]), (2, 2, [5, 5, 20, 20]),
                                (3, 1, [10, 10, 10, 10])]])
    assert corloc(_gt(), pseudo) == 1.0
    with pytest.raises(ValueError, match='not in the true annotation file'):
        corloc(_gt(), [dict(image_id=9, category_id=1, bbox=[0, 0, 1, 1], score=1.0)])


def test_pseudo_box_quality_packages_box_recall():
    pseudo = dict(annotations=[dict(image_id=1, category_id=1, bbox=[0, 0, 10, 10]),
                               dict(image_id=1, category_id=1, bbox=[0, 20, 10, 10]),
                               dict(image_id=2, category_id=2, bbox=[5, 5, 20, 20])])
    quality = pseudo_box_quality(_gt(), pseudo)
    assert (quality['recall'], quality['precision']) == box_recall(_gt(), pseudo)
    assert quality['recall'] == pytest.approx(2 / 5) and quality['precision'] == pytest.approx(2 / 3)
    assert quality['corloc'] == pytest.approx(2 / 4)
    assert (quality['num_true'], quality['num_pseudo']) == (5, 3)
