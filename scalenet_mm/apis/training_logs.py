"""Reading what a Runner logged: mmengine's ``vis_data/scalars.json`` (one JSON record per logged step)."""
import glob
import json
import os.path as osp
from typing import Dict, List, Sequence

__all__ = ['read_scalars', 'read_training_curves', 'last_record_with']


def read_scalars(path: str) -> List[dict]:
    """The records of one ``scalars.json`` file."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_training_curves(work_dir: str, accuracy_key: str = 'accuracy/top1') -> Dict[str, list]:
    """Per-epoch mean training loss and validation accuracy of the newest training run under ``work_dir``:
    ``dict(epoch, loss, val_epoch, val_top1)`` (test runs, which log no loss, are skipped)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')), key=osp.getmtime)
    losses: Dict[int, list] = {}
    accs: Dict[int, float] = {}
    for path in files:
        rows = read_scalars(path)
        if not any('loss' in r for r in rows):
            continue
        losses, accs = {}, {}
        for r in rows:
            if 'loss' in r and 'epoch' in r:
                losses.setdefault(r['epoch'], []).append(r['loss'])
            if accuracy_key in r:
                accs[r.get('epoch', r.get('step'))] = r[accuracy_key]
    return dict(epoch=sorted(losses), loss=[sum(v) / len(v) for _, v in sorted(losses.items())],
                val_epoch=sorted(accs), val_top1=[accs[e] for e in sorted(accs)])


def last_record_with(log_dir: str, prefixes: Sequence[str]) -> dict:
    """The last record of ``<log_dir>/vis_data/scalars.json`` holding a key that starts with one of
    ``prefixes`` (e.g. the final validation metrics); ``{}`` when there is none."""
    path = osp.join(log_dir, 'vis_data', 'scalars.json')
    if not osp.isfile(path):
        return {}
    found = {}
    for rec in read_scalars(path):
        if any(k.startswith(tuple(prefixes)) for k in rec):
            found = rec
    return found
