# Quickstart baseline: CPM with the same quarter-width backbone and schedule
# as nsrm_lpm_g1g6_synthetic.py (6 KCM stages, no structure head).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/synthetic.py',
    '../_base_/models/cpm.py'
]
kcm = dict(type='KeypointConfidenceMap', input_size=(128, 128),
           heatmap_size=(16, 16), sigma=2.0)
model = dict(
    backbone=dict(width_multiplier=0.25, out_channels=32),
    heads=dict(keypoints=dict(in_channels=32, stage_channels=32,
                              decoder=kcm)))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-4))
train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=4)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=25))
