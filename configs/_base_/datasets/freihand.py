# FreiHAND (Zimmermann et al., ICCV 2019; FreiHANDDataset): 5 % of the
# training poses held out for validation (seed 0), the evaluation set as the
# test split. Images are decoded from disk: loader processes pay here. A
# config sets each loader's pipeline (dataset=dict(pipeline=...)).
freihand = dict(type='FreiHANDDataset', data_root='data/freihand/',
                holdout_fraction=0.05, holdout_seed=0)
workers = dict(num_workers=4, persistent_workers=True, pin_memory=True,
               collate_fn=dict(type='handkit.hand_collate'))
train_dataloader = dict(**workers, batch_size=32,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(freihand, split='train'))
val_dataloader = dict(**workers, batch_size=32, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(freihand, split='val', test_mode=True))
test_dataloader = dict(val_dataloader, dataset=dict(
    freihand, split='test', test_mode=True))
