# Synthetic RGB hands with 3D joints (handkit's procedural generator), and
# the RGB 3D pipeline of ResUnet (Bekiri and Babahenini: 128 x 128 hand crops)
# that the STB and RHD bases reuse. The generator renders on the fly from
# (seed, split, index): nothing to download, the same samples on every machine.
_base_ = ['./synthetic_3d_loaders.py']
input_size = (128, 128)
# Targets of LatentHeatmapHead: KCM maps at 64 x 64 (area-resampled to each
# Unet-Block's 8..64 maps for the intermediate loss; sigma in map pixels),
# input-pixel coordinates for the soft-argmax, and the bones (eq. 3) from the
# 3D joints in mm.
heatmap_size = (64, 64)
target_encoders = dict(
    kcm=dict(type='KeypointConfidenceMap', input_size=input_size,
             heatmap_size=heatmap_size, sigma=2.0),
    coords=dict(type='IntegralCoordinates', input_size=input_size,
                heatmap_size=input_size),
    bones=dict(type='BoneTree'))

# No geometric augmentation: rotating the crop would rotate the image but
# not the camera-frame 3D labels.
train_pipeline = dict(
    crop=dict(type='HandCrop', mode='keypoints', padding=1.5),
    warp=dict(type='TopdownAffine', input_size=input_size),
    color=dict(type='PhotometricJitter', prob=0.0),
    targets=dict(type='GenerateTargets', encoders=target_encoders),
    pack=dict(type='PackHandInputs'),
)
test_pipeline = dict(
    crop=dict(type='HandCrop', mode='keypoints', padding=1.5),
    warp=dict(type='TopdownAffine', input_size=input_size),
    pack=dict(type='PackHandInputs'),
)

rendering = dict(image_size=(256, 256), modality='rgb')
train_dataloader = dict(dataset=dict(rendering, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(rendering, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(rendering, pipeline=test_pipeline))
# 3D: EPE (mm, wrist-relative), AUC 20-50 mm, 3D PCK, plus the oracle
# mean-pose EPE; 2D: PCK on the tightest-box normaliser.
val_evaluator = [
    dict(type='Keypoint3DMetric', root_relative=True, mean_pose_baseline=True),
    dict(type='PCKMetric'),
]
test_evaluator = val_evaluator
