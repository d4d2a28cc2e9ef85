# Stereo Hand Pose Tracking Benchmark (STB) for RGB 3D models: the RGB 3D
# pipeline of synthetic_rgb3d.py after LoadImage. Split as Zimmermann & Brox
# and Bekiri and Babahenini use it: B2-B6 train (15,000 frames), B1 test
# (3,000); STB has no validation split, so validation runs on the test split.
# STB's root is the palm centre (in the wrist slot): root-relative errors are
# palm-relative.
_base_ = ['./synthetic_rgb3d.py']
dataset_type = 'STBDataset'
data_root = 'data/stb/'
load = dict(load=dict(type='LoadImage'))
stb = dict(_delete_=True, type=dataset_type, data_root=data_root,
           camera='SK')
# Images are decoded from disk: loader processes pay here; pinned memory
# speeds the copy to a GPU (dropped by the tools on a machine without one).
workers = dict(num_workers=4, persistent_workers=True, pin_memory=True,
               collate_fn=dict(type='handkit.hand_collate'))
train_dataloader = dict(**workers, dataset=dict(
    stb, split='train', pipeline=dict(load, **_base_.train_pipeline)))
val_dataloader = dict(**workers, dataset=dict(
    stb, split='test', test_mode=True,
    pipeline=dict(load, **_base_.test_pipeline)))
test_dataloader = val_dataloader
