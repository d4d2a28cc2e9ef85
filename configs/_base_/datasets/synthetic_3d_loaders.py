# Data loaders shared by the synthetic 3D bases (synthetic_rgb3d.py,
# synthetic_depth.py): natural hands (synthetic_hands.py), 1,000 validation
# and test hands, each split rendered once into the cache; each base sets the
# image size, modality and pipelines, each config the training set's size.
# No loader processes: read from the cache, a sample's pipeline costs less
# than a worker's inter-process transfer (benchmarks/bench_data.py).
_base_ = ['./synthetic_hands.py']
synthetic = dict(type='SyntheticHandDataset', occlusion=0.3, seed=0,
                 cache_dir=_base_.synthetic_cache_dir, **_base_.natural_hands)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='handkit.hand_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(synthetic, num_samples=20000, split='train'))
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='handkit.hand_collate'),
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(synthetic, num_samples=1000, split='val', test_mode=True))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
