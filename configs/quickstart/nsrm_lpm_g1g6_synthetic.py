# Quickstart: NSRM LPM-G1&6 (the paper's best variant) with a quarter-width
# VGG19 backbone, on synthetic hands at 128 x 128, trained from scratch on a
# CPU in minutes. The architecture and losses are the paper's; only widths,
# input size and schedule are reduced.
_base_ = [
    '../_base_/nsrm_runtime.py', '../_base_/datasets/synthetic.py',
    '../_base_/models/nsrm.py'
]
kcm = dict(type='KeypointConfidenceMap', input_size=(128, 128),
           heatmap_size=(16, 16), sigma=2.0)
model = dict(
    backbone=dict(width_multiplier=0.25, out_channels=32),
    heads=dict(
        structure=dict(in_channels=32, stage_channels=32, groups='G1G6',
                       loss_weight=0.1, loss_weight_g6=0.02),
        keypoints=dict(in_channels=32, stage_channels=32, decoder=kcm)))
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(encoders=dict(
    limbs=dict(type='LimbMask', kind='lpm', groups='G1G6',
               input_size=(128, 128), heatmap_size=(16, 16)))))))
# Adam as the paper (lr 3e-4 for the short schedule from scratch); the structure
# loss weights decay by 0.1 for the last epoch (the paper: every 20 epochs).
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-4))
train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=4)
val_cfg = dict()
test_cfg = dict()
custom_hooks = _base_.custom_hooks[:-1] + [
    dict(type='LossWeightDecayHook', gamma=0.1, step=3),
]
default_hooks = dict(logger=dict(interval=25))
