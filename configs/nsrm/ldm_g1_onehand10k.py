# NSRM LDM G1 on onehand10k (Table 2); loss weights of Section 4.2.
_base_ = [
    '../_base_/nsrm_runtime.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/onehand10k.py', '../_base_/models/nsrm.py'
]
# The limb-mask codec of the structure targets (LimbMask's sizes are the
# dataset's 368 / 46), its groups also the structure head's channels; the
# dataset's KCM codec decodes the keypoint maps.
limbs = dict(type='LimbMask', kind='ldm', groups='G1')
model = dict(heads=dict(
    structure=dict(groups=limbs['groups'], loss_weight=1.0),
    keypoints=dict(decoder=_base_.codec)))
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(encoders=dict(
    limbs=limbs)))))
