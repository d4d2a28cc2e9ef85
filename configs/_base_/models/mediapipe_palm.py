# MediaPipe Hands' palm detector (Zhang et al., CVPR Workshops 2020, Section
# 2.1) with MediaPipe's released weights (Apache-2.0), converted by
# `python tools/convert_mediapipe.py` to
# $HANDKIT_HOME/mediapipe/palm_detection_{full,lite}.pth. Inference only:
# MediaPipe feeds the whole image, letterboxed to a 192 x 192 square (black
# borders), as RGB in [0, 1].
input_size = (192, 192)
# Anchors, box decoding and NMS (handkit/codecs/mediapipe_palm.py).
codec = dict(type='MediaPipePalmAnchors', input_size=input_size)
model = dict(
    type='CascadeEstimator',
    data_preprocessor=dict(
        type='HandDataPreprocessor', mean=[0, 0, 0], std=[255, 255, 255],
        bgr_to_rgb=True, channels_last=True),
    backbone=dict(type='BlazePalm', variant='full'),
    heads=dict(
        palms=dict(type='PalmDetectionHead', in_channels=(128, 256),
                   num_anchors=(2, 6), decoder=codec)))
# The square of the image's longer side centred on the image, warped to the
# input with black borders: MediaPipe's letterbox (BORDER_ZERO).
test_pipeline = dict(
    load=dict(type='LoadImage'),
    crop=dict(type='HandCrop', mode='image'),
    warp=dict(type='TopdownAffine', input_size=input_size),
    pack=dict(type='PackHandInputs'),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='handkit.hand_collate'),
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='OneHand10KDataset', data_root='data/OneHand10K/',
                 split='test', test_mode=True, pipeline=test_pipeline))
