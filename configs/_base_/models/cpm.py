# CPM baseline (NSRM Section 4.2): VGG19 to conv4_4 + 3 convs (128 channels,
# stride 8), then a keypoint-confidence-map head of 6 stages. Its decoder is
# the dataset's codec: each config sets
# model.heads.keypoints.decoder=_base_.codec (configs/_base_/datasets/).
model = dict(
    type='CascadeEstimator',
    # ImageNet's mean and std on RGB (the preprocessor's defaults)
    data_preprocessor=dict(type='HandDataPreprocessor'),
    backbone=dict(type='VGG19CPM', out_channels=128),
    heads=dict(
        keypoints=dict(
            type='KeypointMapHead', in_channels=128, num_keypoints=21,
            num_stages=6, loss=dict(type='HeatmapMSELoss'))),
)
