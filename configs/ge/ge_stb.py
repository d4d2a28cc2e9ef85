# Ge et al. (CVPR 2019, docs/ge.md) fine-tuned on STB weakly supervised
# (Section 3.4): L = L_H + L_D + L_pM. The heat maps learn from STB's 2D
# labels; the depth-map loss renders the predicted mesh, placed at the true
# root joint, into the crop against STB's SK depth image (registered to the
# colour image, LoadSTBDepth); the pseudo-ground-truth mesh loss compares
# the mesh with the frozen model's own mesh from before fine-tuning
# (CascadeEstimator(pseudo_label=...): the weights at the start of
# training, i.e. load_from). STB's 3D joints train nothing here, as in the
# paper (they only place the mesh: its root and the errors).
# Start from a fully supervised checkpoint of this model (the base's paper
# size, 256 x 256; handkit has no such checkpoint: docs/ge.md):
#   python tools/train.py configs/ge/ge_stb.py \
#       --cfg-options load_from=work_dirs/<fully supervised>/best.pth
# A MANO file: --cfg-options model.heads.mesh.hand_model.model_path=... and
# model.heads.mesh.hierarchy_path=... (tools/build_mesh_hierarchy.py).
# STB (B2-B6 train, B1 test, configs/_base_/datasets/stb.py) shows left
# hands: they are predicted on the right hand's topology, unmirrored (the
# left model is the mirrored right one). STB's joint 0 is the palm centre:
# the depth loss places the mesh's wrist there (a known offset, docs/ge.md).
# Schedule (handkit's; the paper's is not at hand): Adam at 1e-4, batches of
# 32, 80 epochs.
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/stb.py', '../_base_/models/ge.py'
]
input_size = _base_.ge_input_size
depth_codec = dict(type='CropDepthTarget', input_size=input_size,
                   window_mm=150.0)
model = dict(
    pseudo_label=dict(head='mesh', tensor='vertices',
                      target='pseudo_vertices'),
    heads=dict(mesh=dict(type='WeakGraphMeshHead', losses=dict(
        _delete_=True,
        heatmap=dict(type='HeatmapL2Loss', loss_weight=1.0),
        depth=dict(type='DepthMapL1Loss', scale=0.01, loss_weight=1.0),
        pseudo=dict(type='PseudoMeshLoss', weights=(0.0, 1.0, 50.0),
                    loss_weight=1.0)))))
targets = dict(type='GenerateTargets', encoders=dict(
    kcm=_base_.kcm_codec, depth=depth_codec))
crop = dict(type='HandCrop', mode='keypoints', padding=1.5)
warp = dict(type='TopdownAffine', input_size=input_size)
load = dict(type='LoadImage')
train_dataloader = dict(batch_size=32, dataset=dict(
    with_depth=True, pipeline=dict(
        _delete_=True, load=load, depth=dict(type='LoadSTBDepth'),
        crop=crop, warp=warp, targets=targets, pack=dict(type='PackHandInputs'))))
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=dict(
    _delete_=True, load=load, crop=crop, warp=warp, pack=dict(type='PackHandInputs'))))
test_dataloader = val_dataloader
# no meshes in the labels: the joint errors and 2D PCK
val_evaluator = _base_.joint_evaluator
test_evaluator = val_evaluator
load_from = None
