# Data loaders shared by the synthetic 3D bases (synthetic_rgb3d.py,
# synthetic_depth.py): 20,000 training and 1,000 validation / test hands
# rendered on the fly; each base sets the image size, modality and pipelines.
synthetic = dict(type='SyntheticHandDataset', occlusion=0.3, seed=0)
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(synthetic, num_samples=20000, split='train'))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(synthetic, num_samples=1000, split='val', test_mode=True))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
