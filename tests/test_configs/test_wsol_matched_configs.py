"""The benchmark-v2 configs of the matched-parameter comparison (issue #12): ScaleNet tiny-d2d3, ResNet-18 at
base_channels=20 and its stride-8 twin have the same parameter count within 2 %, their CAM heads see the map
sizes the comparison is about, and the shared recipe (AdamW, one-cycle) trains through the real Runner."""
import os.path as osp

import pytest
import torch

from scalenet_mm.apis import build_model, load_config
from scalenet_mm.datasets import generate_dataset
from tests.test_configs.config_helpers import REPO, loader_opts, train_like_tool

MATCHED = {  # config -> side of the CAM head's map at 64 px
    'scalenet-tiny-d2d3_bench-v2_cub.py': 8,
    'resnet18-20_bench-v2_cub.py': 2,
    'resnet18-20-s8_bench-v2_cub.py': 8,
}


def _config(name):
    return osp.join(REPO, 'configs', 'wsol', name)


def test_parameter_counts_match_and_map_sizes():
    counts = {}
    for name, side in MATCHED.items():
        model = build_model(load_config(_config(name)))
        counts[name] = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            feat = model.extract_feat(torch.zeros(1, 3, 64, 64))[-1]
        assert feat.shape[-2:] == (side, side), name
    reference = counts['scalenet-tiny-d2d3_bench-v2_cub.py']
    for name, count in counts.items():
        assert abs(count / reference - 1) < 0.02, (name, count, reference)


@pytest.mark.parametrize('name', ['scalenet-tiny-d2d3_bench-v2_cub.py'])
def test_recipe_trains_with_one_cycle(tmp_path, name):
    generate_dataset(str(tmp_path / 'data'), num_train=8, num_test=4, num_selection=5, image_size=64, variant='v2',
                     layouts=('cub', ), progress=False)
    runner = train_like_tool(_config(name), str(tmp_path / 'work'),
                             [*loader_opts(str(tmp_path / 'data' / 'cub')), 'train_cfg.max_epochs=1'])
    assert type(runner.optim_wrapper.optimizer).__name__ == 'AdamW'
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    # 2 iterations of a 40-iteration one-cycle schedule (20 epochs of 2): still warming up from 1e-3 / 25
    assert 1e-3 / 25 < lr < 1e-3


@pytest.mark.parametrize('name', list(MATCHED))
def test_matched_configs_keep_pytorch_default_init(name):
    """init_weights must leave PyTorch's default initialisation untouched (the recipe's init, see the base)."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    cfg = load_config(_config(name))
    torch.manual_seed(0)
    initialised = build_model(cfg, 'cpu', init_weights=True).state_dict()
    torch.manual_seed(0)
    default = build_model(cfg, 'cpu', init_weights=False).state_dict()
    changed = [k for k in default if not torch.equal(initialised[k], default[k])]
    assert not changed, f'init_weights changed {changed[:5]}'
