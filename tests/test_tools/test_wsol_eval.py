"""End to end: generated CUB-layout data -> a few training iterations -> tools/wsol_eval.py -> JSON + PNGs."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from scalenet_mm.apis import run_wsol_eval

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name, *argv):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', name), *argv], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    from scalenet_mm.datasets import generate_dataset
    from scalenet_mm.experiments.wsol_embedded import train
    tmp = tmp_path_factory.mktemp('wsol_e2e')
    generate_dataset(str(tmp / 'data'), num_train=32, num_test=12, image_size=64, seed=3, layouts=('cub', ))
    config = osp.join(ROOT, 'configs/wsol/scalenet_demo_cub.py')
    cfg, ckpt, val, _ = train(config, str(tmp / 'data' / 'cub'), str(tmp / 'work'), epochs=1, num_train=32)
    assert osp.isfile(ckpt)
    assert 0 <= val['wsol/MaxBoxAccV2'] <= 100  # the runner's own validation used the CAMHead's pred_cam
    return tmp, config, ckpt, str(tmp / 'data' / 'cub')


def test_wsol_eval_cli(trained):
    tmp, config, ckpt, data_root = trained
    out = tmp / 'eval'
    _tool('wsol_eval.py', config, ckpt, '--work-dir', str(out), '--multi-scale', '16,32,64', '--num-vis', '3',
          '--no-progress', '--cfg-options', f'test_dataloader.dataset.data_root={data_root}')
    for name in ('wsol_metrics.json', 'wsol_curves.png', 'wsol_grid.png'):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / 'wsol_metrics.json').read_text())
    assert set(saved['metrics']) == {'single', 'ms_mean', 'ms_max'}
    assert saved['info']['num_samples'] == 12
    for res in saved['metrics'].values():
        for key in ('MaxBoxAcc', 'MaxBoxAccV2', 'GT-known_Loc', 'Top-1_Loc', 'PxAP', 'top1_acc'):
            assert 0 <= res[key] <= 100, key
        assert 0 <= res['best_tau'] < 1
        assert res['Top-1_Loc'] <= res['GT-known_Loc'] + 1e-6
        assert {'small/num_samples', 'medium/num_samples', 'large/num_samples'} <= set(res)
    curves = saved['curves']['single']
    assert len(curves['curve/tau']) == len(curves['curve/BoxAcc@IoU0.5']) == 100


def test_wsol_eval_gradient_level_and_cam_demo(trained):
    tmp, config, ckpt, data_root = trained
    res = run_wsol_eval(config, ckpt, str(tmp / 'eval2'), method='layercam', level='backbone.stage1',
                                  num_samples=4, num_vis=2, progress=False,
                                  cfg_options={'test_dataloader.dataset.data_root': data_root})
    assert res['info']['layer'] == 'backbone.stage1.y'
    assert osp.isfile(res['files']['grid'])
    stdout = _tool('cam_demo.py', config, ckpt, osp.join(data_root, 'CUB_200_2011', 'images'), '--limit', '2',
                   '--out-dir', str(tmp / 'cams'), '--multi-scale', '32,64')
    written = sorted((tmp / 'cams').glob('*_cam.png'))
    assert len(written) == 2 and 'wrote 2 overlay(s)' in stdout
