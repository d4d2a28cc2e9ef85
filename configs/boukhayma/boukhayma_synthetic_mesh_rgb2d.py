# Boukhayma et al. (CVPR 2019) on handkit's synthetic mesh hands with the
# paper's RGB + 2D input (abstract and Section 3: "Given an input image, and
# optionally 2D joint detections obtained from an independent CNN"): the
# encoder takes the crop and the 21 heat maps of a frozen handkit 2D model
# run on the same crop (KeypointMapInput), in training and at test alike.
# The paper's independent CNN is OpenPose; here it is the quickstart NSRM
# (train it first: python tools/quickstart.py), or any 2D model with a KCM
# head and the default (ImageNet) input normalisation:
#   --cfg-options model.backbone.keypoint_model.config=CONFIG \
#                 model.backbone.keypoint_model.init_cfg.checkpoint=CKPT
# The 2D model's weights are read when training starts and saved in this
# model's checkpoints (it stays frozen).
# Everything else is boukhayma_synthetic_mesh.py's (docs/boukhayma.md) but
# the schedule: 4 epochs of 500 steps (the capsule config's), as measured;
# the heat maps tell the palm from the back in 4 already (12 % of the test
# hands flipped, against 41 % from RGB alone in 4 epochs).
_base_ = ['./boukhayma_synthetic_mesh.py']
max_epochs = 4
param_scheduler = [_base_.param_scheduler[0],
                   dict(_base_.param_scheduler[1], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
keypoint_model = dict(
    config='configs/quickstart/nsrm_lpm_g1g6_synthetic.py',
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/quickstart/nsrm_lpm_g1g6_synthetic/epoch_5.pth'))
model = dict(backbone=dict(_delete_=True, type='KeypointMapInput',
                           encoder=_base_.model.backbone,
                           keypoint_model=keypoint_model))
