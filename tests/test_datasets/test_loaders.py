"""The layout loaders read what the generator writes (and report broken layouts clearly)."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from scalenet_mm.datasets import CUBWithBoxes, ImageNetWithBoxes, parse_voc_boxes
from scalenet_mm.datasets.synthetic import CLASSES


def _objects_by_stem(meta, split):
    return {img['stem']: img for img in meta['images'][split]}


# ---------------------------------------------------------------------------------------------- CUB
@pytest.mark.parametrize('data', ['single_data', 'multi_data'])
def test_cub_loads_with_boxes(data, request):
    data = request.getfixturevalue(data)
    for root in (osp.join(data['root'], 'cub'), osp.join(data['root'], 'cub', 'CUB_200_2011')):
        train = CUBWithBoxes(root, split='train')
        test = CUBWithBoxes(root, split='test')
        assert len(train) == 24 and len(test) == 10
        assert train.CLASSES == CLASSES
        assert not train.test_mode and test.test_mode
    for split, ds in (('train', train), ('test', test)):
        truth = _objects_by_stem(data['meta'], split)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            stem = osp.splitext(osp.basename(info['img_path']))[0]
            img = truth[stem]
            assert info['gt_label'] == img['label']
            primary = max(img['objects'], key=lambda o: o['area'])
            assert info['gt_bboxes'].dtype == np.float32 and info['gt_bboxes'].shape == (1, 4)
            assert info['gt_bboxes'][0].tolist() == primary['bbox']  # x1 = x + w - 1
            assert osp.isfile(info['img_path'])
            mask = np.asarray(Image.open(info['mask_path'])) > 127
            ys, xs = np.nonzero(mask)
            assert [xs.min(), ys.min(), xs.max(), ys.max()] == primary['bbox']


def test_cub_box_conversion_and_pipeline(tmp_path, single_data):
    root = tmp_path / 'CUB_200_2011'
    shutil.copytree(osp.join(single_data['root'], 'cub', 'CUB_200_2011'), root)
    lines = (root / 'bounding_boxes.txt').read_text().splitlines()
    lines[0] = '1 3.0 5.0 10.0 20.0'
    (root / 'bounding_boxes.txt').write_text('\n'.join(lines) + '\n')
    ds = CUBWithBoxes(str(root), split='train', seg_dir=False,
                      pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    info = ds.get_data_info(0)
    assert info['img_id'] == 1
    assert info['gt_bboxes'].tolist() == [[3.0, 5.0, 12.0, 24.0]]
    assert 'mask_path' not in info
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 48, 48)
    assert int(out['data_samples'].gt_label) == info['gt_label']


def test_cub_errors(tmp_path, single_data):
    src = osp.join(single_data['root'], 'cub', 'CUB_200_2011')
    with pytest.raises(FileNotFoundError, match='images.txt'):
        CUBWithBoxes(str(tmp_path / 'nowhere'))
    root = tmp_path / 'CUB_200_2011'
    shutil.copytree(src, root)
    os.remove(root / 'bounding_boxes.txt')
    with pytest.raises(FileNotFoundError, match=r'bounding_boxes\.txt.*CUB-200-2011 layout'):
        CUBWithBoxes(str(root))
    shutil.copy(osp.join(src, 'bounding_boxes.txt'), root / 'bounding_boxes.txt')
    lines = (root / 'image_class_labels.txt').read_text().splitlines()
    (root / 'image_class_labels.txt').write_text('\n'.join(lines[:6] + lines[7:]) + '\n')
    with pytest.raises(ValueError, match=r'image id 7 .*image_class_labels\.txt'):
        CUBWithBoxes(str(root))
    shutil.copy(osp.join(src, 'image_class_labels.txt'), root / 'image_class_labels.txt')
    with open(root / 'bounding_boxes.txt', 'a') as f:
        f.write('999 1 1 4 4\n')
    with pytest.raises(ValueError, match=r'image id 999 .*not listed'):
        CUBWithBoxes(str(root))


# ----------------------------------------------------------------------------------------- ImageNet
@pytest.mark.parametrize('data', ['single_data', 'multi_data'])
def test_imagenet_with_boxes(data, request):
    data = request.getfixturevalue(data)
    root = osp.join(data['root'], 'imagenet')
    for split, meta_split, n in (('train', 'train', 24), ('val', 'test', 10)):
        ds = ImageNetWithBoxes(data_root=root, split=split)
        assert len(ds) == n and ds.CLASSES == CLASSES
        truth = _objects_by_stem(data['meta'], meta_split)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            img = truth[osp.splitext(osp.basename(info['img_path']))[0]]
            assert info['gt_label'] == img['label']
            assert info['gt_bboxes'].dtype == np.float32
            # VOC xmin..xmax (1-based) -> 0-based inclusive: equal to the generator's boxes
            assert info['gt_bboxes'].tolist() == [o['bbox'] for o in img['objects']]
            assert info['gt_bboxes_labels'].tolist() == [o['label'] for o in img['objects']]
            assert info['bbox_img_shape'] == (48, 48)
    # folder scan (no ann file) gives the same labels since class names are sorted
    scan = ImageNetWithBoxes(data_root=root, data_prefix='val', bbox_dir='val_boxes')
    ann = ImageNetWithBoxes(data_root=root, split='val')
    assert sorted((d['img_path'], d['gt_label']) for d in scan.load_data_list()) == \
        sorted((d['img_path'], d['gt_label']) for d in ann.load_data_list())


def test_voc_parse(tmp_path):
    xml = tmp_path / 'a.xml'
    xml.write_text('<annotation><size><width>10</width><height>8</height></size>'
                   '<object><name>n01</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax>'
                   '<ymax>8</ymax></bndbox></object></annotation>')
    names, boxes, size = parse_voc_boxes(str(xml))
    assert names == ['n01'] and boxes.tolist() == [[0, 1, 9, 7]] and size == (8, 10)
    assert parse_voc_boxes(str(xml), one_based=False)[1].tolist() == [[1, 2, 10, 8]]
    xml.write_text('<annotation><object>')
    with pytest.raises(ValueError, match='a.xml'):
        parse_voc_boxes(str(xml))


def test_imagenet_errors(tmp_path, single_data):
    root = tmp_path / 'imagenet'
    shutil.copytree(osp.join(single_data['root'], 'imagenet'), root)
    xmls = sorted(os.listdir(root / 'val_boxes'))
    os.remove(root / 'val_boxes' / xmls[0])
    with pytest.raises(FileNotFoundError, match=xmls[0]):
        ImageNetWithBoxes(data_root=str(root), split='val')
    assert len(ImageNetWithBoxes(data_root=str(root), split='val', missing_boxes='skip')) == 9
    empty = ImageNetWithBoxes(data_root=str(root), split='val', missing_boxes='empty')
    assert len(empty) == 10 and min(len(d['gt_bboxes']) for d in empty.load_data_list()) == 0
    with pytest.raises(FileNotFoundError, match='val_boxes'):
        ImageNetWithBoxes(data_root=str(tmp_path), split='val', data_prefix=str(root / 'val'))
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        ImageNetWithBoxes(data_root=str(root), split='val', ann_file='meta/missing.txt')


# --------------------------------------------------------------------------------------------- COCO
@pytest.mark.parametrize('data', ['single_data', 'multi_data'])
def test_coco_layout(data, request):
    data = request.getfixturevalue(data)
    from mmdet.datasets import CocoDataset
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    root = osp.join(data['root'], 'coco')
    for folder, split, n in (('train2017', 'train', 24), ('val2017', 'test', 10)):
        ann_file = osp.join(root, 'annotations', f'instances_{folder}.json')
        coco = COCO(ann_file)
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
        assert len(coco.getImgIds()) == n
        truth = data['meta']['images'][split]
        assert len(coco.getAnnIds()) == sum(len(img['objects']) for img in truth)
        for img_id in coco.getImgIds():
            info = coco.loadImgs(img_id)[0]
            img = truth[img_id - 1]
            assert info['file_name'] == img['stem'] + '.jpg'
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            for ann, obj in zip(anns, img['objects']):
                x0, y0, x1, y1 = obj['bbox']
                assert ann['bbox'] == [x0, y0, x1 - x0 + 1, y1 - y0 + 1]
                assert ann['category_id'] == obj['label'] + 1 and ann['iscrowd'] == 0
                m = coco.annToMask(ann)
                assert m.shape == (48, 48) and m.sum() == ann['area'] == obj['area']
                assert mask_utils.toBbox(coco.annToRLE(ann)).tolist() == ann['bbox']

        ds = CocoDataset(
            data_root=root,
            ann_file=f'annotations/instances_{folder}.json',
            data_prefix=dict(img=f'{folder}/'),
            metainfo=dict(classes=CLASSES),
            filter_cfg=None,
            test_mode=True,
            pipeline=[])
        assert len(ds) == n
        info = ds.get_data_info(0)
        assert osp.isfile(info['img_path'])
        x0, y0, x1, y1 = truth[0]['objects'][0]['bbox']
        # mmdet converts COCO xywh to exclusive corners: x + w = x1 + 1
        assert info['instances'][0]['bbox'] == [x0, y0, x1 + 1, y1 + 1]
        assert info['instances'][0]['bbox_label'] == truth[0]['objects'][0]['label']


# ----------------------------------------------------------------------------------------- registry
def test_registered_in_both_registries(single_data):
    from mmdet.registry import DATASETS as DET_DATASETS
    from mmpretrain.registry import DATASETS as CLS_DATASETS

    for registry in (CLS_DATASETS, DET_DATASETS):
        for name in ('CUBWithBoxes', 'ImageNetWithBoxes', 'CIFAR10Local', 'CIFAR100Local'):
            assert registry.get(name) is not None, name
    ds = CLS_DATASETS.build(
        dict(type='CUBWithBoxes', data_root=osp.join(single_data['root'], 'cub'), split='test'))
    assert len(ds) == 10
