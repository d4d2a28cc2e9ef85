# Local regression hourglass (paper 002) on handkit's synthetic depth hands
# (21 joints), sized to train on 2 CPU cores in minutes: 32 channels instead
# of 128, a smaller regression head, 2,000 training samples, 12 epochs, Adam
# lr 1e-3.
# Result and command: docs/models_3d.md.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/datasets/synthetic_depth.py', '../_base_/models/hourglass.py'
]
model = dict(
    backbone=dict(channels=32),
    heads=dict(joints=dict(in_channels=32, num_joints=21, patch_dim=32,
                           hidden=256)))
train_dataloader = dict(batch_size=16, dataset=dict(num_samples=2000))
val_dataloader = dict(dataset=dict(num_samples=500))
test_dataloader = dict(dataset=dict(num_samples=500))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=12, val_interval=12)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='mean_error', rule='less'))
