# Synthetic RGB hands with 3D joints (handkit's procedural generator), and
# the RGB 3D pipeline of ResUnet (paper 004: 128 x 128 hand crops) that the
# STB and RHD bases reuse. The generator renders on the fly from (seed,
# split, index): nothing to download, the same samples on every machine.
dataset_type = 'SyntheticHandDataset'
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

synthetic = dict(type=dataset_type, image_size=(256, 256), modality='rgb',
                 occlusion=0.3, seed=0)
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(synthetic, num_samples=20000, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(synthetic, num_samples=1000, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
# 3D: EPE (mm, wrist-relative), AUC 20-50 mm, 3D PCK, plus the oracle
# mean-pose EPE; 2D: PCK on the tightest-box normaliser.
val_evaluator = [
    dict(type='Keypoint3DMetric', root_relative=True, mean_pose_baseline=True),
    dict(type='PCKMetric'),
]
test_evaluator = val_evaluator
