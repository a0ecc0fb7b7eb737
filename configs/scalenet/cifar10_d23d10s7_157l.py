# Table 1 wide "ScaleNet-DDS 157L 15.0M" on CIFAR-10
# Preset 'cifar10_d23d10s7_157l' (authors' id ci5). Train: python tools/train.py configs/scalenet/cifar10_d23d10s7_157l.py
# Paper recipe (schedules/cifar_bs128_300e.py): wd 1e-4, 300 epochs, steps 240/270, 45k/5k split.
# The authors' code differs (spec 13.12): wd 6e-4, 350/300/100 epochs, steps 260/300/340 or 200/240/280,
# full 50k train set validated on the test set. To follow the code instead:
#   --cfg-options optim_wrapper.optimizer.weight_decay=6e-4 train_cfg.max_epochs=350 \
#     "param_scheduler.milestones=[260,300,340]" train_dataloader.dataset.split=trainval \
#     val_dataloader.dataset.split=test
_base_ = [
    '../_base_/models/scalenet_cifar.py',
    '../_base_/datasets/cifar10_bs128.py',
    '../_base_/schedules/cifar_bs128_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='cifar10_d23d10s7_157l'), head=dict(num_classes=10, in_channels=192))
