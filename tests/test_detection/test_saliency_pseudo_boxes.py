"""The no-learning control: saliency boxes labelled with every image-level class of the image."""
import numpy as np
import pytest

from scalenet_mm.detection import saliency_boxes, saliency_pseudo_coco
from scalenet_mm.utils.box_geometry import box_iou

SQUARES = [(4, 6, 15, 17), (24, 22, 35, 33)]


def _image():
    image = np.full((40, 40, 3), 20, dtype=np.uint8)
    for (x0, y0, x1, y1), value in zip(SQUARES, (250, 140)):
        image[y0:y1 + 1, x0:x1 + 1] = value
    return image


def brightness(image):
    return image.astype(np.float64).mean(axis=2)


def test_every_salient_box_gets_every_image_class():
    boxes = saliency_boxes(_image(), brightness, classes=[2, 5], thr=0.5)
    assert sorted(boxes) == [2, 5]
    for cat in (2, 5):
        assert len(boxes[cat]) == 2
        iou = box_iou(boxes[cat], np.array(SQUARES))
        assert iou[0, 0] > 0.9 and iou[1, 1] > 0.9
    assert saliency_boxes(_image(), brightness, classes=[]) == {}
    with pytest.raises(ValueError, match='2-D'):
        saliency_boxes(_image(), lambda im: im, classes=[1])


def test_pseudo_coco_from_image_files_reads_labels_not_boxes(tmp_path):
    import mmcv
    mmcv.imwrite(_image()[:, :, ::-1], str(tmp_path / 'a.png'))  # stored BGR, read back as RGB
    mmcv.imwrite(np.full((40, 40, 3), 20, dtype=np.uint8), str(tmp_path / 'b.png'))
    source = dict(images=[dict(id=1, file_name='a.png', height=40, width=40),
                          dict(id=2, file_name='b.png', height=40, width=40)],
                  categories=[dict(id=1, name='x'), dict(id=2, name='y')],
                  annotations=[dict(id=1, image_id=1, category_id=2, bbox=[-5, -5, 1e6, 1e6], iscrowd=0),
                               dict(id=2, image_id=1, category_id=1, bbox=[0, 0, 0, 0], iscrowd=0)])
    seen = []

    def recording(image):
        seen.append(image[6, 4].tolist())
        return brightness(image)

    coco = saliency_pseudo_coco(source, str(tmp_path), recording, thr=0.5)
    assert seen == [[250, 250, 250]]  # image 2 has no labels: not even read
    assert sorted((a['category_id'], tuple(a['bbox'])) for a in coco['annotations']) == sorted(
        (c, (float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1))) for c in (1, 2)
        for x0, y0, x1, y1 in SQUARES)
    assert coco['images'] == source['images'] and 'control' in coco['info']['description']
