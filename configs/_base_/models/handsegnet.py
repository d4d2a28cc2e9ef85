# HandSegNet of Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from
# Single RGB Images", ICCV 2017, Section 4.1: a VGG-style encoder of the
# whole 320 x 320 image (40 x 40 x 128), a 1x1 convolution to 512 and one to
# the two class scores, upsampled to the image; softmax cross-entropy. The
# target is the sample's hand_mask at the input size (HandMask with
# heatmap_size = input_size: 0 / 1 per pixel), stated once; each config sets
# its pipeline's targets=mask_targets.
image_size = (320, 320)
mask_codec = dict(type='HandMask', input_size=image_size,
                  heatmap_size=image_size)
mask_targets = dict(type='GenerateTargets', encoders=dict(mask=mask_codec))
model = dict(
    type='CascadeEstimator',
    data_preprocessor=dict(type='HandDataPreprocessor',
                           mean=[127.5, 127.5, 127.5],
                           std=[255.0, 255.0, 255.0], bgr_to_rgb=True),
    backbone=dict(type='ZimmermannVGG', arch='handsegnet'),
    heads=dict(segmentation=dict(type='HandSegHead', in_channels=128,
                                 hidden_channels=512, stride=8)),
    # MaskIoUMetric reads the hand probability maps
    test_cfg=dict(output_maps=True),
)
mask_evaluator = [dict(type='MaskIoUMetric', map_key='hand_maps')]
