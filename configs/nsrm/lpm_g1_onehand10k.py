# NSRM LPM G1 on onehand10k (Table 2); loss weights of Section 4.2.
_base_ = [
    '../_base_/nsrm_runtime.py', '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/datasets/onehand10k.py', '../_base_/models/nsrm.py'
]
model = dict(heads=dict(
    structure=dict(groups='G1', loss_weight=0.5)))
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(encoders=dict(
    limbs=dict(type='LimbMask', kind='lpm', groups='G1'))))))
