# OneHand10K (NSRM Section 4.1): no hand crop (the whole image, padded to a
# square), resized to 368 x 368; the release's own train / test split.
_base_ = ['./panoptic.py']
dataset_type = 'OneHand10KDataset'
data_root = 'data/OneHand10K/'

train_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root,
    pipeline=dict(crop=dict(mode='image'))))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, split='test',
    pipeline=dict(crop=dict(mode='image'))))
test_dataloader = val_dataloader
