# Cai et al. (ECCV 2018, docs/cai.md) on RHD (Zimmermann & Brox's Rendered
# Hand Pose Dataset: 41,258 training renders, the 2,728 of 'evaluation' to
# test), every sample with its 3D label and the depth regulariser on RHD's
# rendered depth (RHDDataset(with_depth=True) + LoadRHDDepth: the colour
# camera's depth, background set to 0 from RHD's mask): the paper's first
# stage, before the weak RHD + STB training (cai_rhd_stb_weak.py).
# Everything else is cai_stb.py's: the full-size model of
# _base_/models/cai.py, its pipeline (256 x 256 crops, 64 x 64 depth maps),
# 3D EPE + Zimmermann & Brox's protocol (zb: the paper's RHD AUC 0.887 as
# quoted by Zhou et al., Table 1) + 2D PCK, the lowest EPE_3D kept.
# Departures: the paper's schedule and loss weights are not available here:
# handkit's shared schedule (Adam, lr 1e-4, 80 epochs) and the base's
# weights. RHD's background is 0 (no depth) in the regulariser's target,
# not RHD's far depth (handkit.datasets.utils.read_rhd_depth).
# reference_bone_mm (the middle MCP -> PIP length giving the wrist-relative
# mm) is the synthetic hands' 43.5: set it to RHD's mean; zb does not use
# it. Checkpoints go to work_dirs/cai_rhd/ (epoch_80.pth: the last epoch,
# which cai_rhd_stb_weak.py loads).
# RHD's joint 0 is the wrist: the 3D joints are rooted at the palm (the
# midpoint of wrist and middle MCP), the origin Zimmermann & Brox's RHD
# protocol takes the prediction to have; the scored hand of each test image
# is the one with more mask pixels (their BinaryDbReader.py:213-233).
_base_ = ['./cai_stb.py']
pose3d_codec = dict(_base_.pose3d_codec, palm_root=True)
rhd = dict(type='RHDDataset', data_root='data/rhd/', hands='auto')
train_pipeline = _base_.train_dataloader.dataset.pipeline
train_dataloader = dict(dataset=dict(
    rhd, _delete_=True, split='train', with_depth=True,
    pipeline=dict(train_pipeline, depth=dict(type='LoadRHDDepth'),
                  targets=dict(train_pipeline.targets, encoders=dict(
                      train_pipeline.targets.encoders,
                      pose3d=pose3d_codec)))))
val_dataloader = dict(dataset=dict(
    rhd, _delete_=True, split='test', test_mode=True, hands='mask_pixels',
    pipeline=_base_.val_dataloader.dataset.pipeline))
test_dataloader = val_dataloader
model = dict(heads=dict(pose3d=dict(decoder=pose3d_codec)))
val_evaluator = _base_.zb_rhd_evaluator
test_evaluator = val_evaluator
