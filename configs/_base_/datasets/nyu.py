# NYU Hand Pose Dataset (Li and Wang's benchmark): frontal camera 1, all 36
# joints (the metrics score the 14 evaluation joints), the depth pipeline of
# synthetic_depth.py reading NYU's 8-bit RGB-encoded depth PNGs. The cube is centred on the reference centre
# when the dataset has one (use_reference_centers=<DeepPrior++ / V2V centre
# file> gives center_3d), else on the mean of the 36 joints (oracle centre).
# NYU has no validation split: validation runs on the test split.
_base_ = ['./synthetic_depth.py']
dataset_type = 'NYUHandDataset'
data_root = 'data/nyu/'
pipeline = dict(_base_.pipeline,
                load=dict(type='LoadDepth', encoding='nyu_rgb'),
                cube=dict(_base_.cube, center='center_3d'))
nyu = dict(_delete_=True, type=dataset_type, data_root=data_root, camera=1,
           joints='all36', use_reference_centers=None)
# Images are decoded from disk: loader processes pay here; pinned memory
# speeds the copy to a GPU (dropped by the tools on a machine without one).
workers = dict(num_workers=4, persistent_workers=True, pin_memory=True,
               collate_fn=dict(type='handkit.hand_collate'))
train_dataloader = dict(**workers, dataset=dict(nyu, split='train', pipeline=pipeline))
val_dataloader = dict(**workers, dataset=dict(nyu, split='test', test_mode=True,
                                   pipeline=pipeline))
test_dataloader = val_dataloader
# NYU's joints are not a tree rooted at joint 0: absolute errors only.
val_evaluator = [
    dict(type='NYUMetric'),
    dict(type='Keypoint3DMetric', root_relative=False),
]
test_evaluator = val_evaluator
