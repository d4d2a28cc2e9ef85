# The NSRM structure module as an add-on to the depth hourglass (NSRM
# Section 5): a StructureMaskHead (LPM, G1&6, lambda_1 = 0.1, lambda_2 = 0.02,
# NSRM Section 4.2) in front of a keypoint-confidence-map head (CPM stages,
# eq. 6-7) on the residual hourglass features (paper 002's backbone, 32 x 32
# at stride 4), trained on synthetic depth crops (12 epochs, the schedule of
# local_regression_synthetic_depth.py); 2D PCK.
# Without the structure head (same seed, same schedule):
#   --cfg-options model.heads.structure=None
_base_ = ['./local_regression_synthetic_depth.py']
input_size, maps = (128, 128), (32, 32)
kcm = dict(type='KeypointConfidenceMap', input_size=input_size,
           heatmap_size=maps, sigma=1.0)
model = dict(heads=dict(
    _delete_=True,
    structure=dict(
        type='StructureMaskHead', in_channels=32, groups='G1G6',
        num_stages=2, stage_channels=16,
        loss=dict(type='MaskCrossEntropyLoss'), loss_weight=0.1,
        loss_weight_g6=0.02),
    keypoints=dict(
        type='KeypointMapHead', in_channels=32, num_keypoints=21,
        num_stages=2, stage_channels=16, loss=dict(type='HeatmapMSELoss'),
        decoder=kcm)))
# The base leaves the targets step empty (None): _delete_ fills it.
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(
    _delete_=True, type='GenerateTargets', encoders=dict(
        kcm=kcm,
        limbs=dict(type='LimbMask', kind='lpm', groups='G1G6',
                   input_size=input_size, heatmap_size=maps))))))
val_evaluator = [dict(type='PCKMetric')]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='PCK_ave', rule='greater'))
