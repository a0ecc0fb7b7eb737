"""The functions every scalenet_mm tool and experiment calls (the counterpart of ``mmpretrain.apis`` /
``mmdet.apis``): configs, the Runner, models, the CAM loop, WSOL evaluation, pseudo-boxes, complexity."""
from .cams import build_cam_dataloader, build_cam_fn, gt_targets, iter_cams, parse_level, parse_sizes, wsol_dataset_cfg
from .cli import (
                   add_experiment_args,
                   add_runner_args,
                   apply_local_rank,
                   config_from_args,
                   experiment_plan,
                   stored_results,
)
from .config import dataloader_datasets, load_config, override_data_root
from .flops import infer_input_size, load_reference, measure_complexity, reference_for
from .model import build_model, init_model, model_scope
from .pseudo_boxes import iter_coco_cams, make_cam_detections, make_pseudo_boxes
from .run_options import apply_test_options, apply_train_options
from .runner import (
                   LAUNCHERS,
                   CPUDistributedDataParallel,
                   build_runner,
                   is_main_process,
                   run_test,
                   run_train,
                   setup_cpu_distributed,
)
from .training_logs import last_record_with, read_scalars, read_training_curves
from .wsol import DEFAULT_BUCKETS, SUMMARY_KEYS, evaluate_wsol, headline_metrics, run_wsol_eval, summarize

__all__ = [
    'add_runner_args', 'apply_local_rank', 'config_from_args', 'add_experiment_args', 'experiment_plan',
    'stored_results', 'load_config', 'override_data_root',
    'dataloader_datasets', 'LAUNCHERS', 'CPUDistributedDataParallel', 'setup_cpu_distributed', 'build_runner',
    'apply_train_options', 'apply_test_options', 'run_train', 'run_test', 'is_main_process', 'build_model',
    'init_model', 'model_scope', 'build_cam_dataloader', 'build_cam_fn', 'gt_targets', 'iter_cams', 'parse_level',
    'parse_sizes', 'wsol_dataset_cfg', 'DEFAULT_BUCKETS', 'SUMMARY_KEYS', 'evaluate_wsol', 'headline_metrics',
    'run_wsol_eval', 'summarize', 'iter_coco_cams', 'make_pseudo_boxes', 'make_cam_detections', 'measure_complexity',
    'load_reference', 'reference_for', 'infer_input_size', 'read_scalars', 'read_training_curves', 'last_record_with'
]
