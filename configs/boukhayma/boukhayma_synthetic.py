# Boukhayma et al. (CVPR 2019, docs/boukhayma.md) on handkit's synthetic RGB
# hands, sized to train on 2 CPU cores in minutes (the paper-size model is
# boukhayma_freihand.py / boukhayma_stb.py). Departures, each for training
# from scratch on a CPU:
# - 128 x 128 crops (rendered at 160 px) instead of 256 x 256, a ResNet-34
#   at a quarter of its widths (16 .. 128 channels), from scratch;
# - the capsule hands of the synthetic generator (its mesh mode, with
#   MANO-format hands, is being built): the paper's losses need no vertex
#   labels, so L2D + L3D + Lmask + Lreg train on their 2D and 3D joints and
#   their rendered hand masks; the capsule skeleton is not the open hand's,
#   so a 3D error floor remains (docs/boukhayma.md);
# - left hands are mirrored into the right-hand model at the input
#   (TopdownAffine(mirror_side='left')); the 3D prediction is mirrored back;
# - the from-scratch CPU schedule (Adam, warm-up, cosine), 4 epochs of 500;
# - loss weights 30 (L2D) and 1e-3 (Lreg) instead of 1 and 10: with handkit's
#   units (2D normalised by the input size, 3D in metres) the paper's L2D is
#   swamped by 100 L3D (8 hands overfit to PCK@0.05 0.06) and 10 Lreg pulls
#   the pose and shape to the mean hand (docs/boukhayma.md, measured).
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/from_scratch_cpu_4e.py',
    '../_base_/datasets/synthetic_rgb3d_cpu.py',
    '../_base_/models/boukhayma.py'
]
input_size = (128, 128)
mano_codec = dict(_base_.mano_codec, input_size=input_size)
mask_codec = dict(_base_.mask_codec, input_size=input_size)
features = 128
model = dict(
    backbone=dict(width_multiplier=0.25),
    heads=dict(mesh=dict(in_channels=features, input_size=input_size,
                         decoder=mano_codec,
                         losses={'2d': dict(loss_weight=30.0),
                                 'reg': dict(loss_weight=1e-3)})))
targets = dict(type='GenerateTargets', encoders=dict(mano=mano_codec,
                                                     mask=mask_codec))
warp = dict(type='TopdownAffine', input_size=input_size, mirror_side='left')
train_steps = dict(_base_.train_pipeline)
pack = train_steps.pop('pack')
train_steps.pop('targets')
train_dataloader = dict(dataset=dict(pipeline=dict(
    train_steps, _delete_=True, warp=warp, targets=targets, pack=pack)))
test_pipeline = dict(_base_.test_pipeline, warp=warp)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = _base_.mesh_evaluator
test_evaluator = val_evaluator
