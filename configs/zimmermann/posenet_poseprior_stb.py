# PoseNet -> PosePrior (Zimmermann & Brox, ICCV 2017, Sections 4.2-4.3) on
# STB (SK colour camera; B2-B6 train, B1 test, as in the paper): the model,
# crops, losses, schedule and departures of posenet_poseprior_rhd.py. The
# anchor: Z&B's STB AUC 0.948 over 20-50 mm (trained on it), as Zhou et
# al., CVPR 2020, Table 1 list it (survey slides, docs/papers.md). STB's
# joint 0 is already the palm centre, their STB root, so the canonical
# frame roots there (root='wrist': joint 0), and so does the evaluation
# (the zimmermann_brox_stb preset, their BinaryDbReaderSTB.py:194; the
# former 'zimmermann_brox' protocol took the midpoint of joints 0 and 9).
# STB films a left hand
# (STBDataset gives hand_side 'left'). Set
# model.heads.pose3d.reference_bone_mm to your training split's mean middle
# MCP -> PIP length for the unaligned mm.
_base_ = [
    '../_base_/schedules/zimmermann_posenet.py',
    '../_base_/datasets/stb.py', '../_base_/models/posenet_poseprior.py'
]
canonical_codec = dict(_base_.canonical_codec, root='wrist')
targets = dict(_base_.zb_targets, _delete_=True, encoders=dict(
    scoremaps=_base_.score_codec, canonical=canonical_codec))
model = dict(heads=dict(pose3d=dict(decoder=canonical_codec)))
crop = dict(crop=dict(padding=1.2), warp=dict(input_size=_base_.crop_size))
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=dict(
    crop, targets=targets)))
val_dataloader = dict(dataset=dict(pipeline=crop))
test_dataloader = val_dataloader
val_evaluator = _base_.zb_stb_evaluator
test_evaluator = val_evaluator
