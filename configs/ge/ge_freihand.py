# Ge et al. (CVPR 2019, docs/ge.md) fine-tuned on FreiHAND (Zimmermann et
# al., ICCV 2019), which the paper predates. handkit's FreiHAND adapter
# reads images, 3D joints and intrinsics, no depth images (its meshes only
# with FreiHANDDataset(with_mesh=True), about 1 GB of JSON, off here):
# L = L_H + L_J + L_pM (heat maps from the 2D projections, the learned pose
# regressor on the 3D joints, and the pseudo-ground-truth mesh loss against
# the frozen model's own mesh from before fine-tuning); the paper's
# depth-map loss has no depth image here. Adding the mesh target
# (RootRelativeMesh(with_vertices=True), or the fully supervised
# GraphMeshHead) without with_mesh=True is refused by preflight in one
# line: the dataset then gives no 'vertices'.
# Start from a fully supervised checkpoint of this (256 x 256) model:
#   python tools/train.py configs/ge/ge_freihand.py \
#       --cfg-options load_from=work_dirs/<fully supervised>/best.pth
# FreiHAND's hands are right hands. Schedule (handkit's): Adam at 1e-4,
# batches of 32, 80 epochs, 5 % of the training poses held out.
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/freihand.py', '../_base_/models/ge.py'
]
input_size = _base_.ge_input_size
joints_codec = dict(type='RootRelativeMesh', unit_mm=100.0,
                    with_vertices=False)
model = dict(
    pseudo_label=dict(head='mesh', tensor='vertices',
                      target='pseudo_vertices'),
    heads=dict(mesh=dict(type='WeakGraphMeshHead', losses=dict(
        _delete_=True,
        heatmap=dict(type='HeatmapL2Loss', loss_weight=1.0),
        joint=dict(type='SquaredDistanceLoss', loss_weight=1.0),
        pseudo=dict(type='PseudoMeshLoss', weights=(0.0, 1.0, 50.0),
                    loss_weight=1.0)))))
targets = dict(type='GenerateTargets', encoders=dict(
    kcm=_base_.kcm_codec, mesh=joints_codec))
crop = dict(type='HandCrop', mode='keypoints', padding=1.5)
warp = dict(type='TopdownAffine', input_size=input_size)
train_pipeline = dict(load=dict(type='LoadImage'), crop=crop, warp=warp,
                      targets=targets, pack=dict(type='PackHandInputs'))
test_pipeline = dict(load=dict(type='LoadImage'), crop=crop, warp=warp,
                     pack=dict(type='PackHandInputs'))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# no meshes in the labels: the joint errors and 2D PCK
val_evaluator = _base_.joint_evaluator
test_evaluator = val_evaluator
load_from = None
