"""tools/dist_train.sh: 2-process CPU DDP (gloo) trains to completion and both ranks end with the same weights."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_ddp(tmp_path):
    from scalenet_mm.datasets import write_cifar_layout
    data = str(tmp_path / 'cifar10')
    write_cifar_layout(data, num_per_split=(24, 8), num_classes=10, image_source='random', seed=0)
    dump = str(tmp_path / 'ranks')
    cfg = tmp_path / 'ddp_cfg.py'
    cfg.write_text(f"""_base_ = ['{REPO}/configs/scalenet/cifar10_d7_32l.py']
custom_imports = dict(imports=['scalenet_mm', 'rank_dump_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='RankWeightsDumpHook', out_dir='{dump}')]
""")
    opts = ['train_cfg.max_epochs=2', 'randomness.seed=0', 'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data}', f'{split}_dataloader.batch_size=4',
                 f'{split}_dataloader.num_workers=0', f'{split}_dataloader.persistent_workers=False',
                 f'{split}_dataloader.dataset.num_val=8']
    env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([HERE, REPO, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'dist_train.sh'), str(cfg), '2', '--work-dir',
                           str(tmp_path / 'work'), '--cfg-options', *opts], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    r0 = torch.load(osp.join(dump, 'rank0.pth'), map_location='cpu')
    r1 = torch.load(osp.join(dump, 'rank1.pth'), map_location='cpu')
    assert r0['world_size'] == r1['world_size'] == 2
    assert r0['wrapper'] == 'CPUDistributedDataParallel' and r0['iters'] == r1['iters'] == 2 * 2  # 16 imgs/2/4
    trained = 0
    for k, v in r0['state'].items():
        if 'running_' in k or 'num_batches_tracked' in k:
            continue  # BN statistics are per process (no SyncBN)
        assert torch.equal(v, r1['state'][k]), k
        trained += 1
    assert trained > 50
    ckpt = torch.load(str(tmp_path / 'work' / 'epoch_2.pth'), map_location='cpu')['state_dict']
    for k, v in r0['state'].items():
        assert torch.equal(ckpt[k], v), k
