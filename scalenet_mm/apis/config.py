"""Loading an mm config the way every scalenet_mm tool and experiment does: one place for ``--cfg-options``,
the work dir, the launcher and the data-root override."""
import os.path as osp
from typing import Any, Dict, Iterator, Optional, Sequence, Union

from mmengine.config import Config

__all__ = ['load_config', 'override_data_root', 'dataloader_datasets', 'ConfigLike']

ConfigLike = Union[str, Config]
_SPLITS = ('train', 'val', 'test')


def load_config(config: ConfigLike,
                cfg_options: Optional[Dict[str, Any]] = None,
                work_dir: Optional[str] = None,
                data_root: Optional[str] = None,
                launcher: Optional[str] = None) -> Config:
    """A :class:`~mmengine.config.Config` from a path (or a copy of a given one), with overrides applied.

    Args:
        config: a config file or a ``Config`` (copied, never modified).
        cfg_options: ``{dotted.key: value}`` merged into the config (what ``--cfg-options`` parses into).
        work_dir: where logs and checkpoints go; default ``./work_dirs/<config name>`` when the config sets none.
        data_root: point every dataloader (and the COCO evaluators' ``ann_file``) at this folder, see
            :func:`override_data_root`. Applied after ``cfg_options``.
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``; stored as ``cfg.launcher``.
    """
    if isinstance(config, Config):
        cfg = config.copy()
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config} does not exist')
        cfg = Config.fromfile(config)  # imports custom_imports (e.g. scalenet_mm)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        override_data_root(cfg, data_root)
    if launcher is not None:
        cfg.launcher = launcher
    if work_dir:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg


def dataloader_datasets(cfg: Config, splits: Sequence[str] = _SPLITS) -> Iterator[dict]:
    """Every leaf dataset config of the given dataloaders, looking through dataset wrappers (``dataset=`` /
    ``datasets=`` of ``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset`` and the like)."""
    seen = set()

    def leaves(node):
        if isinstance(node, (list, tuple)):
            for item in node:
                yield from leaves(item)
        elif isinstance(node, dict):
            inner = [node[k] for k in ('dataset', 'datasets') if isinstance(node.get(k), (dict, list, tuple))]
            if inner:
                for item in inner:
                    yield from leaves(item)
            elif id(node) not in seen:
                seen.add(id(node))
                yield node

    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, dict) and loader.get('dataset') is not None:
            yield from leaves(loader['dataset'])


def override_data_root(cfg: Config, data_root: str) -> Config:
    """Point every train/val/test dataset of ``cfg`` at ``data_root`` (in place; returns ``cfg``).

    Works for every dataset base of ``configs/``: folder data sets (``CustomDataset``, ``ImageNet``), CUB,
    CIFAR and COCO (``CocoDataset``, ``CocoImageLabels``) all read ``data_root``. COCO evaluators carry an
    absolute ``ann_file`` built from the old root at config time; it is moved to the new root too.
    """
    if not isinstance(data_root, str) or not data_root:
        raise ValueError(f'data_root must be a non-empty path, got {data_root!r}')
    old_roots = set()
    found = False
    for dataset in dataloader_datasets(cfg):
        if dataset.get('data_root'):
            old_roots.add(str(dataset['data_root']))
        dataset['data_root'] = data_root
        found = True
    if not found:
        raise KeyError('the config has no train/val/test dataloader with a dataset to point at '
                       f'{data_root}; set the data root with --cfg-options instead')
    for split in ('val', 'test'):
        evaluators = cfg.get(f'{split}_evaluator')
        for evaluator in (evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]):
            ann = evaluator.get('ann_file') if isinstance(evaluator, dict) else None
            if not isinstance(ann, str):
                continue
            for old in old_roots:
                if ann.startswith(old):
                    evaluator['ann_file'] = osp.join(data_root, ann[len(old):].lstrip('/'))
                    break
    return cfg
