# MediaPipe Hands' hand landmark model (Zhang et al., CVPR Workshops 2020,
# Section 2.2) with MediaPipe's released weights (Apache-2.0), converted by
# `python tools/convert_mediapipe.py` to
# $HANDKIT_HOME/mediapipe/hand_landmark_{full,lite}.pth. Inference only: a
# 224 x 224 RGB crop in [0, 1] of the hand's rotated square (MediaPipe's
# ROI from the palm detector or the previous frame's landmarks).
input_size = (224, 224)
# Landmarks, presence, handedness and world landmarks
# (handkit/codecs/mediapipe_landmarks.py).
codec = dict(type='MediaPipeLandmarks', input_size=input_size)
model = dict(
    type='CascadeEstimator',
    data_preprocessor=dict(
        type='HandDataPreprocessor', mean=[0, 0, 0], std=[255, 255, 255],
        bgr_to_rgb=True, channels_last=True),
    backbone=dict(type='BlazeHandLandmark', variant='full'),
    heads=dict(
        landmarks=dict(type='HandLandmarkHead', in_channels=1152,
                       num_keypoints=21, input_size=input_size,
                       decoder=codec,
                       losses=dict(
                           landmarks=dict(type='WeightedL1Loss',
                                          loss_weight=1.0),
                           presence=dict(type='BinaryCrossEntropyLoss',
                                         loss_weight=1.0),
                           handedness=dict(type='BinaryCrossEntropyLoss',
                                           loss_weight=1.0)))))
# No crop step: the caller puts the hand's square into the results,
# `bbox_center` (x, y), `bbox_size` (side) in image pixels and
# `bbox_rotation` (degrees, counter-clockwise as displayed), e.g. from the
# palm detector's rotated rectangle; TopdownAffine warps that (rotated)
# square to the input, black outside the image. Without them it takes the
# whole image, padded to a square.
test_pipeline = dict(
    load=dict(type='LoadImage'),
    warp=dict(type='TopdownAffine', input_size=input_size),
    pack=dict(type='PackHandInputs'),
)
# On a dataset the hand's square comes from its annotated box instead.
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='handkit.hand_collate'),
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='OneHand10KDataset', data_root='data/OneHand10K/',
        split='test', test_mode=True,
        pipeline=dict(
            load=dict(type='LoadImage'),
            crop=dict(type='HandCrop', mode='bbox', padding=1.25),
            warp=dict(type='TopdownAffine', input_size=input_size),
            pack=dict(type='PackHandInputs'))))
