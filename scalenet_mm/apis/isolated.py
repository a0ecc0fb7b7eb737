"""Run one apis step in a fresh Python process (one Runner, one model per process; memory is returned when it
exits), with its result handed back as JSON.

    run_isolated('train_and_test', dict(config=..., work_dir=...), log_path='x.log')

The child is ``python -m scalenet_mm.apis.isolated STEP KWARGS_JSON RESULT_JSON``; the steps are the functions
of :data:`STEPS`, which call the same apis a caller would call in-process.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable, Dict, Optional

__all__ = ['STEPS', 'run_isolated', 'train_and_test', 'pseudo_boxes_step', 'cam_detections_step', 'detect_step']


def train_and_test(config: str, work_dir: str, cfg_options: Optional[dict] = None, train: bool = True,
                   validate: bool = False) -> Dict:
    """Train ``config`` (unless ``train=False``), then test the final model once with the test loop. The
    in-training validation is switched off unless ``validate`` (then the config's val loop runs as configured,
    e.g. to see a schedule plateau on a selection split). Returns ``dict(metrics, train_s, total_s)``."""
    from .config import load_config
    from .runner import build_runner, plain_metrics
    cfg = load_config(config, cfg_options, work_dir)
    cfg.experiment_name = osp.basename(work_dir.rstrip('/'))
    if not validate:
        cfg.val_dataloader, cfg.val_evaluator, cfg.val_cfg = None, None, None
    runner = build_runner(cfg)
    start = time.time()
    if train:
        runner.train()
    train_s = time.time() - start
    metrics = runner.test()
    return dict(metrics=plain_metrics(metrics), train_s=round(train_s, 1),
                total_s=round(time.time() - start, 1))


def pseudo_boxes_step(config: str, checkpoint: str, ann_file: str, img_dir: str, out: str, **kwargs) -> Dict:
    """CAM pseudo-boxes of a classifier for ``ann_file`` -> ``out`` (COCO), with their quality against the true
    boxes of ``ann_file`` (evaluation only: the boxes are made from the image-level labels)."""
    from scalenet_mm.detection import box_recall

    from .model import init_model
    from .pseudo_boxes import make_pseudo_boxes
    pseudo = make_pseudo_boxes(init_model(config, checkpoint), ann_file, img_dir, **kwargs)
    with open(out, 'w') as f:
        json.dump(pseudo, f)
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    recall, precision = box_recall(coco, pseudo, 0.5)
    n, num_images = len(pseudo['annotations']), len(pseudo['images'])
    return dict(num_images=num_images, num_boxes=n, num_true_boxes=len(coco.get('annotations', [])),
                boxes_per_image=n / max(num_images, 1), recall_iou50=round(recall, 4),
                precision_iou50=round(precision, 4))


def cam_detections_step(config: str, checkpoint: str, ann_file: str, img_dir: str, out: str, **kwargs) -> Dict:
    """CAM boxes scored by the classifier as COCO detections -> ``out``; returns their COCO bbox metrics."""
    from scalenet_mm.detection import coco_bbox_eval

    from .model import init_model
    from .pseudo_boxes import make_cam_detections
    results, coco = make_cam_detections(init_model(config, checkpoint), ann_file, img_dir, **kwargs)
    with open(out, 'w') as f:
        json.dump(results, f)
    return coco_bbox_eval(coco, results)


def detect_step(config: str, checkpoint: str, ann_file: str, img_dir: str, out: str) -> Dict:
    """Run a detector over the images of a COCO file (its test pipeline; the file's boxes are not read) and
    write the detections as a COCO results list to ``out``; returns ``dict(num_images, num_detections)``."""
    import torch
    from mmengine.runner import Runner

    from scalenet_mm.detection import detections_from_samples

    from .model import init_model
    model = init_model(config, checkpoint)
    loader_cfg = model.cfg.test_dataloader.copy()
    loader_cfg['dataset'] = dict(loader_cfg['dataset'], data_root='', ann_file=osp.abspath(ann_file),
                                 data_prefix=dict(img=osp.abspath(img_dir) + '/'), test_mode=True)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg)
    results = []
    with torch.no_grad():
        for data in loader:
            results += detections_from_samples(model.test_step(data), loader.dataset.cat_ids)
    with open(out, 'w') as f:
        json.dump(results, f)
    return dict(num_images=len(loader.dataset), num_detections=len(results))


STEPS: Dict[str, Callable[..., Dict]] = {
    'train_and_test': train_and_test,
    'pseudo_boxes': pseudo_boxes_step,
    'cam_detections': cam_detections_step,
    'detect': detect_step,
}


def run_isolated(step: str, kwargs: Dict, log_path: str, threads: int = 1) -> Dict:
    """Run ``STEPS[step](**kwargs)`` in a child process with ``threads`` torch threads; its output goes to
    ``log_path``. Returns the step's result; a failure raises with the end of the log."""
    if step not in STEPS:
        raise KeyError(f'unknown step {step!r}; choose from {sorted(STEPS)}')
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    result_path = log_path + '.result.json'
    cmd = [sys.executable, '-m', 'scalenet_mm.apis.isolated', step, json.dumps(kwargs), result_path]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), SCALENET_MM_THREADS=str(threads), PYTHONWARNINGS='ignore')
    start = time.time()
    print(f'[isolated] {step} (log: {log_path})', flush=True)
    with open(log_path, 'w') as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if rc:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'step {step} failed (rc={rc}); log {log_path}:\n{tail}')
    print(f'[isolated]   done in {time.time() - start:.0f}s', flush=True)
    with open(result_path) as f:
        return json.load(f)


def _main(argv) -> None:
    import torch
    step, kwargs, result_path = argv
    torch.set_num_threads(int(os.environ.get('SCALENET_MM_THREADS', '1')))
    result = STEPS[step](**json.loads(kwargs))
    with open(result_path, 'w') as f:
        json.dump(result, f, indent=1)


if __name__ == '__main__':
    _main(sys.argv[1:])
