# Boukhayma et al. (CVPR 2019, docs/boukhayma.md) on STB (B2-B6 train, B1
# test, as configs/_base_/datasets/stb.py splits it): the paper's 256 x 256
# crop and ResNet-34 (pretrained: model.backbone.pretrained = a local
# torchvision resnet34 state dict; a MANO file: --cfg-options
# model.heads.mesh.hand_model.model_path=data/mano/MANO_RIGHT.npz).
# STB shows a left hand: it is mirrored into the right-hand model at the
# input (TopdownAffine(mirror_side='left')) and its 3D prediction mirrored
# back. STB's joint 0 is the palm centre, not the wrist: L3D and the errors
# are relative to it while the model's joint 0 is its wrist (a known
# mismatch, docs/boukhayma.md). No masks: Lmask off. Schedule (handkit's):
# Adam at 1e-4, batches of 32, 80 epochs.
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/stb.py', '../_base_/models/boukhayma.py'
]
input_size = _base_.boukhayma_input_size
model = dict(heads=dict(mesh=dict(losses=dict(mask=dict(loss_weight=0.0)))))
targets = dict(type='GenerateTargets', encoders=dict(mano=_base_.mano_codec))
crop = dict(type='HandCrop', mode='keypoints', padding=1.5)
warp = dict(type='TopdownAffine', input_size=input_size, mirror_side='left')
pack = dict(type='PackHandInputs')
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=dict(
    _delete_=True, load=dict(type='LoadImage'), crop=crop, warp=warp,
    targets=targets, pack=pack)))
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=dict(
    _delete_=True, load=dict(type='LoadImage'), crop=crop, warp=warp,
    pack=pack)))
test_dataloader = val_dataloader
val_evaluator = _base_.joint_evaluator
test_evaluator = val_evaluator
