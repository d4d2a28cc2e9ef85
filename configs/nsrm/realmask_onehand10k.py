# "Real Mask" of NSRM Table 2 (OneHand10K): the NSRM G1 architecture with
# its structure stages supervised by the release's hand segmentation masks
# (Train/mask/*.png, as Wang et al.'s Mask-pose Cascaded CNN) instead of
# LDM / LPM, and no decayed loss schedule (that is "Real Mask ++",
# realmask_pp_onehand10k.py). The paper gives no lambda_1 for it: 1.0, the
# LDM-G1 weight of Section 4.2, the other binary mask.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/onehand10k.py', '../_base_/models/nsrm.py'
]
# The real mask on the KCM grid (368 -> 46), one channel: the G1 head.
limbs = dict(type='HandMask', input_size=_base_.codec.input_size,
             heatmap_size=_base_.codec.heatmap_size)
model = dict(
    heads=dict(structure=dict(groups='G1', loss_weight=1.0,
                              mask_target='hand_masks'),
               keypoints=dict(decoder=_base_.codec)),
    # the structure maps reach MaskIoUMetric
    test_cfg=dict(output_maps=True))
train_dataloader = dict(dataset=dict(
    with_masks=True,
    pipeline=dict(targets=dict(encoders=dict(limbs=limbs)))))
val_dataloader = dict(dataset=dict(with_masks=True))
test_dataloader = val_dataloader
test_evaluator = [_base_.val_evaluator, dict(type='MaskIoUMetric')]
