# Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
# Monocular RGB Images", ECCV 2018 (docs/cai.md): a CPM-style 2D network
# (VGG-19 to conv4_4, then 6 heatmap stages) gives the heatmaps H; a
# regression network maps cat(F, H) to the root-relative, bone-normalised
# 3D joints; during training a depth regulariser generates the hand's depth
# map from those joints (L1 against the sample's depth image). A per-sample
# 3D weight (SubsetLabels3D) lets only a fraction of the samples keep their
# 3D label: the others learn from 2D + depth. The sizes (256 x 256 crops,
# 32 x 32 maps, 64 x 64 depth maps) and the loss weights are handkit's
# choices (the paper text was not available here).
# One codec per target, stated once here: the pipeline's GenerateTargets
# (cai_targets) and the heads use them; each config sets
# train_pipeline targets=cai_targets and labels_3d after it.
_base_ = ['../evaluators/rgb3d_normalized.py']
cai_input_size = (256, 256)
cai_heatmap_size = (32, 32)
depth_size = (64, 64)
kcm_codec = dict(type='KeypointConfidenceMap', input_size=cai_input_size,
                 heatmap_size=cai_heatmap_size, sigma=1.0)
# Root-relative joints in middle MCP -> PIP bones (Zimmermann & Brox's
# normalisation), rooted at the palm, their protocols' origin: STB's palm
# point is its joint 0; a hand with the wrist in joint 0 (RHD, the synthetic
# hands) sets palm_root=True (the midpoint of wrist and middle MCP).
pose3d_codec = dict(type='NormalizedPose3D', root_index=0,
                    reference_bone=(9, 10))
depth_codec = dict(type='NormalizedDepthMap', output_size=depth_size,
                   depth_range_mm=300.0, background=1.0)
cai_targets = dict(type='GenerateTargets', encoders=dict(
    kcm=kcm_codec, pose3d=pose3d_codec, depth=depth_codec))
# The share of the training samples that keep their 3D label.
labels_3d = dict(type='SubsetLabels3D', fraction=1.0, seed=0)
model = dict(
    type='CascadeEstimator',
    # ImageNet's mean and std on RGB (the preprocessor's defaults)
    data_preprocessor=dict(type='HandDataPreprocessor'),
    # pretrained: a local torchvision VGG-19 state dict; nothing downloads.
    backbone=dict(type='VGG19CPM', out_channels=128),
    heads=dict(
        # HeatmapMSELoss is a per-pixel mean: x 1024 (= 32 x 32) gives the
        # per-sample sum of squares, on the scale of the 3D loss.
        keypoints2d=dict(type='KeypointMapHead', in_channels=128,
                         num_stages=6, loss=dict(type='HeatmapMSELoss'),
                         loss_weight=1024.0, decoder=kcm_codec),
        # reference_bone_mm turns the normalised joints into mm: 43.5 mm is
        # the mean middle MCP -> PIP length of handkit's synthetic hands;
        # set it to your training split's mean on real data.
        # handkit's three anchors (x-y, lifted depth, unit bone) are off
        # (weight 0) unless a config sets their loss_weight.
        pose3d=dict(type='Pose3DRegressionHead', in_channels=128,
                    map_size=cai_heatmap_size, decoder=pose3d_codec,
                    reference_bone_mm=43.5,
                    depth_regularizer=dict(type='DepthRegularizer',
                                           output_size=depth_size),
                    losses=dict(
                        pose3d=dict(type='JointL2Loss', loss_weight=1.0),
                        depth=dict(type='DepthL1Loss', loss_weight=100.0),
                        xy=dict(type='ScaleAlignedXYLoss', loss_weight=0.0),
                        lift=dict(type='ScaleShiftAlignedLoss',
                                  loss_weight=0.0),
                        unit=dict(type='UnitBoneLoss', loss_weight=0.0)))),
)
