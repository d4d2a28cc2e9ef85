# Local regression hourglass (Li and Wang) on handkit's synthetic depth
# hands (21 joints), sized to train on 2 CPU cores in minutes: 32 channels
# instead of 128, a smaller regression head; natural hands
# (synthetic_hands.py), 4,000 training samples rendered once; the
# from-scratch schedule (Adam lr 1e-3 with warm-up and cosine decay,
# bfloat16 autocast where the CPU has it). Result and command:
# docs/models_3d.md.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/from_scratch_cpu.py',
    '../_base_/datasets/synthetic_depth.py', '../_base_/models/hourglass.py'
]
max_epochs = 12
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(channels=32),
    heads=dict(joints=dict(in_channels=32, num_joints=21, patch_dim=32,
                           hidden=256)))
train_dataloader = dict(batch_size=16, dataset=dict(num_samples=4000))
val_dataloader = dict(dataset=dict(num_samples=500))
test_dataloader = dict(dataset=dict(num_samples=500))
param_scheduler = [_base_.param_scheduler[0],
                   dict(_base_.param_scheduler[1], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='mean_error', rule='less'))
