# The NSRM structure module as an add-on to the depth hourglass (NSRM
# Section 5): a StructureMaskHead (LPM, G1&6, lambda_1 = 0.1, lambda_2 = 0.02,
# NSRM Section 4.2) in front of a keypoint-confidence-map head (CPM stages,
# eq. 6-7) on the residual hourglass features (Li and Wang's backbone, 32 x 32
# at stride 4), trained on synthetic depth crops (12 epochs, the schedule of
# local_regression_synthetic_depth.py); 2D PCK.
# Without the structure head (same seed, same schedule):
#   --cfg-options model.heads.structure=None
_base_ = ['./local_regression_synthetic_depth.py']
# The one KCM codec (the cube crop's input size, the hourglass's 32 x 32
# features): the targets and the head's decoder; the limb masks on its grid.
codec = dict(type='KeypointConfidenceMap', input_size=_base_.input_size,
             heatmap_size=(32, 32), sigma=1.0)
limbs = dict(type='LimbMask', kind='lpm', groups='G1G6',
             input_size=codec['input_size'],
             heatmap_size=codec['heatmap_size'])
model = dict(heads=dict(
    _delete_=True,
    structure=dict(
        type='StructureMaskHead', in_channels=32, groups=limbs['groups'],
        num_stages=2, stage_channels=16,
        loss=dict(type='MaskCrossEntropyLoss'), loss_weight=0.1,
        loss_weight_g6=0.02),
    keypoints=dict(
        type='KeypointMapHead', in_channels=32, num_keypoints=21,
        num_stages=2, stage_channels=16, loss=dict(type='HeatmapMSELoss'),
        decoder=codec)))
# The base leaves the targets step empty (None): _delete_ fills it.
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(
    _delete_=True, type='GenerateTargets', encoders=dict(kcm=codec,
                                                         limbs=limbs)))))
val_evaluator = [dict(type='PCKMetric')]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='PCK_ave', rule='greater'))
