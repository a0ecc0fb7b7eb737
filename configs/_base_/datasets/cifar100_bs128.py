# CIFAR-100 as in the paper (Sec. IV-A): the CIFAR-10 recipe of cifar10_bs128.py (45k/5k split of the official
# train set, pad-4 crop + flip, the authors' normalisation) on 100 classes, with top-5 accuracy reported too.
# Data: data/cifar100/cifar-100-python/{train,test,meta} (the extracted cifar-100-python.tar.gz);
# CIFAR100Local validates the files and says what is missing.
_base_ = ['./cifar10_bs128.py']

dataset_type = 'CIFAR100Local'
data_root = 'data/cifar100'

data_preprocessor = dict(num_classes=100)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
