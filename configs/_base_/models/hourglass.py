# Local regression hourglass (Li and Wang, "Network architecture"): a 3x3 conv
# + BN + ReLU, two residual blocks and a third-order hourglass on a 1-channel
# 128 x 128 depth crop normalised to [-1, 1] (stride-4 features, 32 x 32);
# the feature map is sliced into 4 x 4 patches, each regressed by its own FC
# layer, and two FC layers regress the joints in the normalised cube, trained
# with the max-out smooth L1 loss ("Loss function"). 36 joints: NYU's full
# annotation (Li and Wang regress 35 and evaluates 14).
model = dict(
    type='CascadeEstimator',
    # The depth crop is already in [-1, 1]: only stack it.
    data_preprocessor=dict(type='HandDataPreprocessor', mean=None, std=None,
                           bgr_to_rgb=False),
    backbone=dict(type='ResidualHourglass', in_channels=1, channels=128,
                  order=3, num_residual=2),
    heads=dict(
        joints=dict(
            type='LocalRegressionHead', in_channels=128, num_joints=36,
            feature_size=(32, 32), patch_grid=(4, 4), patch_dim=64,
            hidden=1024, loss=dict(type='MaxOutSmoothL1Loss'))),
)
