# Fine-tuning MediaPipe Hands' converted landmark model ('full') on a
# COCO-style hand set, e.g. a user's own photos labelled by
# tools/pseudo_label.py (one file per split):
#
#   python tools/pseudo_label.py data/my_hands/train/ --out data/my_hands/train.json
#   python tools/pseudo_label.py data/my_hands/val/ --out data/my_hands/val.json
#   python tools/train.py configs/mediapipe/hand_landmark_full_finetune_coco.py
#
# (other paths: --cfg-options train_dataloader.dataset.ann_file=...
# train_dataloader.dataset.data_prefix.img=... and the same for
# val_dataloader / test_dataloader). Everything else is the synthetic
# fine-tune's (hand_landmark_full_finetune_synthetic.py: the converted
# weights as load_from, MediaPipe's ROI scale as the crop, the schedule),
# with LoadImage in front of the crop. CocoHandDataset gives one sample per
# annotation and reads no handedness (pseudo_label.py's `handedness` field
# is not read), so the handedness target has weight 0; hand presence is 1
# for every crop: images without a hand (pseudo_label.py keeps them in
# `images`) give no sample, no negatives are trained.
_base_ = ['./hand_landmark_full_finetune_synthetic.py']
data_root = 'data/my_hands/'
coco_train_pipeline = dict(
    _base_.train_pipeline, load=dict(type='LoadImage'),
    targets=dict(type='GenerateTargets', encoders=dict(
        landmarks=dict(_base_.finetune_codec, use_hand_side=False))))
coco_val_pipeline = dict(_base_.val_pipeline, load=dict(type='LoadImage'))
# JPEGs are decoded in the loader processes (2, as tools/train.py lowers
# num_workers to the cores there are).
train_dataloader = dict(
    num_workers=2, persistent_workers=True,
    dataset=dict(_delete_=True, type='CocoHandDataset', data_root=data_root,
                 ann_file='train.json', data_prefix=dict(img='train/'),
                 pipeline=coco_train_pipeline))
val_dataloader = dict(
    num_workers=2, persistent_workers=True,
    dataset=dict(_delete_=True, type='CocoHandDataset', data_root=data_root,
                 ann_file='val.json', data_prefix=dict(img='val/'),
                 test_mode=True, pipeline=coco_val_pipeline))
test_dataloader = val_dataloader
