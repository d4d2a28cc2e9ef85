# The from-scratch CPU schedule (from_scratch_cpu.py) for 4 epochs, validated
# once, after the last: the schedule of the DetNet, Cai et al. and PoseNet ->
# PosePrior synthetic configs (500 steps an epoch on the 8,000 hands of
# datasets/synthetic_rgb3d_cpu.py).
_base_ = ['./from_scratch_cpu.py']
max_epochs = 4
param_scheduler = [_base_.param_scheduler[0],
                   dict(_base_.param_scheduler[1], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
