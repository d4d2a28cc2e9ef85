# Quickstart baseline: CPM (6 KCM stages, no structure head) with the same
# reduced backbone, batch norm, data and schedule as
# nsrm_lpm_g1g6_synthetic.py, so that the two differ only by NSRM's structure
# module.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/synthetic.py',
    '../_base_/models/cpm.py', '../_base_/schedules/from_scratch_cpu.py'
]
bn = dict(type='BN')
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(width_multiplier=0.25, out_channels=32, norm_cfg=bn),
    heads=dict(keypoints=dict(in_channels=32, stage_channels=32, norm_cfg=bn,
                              decoder=_base_.codec)))
default_hooks = dict(logger=dict(interval=50))
