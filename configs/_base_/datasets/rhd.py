# Rendered Hand Pose Dataset (RHD) for RGB 3D models: the RGB 3D pipeline of
# synthetic_rgb3d.py after LoadImage; release 'training' (41,258) /
# 'evaluation' (2,728) sets as train / test (no validation split: validation
# runs on the test split). RHD's visibility flags decide which joints count.
_base_ = ['./synthetic_rgb3d.py']
dataset_type = 'RHDDataset'
data_root = 'data/rhd/'
load = dict(load=dict(type='LoadImage'))
rhd = dict(_delete_=True, type=dataset_type, data_root=data_root,
           hands='auto')
# Images are decoded from disk: loader processes pay here; pinned memory
# speeds the copy to a GPU (dropped by the tools on a machine without one).
workers = dict(num_workers=4, persistent_workers=True, pin_memory=True,
               collate_fn=dict(type='handkit.hand_collate'))
train_dataloader = dict(**workers, dataset=dict(
    rhd, split='train', pipeline=dict(load, **_base_.train_pipeline)))
val_dataloader = dict(**workers, dataset=dict(
    rhd, split='test', test_mode=True,
    pipeline=dict(load, **_base_.test_pipeline)))
test_dataloader = val_dataloader
