"""What the train / test command-line switches do to a config (the ``merge_args`` of mm tools, as library
functions so that scripts and tests take the same path as ``tools/train.py`` and ``tools/test.py``)."""
import os.path as osp
import warnings
from copy import deepcopy
from typing import Optional

from mmengine.config import Config

__all__ = ['apply_train_options', 'apply_test_options']


def apply_train_options(cfg: Config, amp: bool = False, auto_scale_lr: bool = False, no_validate: bool = False,
                        resume: Optional[str] = None) -> Config:
    """``--amp``, ``--auto-scale-lr``, ``--no-validate`` and ``--resume [CKPT]`` (``'auto'``: the latest
    checkpoint of the work dir), applied in place; returns ``cfg``."""
    if amp:
        import torch
        if torch.cuda.is_available():
            optim = cfg.optim_wrapper
            if optim.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
                warnings.warn('the config already uses AmpOptimWrapper')
            else:
                optim.type = 'AmpOptimWrapper'
                optim.setdefault('loss_scale', 'dynamic')
        else:
            warnings.warn('--amp needs a GPU (mmengine AmpOptimWrapper); training in fp32 on CPU')
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    if no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume: checkpoint {resume} does not exist')
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def apply_test_options(cfg: Config, checkpoint: str, tta: bool = False, out: Optional[str] = None) -> Config:
    """The checkpoint to test, ``--tta`` (the config's ``tta_pipeline`` and ``tta_model``) and ``--out``
    (per-sample predictions dumped to a pickle), applied in place; returns ``cfg``."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    cfg.load_from = checkpoint
    if tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            raise KeyError(f'--tta: the config {cfg.filename} defines no tta_pipeline/tta_model')
        model = deepcopy(cfg.model)
        if cfg.get('data_preprocessor') is not None:  # the runner would attach it to the wrapper only
            model.setdefault('data_preprocessor', deepcopy(cfg.data_preprocessor))
        cfg.model = dict(deepcopy(cfg.tta_model), module=model)
        cfg.test_dataloader.dataset.pipeline = deepcopy(cfg.tta_pipeline)
    if out:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl/.pickle file')
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        evaluator.append(dict(type='DumpResults', out_file_path=out))
        cfg.test_evaluator = evaluator
    return cfg
