# Boukhayma, Bem and Torr, "3D Hand Shape and Pose from Images in the Wild",
# CVPR 2019 (docs/boukhayma.md): a ResNet-34 on the 256 x 256 crop regresses
# 22 numbers (scale, 2D translation, axis-angle rotation, 6 pose PCA and 10
# shape coefficients); the hand model (handkit's open hand by default; a
# MANO file with --cfg-options model.heads.mesh.hand_model.model_path=...)
# gives the mesh, a weak-perspective projection the 2D keypoints.
# L = L2D + 100 L3D + 100 Lmask + 10 Lreg (the paper's eq. (5)).
# One codec per target, stated once: the pipeline's GenerateTargets
# (boukhayma_targets) and the head's decoder use the same dicts.
_base_ = ['../evaluators/mesh.py']
boukhayma_input_size = (256, 256)
mano_codec = dict(type='MANOParams', input_size=boukhayma_input_size,
                  num_pose=6, num_shape=10)
mask_codec = dict(type='MaskDistanceField', input_size=boukhayma_input_size)
boukhayma_targets = dict(type='GenerateTargets', encoders=dict(
    mano=mano_codec, mask=mask_codec))
# The release's hand: PCA pose with MANO's mean added (flat_hand_mean=False).
hand_model = dict(type='HandModelLayer', pose_type='pca',
                  flat_hand_mean=False)
model = dict(
    type='CascadeEstimator',
    # ImageNet's mean and std on RGB (the preprocessor's defaults)
    data_preprocessor=dict(type='HandDataPreprocessor'),
    # pretrained: a local torchvision resnet34 state dict; nothing downloads.
    # in_channels=3 + 21 is the paper's RGB + heat-map option
    # (docs/boukhayma.md: its pipeline step is not built yet).
    backbone=dict(type='ResNetEncoder', in_channels=3,
                  stage_blocks=(3, 4, 6, 3)),
    heads=dict(
        mesh=dict(type='MANORegressionHead', in_channels=512,
                  input_size=boukhayma_input_size, hand_model=hand_model,
                  decoder=mano_codec, init_extent=1 / 1.5,
                  # eq. (5)'s terms, reported as loss_2d ... loss_reg (a
                  # dict literal: '2d' and '3d' are no Python names)
                  losses={
                      '2d': dict(type='SquaredDistanceLoss', loss_weight=1.0),
                      '3d': dict(type='SquaredDistanceLoss',
                                 loss_weight=100.0),
                      'mask': dict(type='MaskDistanceLoss',
                                   loss_weight=100.0),
                      'reg': dict(type='SquaredNormLoss', loss_weight=10.0)
                  })),
)
