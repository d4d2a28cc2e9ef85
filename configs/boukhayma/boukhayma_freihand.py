# Boukhayma et al. (CVPR 2019, docs/boukhayma.md) on FreiHAND (Zimmermann et
# al., ICCV 2019): the paper's 256 x 256 crop and ResNet-34 (pretrained: set
# model.backbone.pretrained to a local torchvision resnet34 state dict).
# With a real MANO file: --cfg-options
#   model.heads.mesh.hand_model.model_path=data/mano/MANO_RIGHT.npz
# FreiHAND's hands are all right hands: no mirroring. The adapter reads no
# masks, so Lmask is off (its weight 0, no MaskDistanceField target): L2D +
# 100 L3D + 10 Lreg. Schedule (handkit's; the paper's is not stated in the
# text at hand): Adam at 1e-4, batches of 32, 80 epochs, 5 % of the training
# poses held out for validation.
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/freihand.py', '../_base_/models/boukhayma.py'
]
input_size = _base_.boukhayma_input_size
model = dict(heads=dict(mesh=dict(losses=dict(mask=dict(loss_weight=0.0)))))
targets = dict(type='GenerateTargets', encoders=dict(mano=_base_.mano_codec))
crop = dict(type='HandCrop', mode='keypoints', padding=1.5)
warp = dict(type='TopdownAffine', input_size=input_size)
train_pipeline = dict(load=dict(type='LoadImage'), crop=crop, warp=warp,
                      targets=targets, pack=dict(type='PackHandInputs'))
test_pipeline = dict(load=dict(type='LoadImage'), crop=crop, warp=warp,
                     pack=dict(type='PackHandInputs'))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# FreiHAND's protocol (PA-MPJPE, PA-MPVPE, F@5 / F@15 mm where the test
# labels give vertices), the root-relative 3D errors and 2D PCK.
val_evaluator = _base_.mesh_evaluator
test_evaluator = val_evaluator
