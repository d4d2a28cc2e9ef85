# HandSegNet (Zimmermann & Brox, ICCV 2017, Section 4.1) on RHD: the whole
# 320 x 320 image, hand / background segmentation (both hands: RHD's
# hand-part labels >= 2, RHDDataset(with_masks=True)), the mask IoU of the
# hand probability at 0.5 (MaskIoUMetric). From their training_handsegnet.py
# (lmb-freiburg/hand3d): batch 8, Adam at 1e-5, x 0.1 at 20k and 30k
# iterations, 40k in all; random hue shifts up to 0.1 of the hue circle
# (the loop and its intervals: _base_/schedules/zimmermann_iterations.py).
# Departures: they train on random 256 x 256 crops of the image (handkit
# keeps the input size of the config: the whole image); no CPM / MPII
# initialisation (their encoder starts from Wei et al.'s person network;
# handkit downloads nothing). The crop that PoseNet would see is in each
# prediction (pred_hand_crop_center / pred_hand_crop_size, input pixels).
_base_ = [
    '../_base_/schedules/zimmermann_iterations.py',
    '../_base_/datasets/rhd.py', '../_base_/models/handsegnet.py'
]
whole_image = dict(crop=dict(mode='image'),
                   warp=dict(input_size=_base_.image_size))
masks = dict(with_masks=True)
train_dataloader = dict(batch_size=8, dataset=dict(
    masks, pipeline=dict(
        whole_image,
        color=dict(prob=1.0, brightness=0.0, contrast=0.0, saturation=0.0,
                   hue=0.1),
        targets=dict(_base_.mask_targets, _delete_=True))))
val_dataloader = dict(dataset=dict(masks, pipeline=whole_image))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-5))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False,
                        milestones=[20000, 30000], gamma=0.1)]
train_cfg = dict(max_iters=40000)
val_evaluator = _base_.mask_evaluator
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='IoU@0.5', rule='greater'))
