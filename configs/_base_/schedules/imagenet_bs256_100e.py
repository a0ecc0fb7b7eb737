# The paper's ImageNet schedule (Sec. IV-B, same as ResNet/DenseNet): SGD lr 0.1, momentum 0.9, weight decay
# 1e-4, total batch 256 (4 GPUs x 64), lr / 10 every 30 epochs, 100 epochs. The authors' code agrees (spec 13.12).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=False))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
