# DetNet (Zhou et al., "Monocular Real-time Hand Shape and Motion Capture
# using Multi-modal Data", CVPR 2020, Section 4.1) on 128 x 128 RGB hand
# crops: a ResNet-50 trunk, dilated to stride 4, gives the 32 x 32 x 256
# feature volume F; three 2-layer CNNs in cascade give the heatmaps H (from
# F), the delta maps D (from F, H) and the location maps L (from F, H, D).
# Losses L_heat = ||H^GT - H||^2, L_delta = ||H^GT (.) (D^GT - D)||^2,
# L_loc = ||H^GT (.) (L^GT - L)||^2; each joint's xyz (relative to the
# middle MCP, in wrist -> middle-MCP bones) is read from L at the argmax of
# H. One codec encodes the three targets and decodes both read-outs; the
# config states it once and the pipeline's GenerateTargets and the heads use
# it (each config sets train_pipeline targets=detnet_targets).
codec = dict(type='LocationMap', input_size=(128, 128), heatmap_size=(32, 32),
             sigma=1.0, root_index=9, reference_bone=(0, 9))
detnet_targets = dict(type='GenerateTargets', encoders=dict(location=codec))
# The official DetNet is a left-hand model: right hands are mirrored at the
# input (minimal-hand README.md, config.py:4). The paper configs merge this
# into their pipelines' warp step; TopdownAffine mirrors the crop and the
# 3D labels of right hands, and the estimator mirrors the 3D prediction
# back. Without it (handkit's former behaviour, an option) both sides train
# as they come.
left_hand_model = dict(warp=dict(mirror_side='right'))
model = dict(
    type='CascadeEstimator',
    # ImageNet's mean and std on RGB (the preprocessor's defaults)
    data_preprocessor=dict(type='HandDataPreprocessor'),
    # pretrained: a local torchvision resnet50 state dict (layer4 and fc
    # are not used); handkit downloads nothing.
    backbone=dict(type='DilatedResNet', in_channels=3,
                  stage_blocks=(3, 4, 6), dilations=(1, 2, 4),
                  out_channels=256, width_multiplier=1.0),
    heads=dict(
        heatmaps=dict(type='DetNetHeatmapHead', in_channels=256,
                      hidden_channels=256, decoder=codec,
                      loss=dict(type='MaskedMapL2Loss'), loss_weight=1.0),
        deltas=dict(type='DeltaMapHead', in_channels=256,
                    hidden_channels=256, loss=dict(type='MaskedMapL2Loss'),
                    loss_weight=1.0),
        # reference_bone_mm turns the scale-free read-out into mm (the
        # unaligned protocol); 84.5 mm is the mean wrist -> middle-MCP
        # length of handkit's synthetic hands (88 mm x the mean size 0.96).
        locations=dict(type='LocationMapHead', in_channels=256,
                       hidden_channels=256, decoder=codec,
                       reference_bone_mm=84.5,
                       loss=dict(type='MaskedMapL2Loss'), loss_weight=1.0)),
)
# Two protocols: wrist-relative joints in the model's own mm (the fixed
# reference bone), with the oracle mean-pose baseline, and Zhou et al.'s
# preset, reported as 'zhou/...' (handkit.evaluation.protocols): the
# normalised read-out (middle-MCP-relative, in wrist -> middle-MCP bones)
# times the ground truth's wrist -> middle-MCP bone, as their wrappers.py
# defines the read-out, the ground truth made middle-MCP-relative, the AUC
# over their 16 thresholds linspace(20, 50, 16) (plot.py:24); 2D EPE and
# PCK of the heatmap read-out. detnet_evaluator is the RHD preset (also the
# synthetic hands'), detnet_stb_evaluator STB's.
detnet_evaluator = [
    dict(type='Keypoint3DMetric', root_relative=True,
         mean_pose_baseline=True),
    dict(type='Keypoint3DMetric', protocol='zhou_rhd',
         mean_pose_baseline=True, prefix='zhou'),
    dict(type='PCKMetric'),
]
detnet_stb_evaluator = [
    detnet_evaluator[0],
    dict(detnet_evaluator[1], protocol='zhou_stb'),
    detnet_evaluator[2],
]
