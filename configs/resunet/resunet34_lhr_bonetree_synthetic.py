# ResUnet (paper 004, Section II) on handkit's synthetic RGB hands, sized to
# train on 2 CPU cores in minutes: every width x 0.25, 4,000 training
# samples, 8 epochs (2,000 steps of 16), Adam lr 3e-4 (the full-size model
# and schedule are resunet34_lhr_bonetree_{stb,rhd}.py). lr 1e-3 left the
# bone loss at the mean-bone level for 1,000 steps; 3e-4 starts learning
# within 400. Result and command: docs/models_3d.md.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/datasets/synthetic_rgb3d.py', '../_base_/models/resunet34.py'
]
model = dict(
    backbone=dict(width_multiplier=0.25),
    heads=dict(bones=dict(in_channels=16, feature_channels=128,
                          conv_channels=(16, 32, 32, 32), hidden=(128, ))))
train_dataloader = dict(batch_size=16, dataset=dict(num_samples=4000))
val_dataloader = dict(dataset=dict(num_samples=500))
test_dataloader = dict(dataset=dict(num_samples=500))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
train_cfg = dict(max_epochs=8, val_interval=8)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='EPE_3D', rule='less'))
