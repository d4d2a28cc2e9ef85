# The NSRM structure module as an add-on to ResUnet (NSRM Section 5: the
# structure head "can be added to other pose networks"): a StructureMaskHead
# (LPM masks, G1&6 composition, NSRM eq. 1-4, weights lambda_1 = 0.1,
# lambda_2 = 0.02 of Section 4.2) on the 32 x 32 Unet-Block features, whose
# last stage the LatentHeatmapHead fuses into its final maps before the
# soft-argmax; the bone head follows unchanged. Same data, seed and schedule
# as resunet34_lhr_bonetree_synthetic.py, so the two compare the add-on.
_base_ = ['./resunet34_lhr_bonetree_synthetic.py']
# The limb masks at the third Unet-Block's 32 x 32, of the dataset's input;
# their groups are also the structure head's channels.
limbs = dict(type='LimbMask', kind='lpm', groups='G1G6',
             input_size=_base_.input_size, heatmap_size=(32, 32))
model = dict(
    # The structure head reads the third Unet-Block (B, 16, 32, 32 at
    # width x 0.25) instead of the whole backbone output dict.
    head_features=dict(structure=('decoder_features', -2)),
    heads=dict(
        _delete_=True,
        structure=dict(
            type='StructureMaskHead', in_channels=16, groups=limbs['groups'],
            num_stages=2, stage_channels=16,
            loss=dict(type='MaskCrossEntropyLoss'), loss_weight=0.1,
            loss_weight_g6=0.02),
        # fusion width 8: the fusion convs run at the 128 x 128 final maps
        keypoints2d=dict(_base_.model.heads.keypoints2d, fusion_channels=8),
        bones=_base_.model.heads.bones))
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(encoders=dict(
    limbs=limbs)))))
