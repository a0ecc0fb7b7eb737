"""Test helper: a hook that saves each rank's final parameters (imported through a config's custom_imports)."""
import os
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RankWeightsDumpHook(Hook):

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        os.makedirs(self.out_dir, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(dict(state=state, wrapper=type(runner.model).__name__,
                        world_size=runner.world_size, iters=runner.iter),
                   osp.join(self.out_dir, f'rank{get_rank()}.pth'))
