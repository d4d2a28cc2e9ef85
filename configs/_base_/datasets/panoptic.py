# CMU Panoptic hand data (NSRM Section 4.1): square crops of 2.2 x the
# tightest keypoint box, resized to 368 x 368; seeded 80/10/10 split.
# Pipelines are ordered dicts so an experiment can override one step by name.
dataset_type = 'PanopticHandDataset'
data_root = 'data/hand143_panopticdb/'
input_size = (368, 368)
heatmap_size = (46, 46)
# The one KCM codec of the Panoptic / OneHand10K configs (NSRM eq. 6, sigma 1
# map pixel): the training targets use it here, and every config that builds
# a keypoint head passes it as the head's decoder (decoder=_base_.codec).
codec = dict(type='KeypointConfidenceMap', input_size=input_size,
             heatmap_size=heatmap_size, sigma=1.0)

train_pipeline = dict(
    load=dict(type='LoadImage'),
    crop=dict(type='HandCrop', mode='keypoints', padding=2.2),
    # The paper reports no augmentation: prob=0 keeps its protocol; set
    # prob=1.0 to turn these on.
    affine=dict(type='RandomAffine', rotate_range=30.0,
                scale_range=(0.85, 1.15), shift_ratio=0.05, prob=0.0),
    warp=dict(type='TopdownAffine', input_size=input_size),
    color=dict(type='PhotometricJitter', prob=0.0),
    # Camera blur, noise and JPEG: handkit's synthetic-to-real option, off.
    degrade=dict(type='CameraDegradation', prob=0.0),
    targets=dict(type='GenerateTargets', encoders=dict(kcm=codec)),
    pack=dict(type='PackHandInputs'),
)
test_pipeline = dict(
    load=dict(type='LoadImage'),
    crop=dict(type='HandCrop', mode='keypoints', padding=2.2),
    warp=dict(type='TopdownAffine', input_size=input_size),
    pack=dict(type='PackHandInputs'),
)

# Loader processes decode the images; pinned host memory speeds the copy to
# a GPU (tools/train.py and tools/test.py drop it on a machine without one).
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    collate_fn=dict(type='handkit.hand_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    collate_fn=dict(type='handkit.hand_collate'),
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    collate_fn=dict(type='handkit.hand_collate'),
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='PCKMetric')
test_evaluator = val_evaluator
