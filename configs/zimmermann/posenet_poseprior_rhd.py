# PoseNet -> PosePrior (Zimmermann & Brox, ICCV 2017, Sections 4.2-4.3) on
# RHD, their Rendered Hand Pose Dataset: 256 x 256 crops from the keypoints,
# 32 x 32 score maps (sigma 25 px), the canonical frame with the palm root;
# 3D EPE unaligned (with the mean pose), their RHD protocol ('zb': palm
# root, the true middle MCP -> PIP bone, AUC over 20-50 mm; the anchor:
# Z&B's RHD AUC 0.670 as Zhou et al., CVPR 2020, Table 1 list it, in the
# survey slides of docs/papers.md), 2D PCK. Schedule: their
# training_posenet.py (zimmermann_posenet.py).
# Departures: the cascade trains in one run (they train PoseNet and the
# PosePrior apart); the crop is 1.2 x the keypoint box (theirs: the
# tightest square centred on the middle MCP, with 20 px centre noise and
# 2.5 px noise on the 2D labels, not applied here); no CPM / MPII
# initialisation (their PoseNet starts from Wei et al.'s weights; handkit
# downloads nothing). reference_bone_mm (the middle MCP -> PIP length behind
# the unaligned mm) is the synthetic hands' 43.5: set
# model.heads.pose3d.reference_bone_mm to your training split's mean.
_base_ = [
    '../_base_/schedules/zimmermann_posenet.py',
    '../_base_/datasets/rhd.py', '../_base_/models/posenet_poseprior.py'
]
crop = dict(crop=dict(padding=1.2), warp=dict(input_size=_base_.crop_size))
# the scored hand of each image: the one with more mask pixels (their
# BinaryDbReader.py:213-233; the zimmermann_brox_rhd preset's choice)
hands = dict(hands='mask_pixels')
train_dataloader = dict(batch_size=8, dataset=dict(hands, pipeline=dict(
    crop, targets=dict(_base_.zb_targets, _delete_=True))))
val_dataloader = dict(dataset=dict(hands, pipeline=crop))
test_dataloader = val_dataloader
val_evaluator = _base_.zb_rhd_evaluator
test_evaluator = val_evaluator
