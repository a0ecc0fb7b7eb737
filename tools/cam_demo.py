#!/usr/bin/env python
"""Class activation maps of one image or a folder of images, saved as overlay PNGs.

Examples::

    python tools/cam_demo.py configs/wsol/scalenet_demo_cub.py CKPT data/demo/cub/CUB_200_2011/images --out-dir cams
    python tools/cam_demo.py CONFIG CKPT img.jpg --method layercam --level backbone.stage1 \
        --multi-scale 32,64,128,224,256,320,512     # one panel per input size + mean / max fusion (paper Fig. 8)

Each output ``<out-dir>/<image stem>_cam.png`` shows the image, the CAM of the target class (``--target``;
default: the top-1 class) at the network input size (``--input-size``, default: the config's test ``Resize``
or the image's own size) and, with ``--multi-scale``, the map at every input size and their mean / max fusion.
"""
import argparse
import os
import os.path as osp

from scalenet_mm.apis import init_model, parse_level, parse_sizes
from scalenet_mm.apis.images import config_input_size, list_images, preprocess_image
from scalenet_mm.visualization import plot_cam_panels
from scalenet_mm.wsol import CAM_METHODS, MultiScaleCAM, build_cam_extractor


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CAM overlays of images (single- or multi-scale)')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None)
    parser.add_argument('images', help='an image file or a folder (searched recursively)')
    parser.add_argument('--out-dir', default='work_dirs/cam_demo')
    parser.add_argument('--method', default='cam', choices=CAM_METHODS)
    parser.add_argument('--level', default=None, help='target layer of the gradient methods (see wsol_eval.py)')
    parser.add_argument('--target', type=int, default=None, help='class index (default: top-1 at --input-size)')
    parser.add_argument('--input-size', default=None, help='H,W or S (default: the config test Resize)')
    parser.add_argument('--multi-scale', default=None, help='comma-separated square input sizes')
    parser.add_argument('--limit', type=int, default=None, help='at most N images of a folder')
    return parser.parse_args(argv)


def main(argv=None):
    import mmcv
    import torch
    args = parse_args(argv)
    model = init_model(args.config, args.checkpoint)
    extractor = build_cam_extractor(model, args.method, parse_level(args.level))
    sizes = parse_sizes(args.multi_scale)
    ms = MultiScaleCAM(extractor, sizes) if sizes else None
    size = config_input_size(model.cfg)
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
        x = preprocess_image(model, image, size)
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
        plot_cam_panels(image[:, :, ::-1], panels, out_path, f'{name} p={prob:.2f}')
        written.append(out_path)
        print(f'[cam_demo] {path} -> {out_path} (target {name}, p={prob:.2f})')
    print(f'[cam_demo] wrote {len(written)} overlay(s) to {osp.abspath(args.out_dir)}')
    return written


if __name__ == '__main__':
    main()
