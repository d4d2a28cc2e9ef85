# PoseNet -> PosePrior of Zimmermann and Brox, "Learning to Estimate 3D Hand
# Pose from Single RGB Images", ICCV 2017, Sections 4.2-4.3, as one cascade:
# a VGG-style encoder of the 256 x 256 hand crop (32 x 32 x 128), PoseNet's
# score-map stages (a 1x1 stage and two recurrent stages of 7x7
# convolutions, 21 maps each), then the PosePrior's two streams (canonical
# joints; viewpoint as axis-angle -> rotation) on the maps and the hand
# side. Two codecs, each stated once and passed to GenerateTargets and the
# heads: the Gaussian score maps (sigma 25 px in the 256 px crop, their
# create_multiple_gaussian_map) and the canonical frame (palm root, middle
# MCP -> PIP bone, the left hand mirrored). Each config sets its pipeline's
# targets=zb_targets (and the crop size to crop_size).
_base_ = ['../evaluators/rgb3d_normalized.py']
crop_size = (256, 256)
score_map_size = (32, 32)
score_codec = dict(type='GaussianScoreMap', input_size=crop_size,
                   heatmap_size=score_map_size, sigma=25.0)
canonical_codec = dict(type='CanonicalFrame', root='palm', flip_side='left')
zb_targets = dict(type='GenerateTargets',
                  encoders=dict(scoremaps=score_codec,
                                canonical=canonical_codec))
model = dict(
    type='CascadeEstimator',
    # their reader feeds image / 255 - 0.5
    data_preprocessor=dict(type='HandDataPreprocessor',
                           mean=[127.5, 127.5, 127.5],
                           std=[255.0, 255.0, 255.0], bgr_to_rgb=True),
    backbone=dict(type='ZimmermannVGG', arch='posenet'),
    heads=dict(
        keypoints=dict(type='PoseNetHead', in_channels=128,
                       hidden_channels=512, stage_channels=128,
                       num_stages=2, stage_layers=5, kernel_size=7,
                       decoder=score_codec),
        # The PosePrior trains on the target maps (train_inputs='targets')
        # and reads PoseNet's maps at test. reference_bone_mm: the middle
        # MCP -> PIP length that gives keypoints_3d in mm, 43.5 mm for
        # handkit's synthetic hands: set it to your training split's mean
        # (the zb protocol does not use it: it scales by the true bone).
        pose3d=dict(type='PosePriorHead', heatmap_size=score_map_size,
                    decoder=canonical_codec, score_codec=score_codec,
                    train_inputs='targets', reference_bone_mm=43.5,
                    losses=dict(
                        canonical=dict(type='MeanSquaredErrorLoss',
                                       loss_weight=1.0),
                        rotation=dict(type='MeanSquaredErrorLoss',
                                      loss_weight=1.0)))),
)
