# "Real Mask ++" (NSRM Table 2) on the quickstart's synthetic hands: the
# quickstart NSRM (configs/quickstart/nsrm_lpm_g1g6_synthetic.py, its
# recipe and its decayed loss weight) with a G1 structure head supervised by
# the renderer's true hand mask (HandMask) instead of LPM G1&6.
_base_ = ['../quickstart/nsrm_lpm_g1g6_synthetic.py']
# The real mask on the KCM grid, one channel: the G1 head.
limbs = dict(type='HandMask', input_size=_base_.codec.input_size,
             heatmap_size=_base_.codec.heatmap_size)
model = dict(heads=dict(structure=dict(groups='G1', loss_weight_g6=0.0,
                                      mask_target='hand_masks')))
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(encoders=dict(
    limbs=dict(limbs, _delete_=True))))))
