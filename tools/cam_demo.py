#!/usr/bin/env python
"""Class activation maps of one image or a folder of images, saved as overlay PNGs.

Examples::

    python tools/cam_demo.py configs/wsol/scalenet_demo_cub.py CKPT data/demo/cub/CUB_200_2011/images --out-dir cams
    python tools/cam_demo.py CONFIG CKPT img.jpg --method layercam --level backbone.stage1 \
        --multi-scale 32,64,128,224,256,320,512     # one panel per input size + mean / max fusion (paper Fig. 8)

Each output ``<out-dir>/<image stem>_cam.png`` shows the image, the CAM of the target class (``--target``;
default: the top-1 class) at the network input size (``--input-size``, default: the config's test ``Resize``
or the image's own size) and, with ``--multi-scale``, the map at every input size and their mean / max fusion.
This is our own CAM tooling (mmpretrain's ``vis_cam.py`` needs the ``grad-cam`` package, whose 1.5 release
broke it); nothing beyond the project's requirements is used.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def list_images(path: str, limit=None):
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no such image or folder: {path}')
    found = []
    for root, _, files in os.walk(path):
        found += [osp.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTS)]
    found.sort()
    if not found:
        raise FileNotFoundError(f'no images ({", ".join(IMAGE_EXTS)}) under {path}')
    return found[:limit] if limit else found


def config_input_size(cfg):
    """``(h, w)`` of the first whole-image ``Resize`` in the config's test pipeline, else None."""
    dl = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    for step in dl.get('dataset', {}).get('pipeline', []):
        if step.get('type') == 'Resize' and step.get('scale') is not None:
            scale = step['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return int(h), int(w)
    return None


def preprocess(model, image_bgr: np.ndarray, size):
    import mmcv
    img = image_bgr if size is None else mmcv.imresize(image_bgr, (size[1], size[0]))
    tensor = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return model.data_preprocessor(dict(inputs=[tensor]), False)['inputs']


def render(image_rgb, panels, path, title=''):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from scalenet_mm.wsol import prepare_cam
    from wsol_eval import _overlay
    h, w = image_rgb.shape[:2]
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(2.2 * (1 + len(panels)), 2.5), squeeze=False)
    axes[0, 0].imshow(image_rgb)
    axes[0, 0].set_title(title, fontsize=7)
    for ax, (name, cam) in zip(axes[0, 1:], panels):
        ax.imshow(_overlay(image_rgb, prepare_cam(cam, (h, w))))
        ax.set_title(name, fontsize=7)
    for ax in axes.ravel():
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    from wsol_eval import load_model, parse_level, parse_sizes
    parser = argparse.ArgumentParser(description='CAM overlays of images (single- or multi-scale)')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None)
    parser.add_argument('images', help='an image file or a folder (searched recursively)')
    parser.add_argument('--out-dir', default='work_dirs/cam_demo')
    parser.add_argument('--method', default='cam', choices=('cam', 'gradcam', 'gradcampp', 'layercam'))
    parser.add_argument('--level', default=None, help='target layer of the gradient methods (see wsol_eval.py)')
    parser.add_argument('--target', type=int, default=None, help='class index (default: top-1 at --input-size)')
    parser.add_argument('--input-size', default=None, help='H,W or S (default: the config test Resize)')
    parser.add_argument('--multi-scale', default=None, help='comma-separated square input sizes')
    parser.add_argument('--limit', type=int, default=None, help='at most N images of a folder')
    args = parser.parse_args(argv)
    import mmcv

    from scalenet_mm.wsol import MultiScaleCAM, build_cam_extractor
    cfg, model = load_model(args.config, args.checkpoint)
    extractor = build_cam_extractor(model, args.method, parse_level(args.level))
    sizes = parse_sizes(args.multi_scale)
    ms = MultiScaleCAM(extractor, sizes) if sizes else None
    size = config_input_size(cfg)
    if args.input_size:
        vals = [int(v) for v in args.input_size.split(',')]
        size = (vals[0], vals[-1])
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for path in list_images(args.images, args.limit):
        image = mmcv.imread(path)
        if image is None:
            print(f'[cam_demo] skipped unreadable {path}')
            continue
        x = preprocess(model, image, size)
        targets = None if args.target is None else torch.tensor([args.target])
        if ms is not None:
            out = ms(x, targets)
            panels = [(f'{s[0]}x{s[1]}', out['stack'][i, 0].numpy()) for i, s in enumerate(out['sizes'])]
            panels += [('mean', out['mean'][0].numpy()), ('max', out['max'][0].numpy())]
            scores, target = out['scores'][0], int(out['targets'][0])
        else:
            res = extractor(x, targets)
            panels = [(f'{args.method} @ {extractor.layer_name}', res.cams[0].numpy())]
            scores, target = res.scores[0], int(res.targets[0])
        prob = float(torch.softmax(scores, 0)[target])
        name = classes[target] if classes else f'class {target}'
        out_path = osp.join(args.out_dir, f'{osp.splitext(osp.basename(path))[0]}_cam.png')
        render(image[:, :, ::-1], panels, out_path, f'{name} p={prob:.2f}')
        written.append(out_path)
        print(f'[cam_demo] {path} -> {out_path} (target {name}, p={prob:.2f})')
    print(f'[cam_demo] wrote {len(written)} overlay(s) to {osp.abspath(args.out_dir)}')
    return written


if __name__ == '__main__':
    main()
