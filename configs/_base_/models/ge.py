# Ge, Ren, Li, Xue, Wang, Cai and Yuan, "3D Hand Shape and Pose Estimation
# from a Single RGB Image", CVPR 2019 (docs/ge.md): a 2-stack hourglass (256
# features) gives 64 x 64 heat maps from the 256 x 256 crop; heat maps and
# features -> 4 residual down-sampling blocks -> FC 4096 -> 512 -> the
# coarsest graph's nodes x 64 -> Chebyshev graph convolutions (K = 3) up the
# pinned mesh hierarchy of the hand model (the open hand by default; a MANO
# file with --cfg-options model.heads.mesh.hand_model.model_path=... and a
# hierarchy built for it, model.heads.mesh.hierarchy_path=...) -> the mesh;
# graph convolutions + FC on the mesh -> the 21 joints.
# Fully supervised: L = L_H + (L_v + L_n + L_e + 50 L_l) + L_J (Section 3.3).
# One codec per target, stated once: the pipeline's GenerateTargets
# (ge_targets) and the head's decoder use the same dicts.
_base_ = ['../evaluators/mesh.py']
ge_input_size = (256, 256)
ge_heatmap_size = (64, 64)
kcm_codec = dict(type='KeypointConfidenceMap', input_size=ge_input_size,
                 heatmap_size=ge_heatmap_size, sigma=2.0)
mesh_codec = dict(type='RootRelativeMesh', unit_mm=100.0)
ge_targets = dict(type='GenerateTargets', encoders=dict(
    kcm=kcm_codec, mesh=mesh_codec))
hand_model = dict(type='HandModelLayer')
model = dict(
    type='CascadeEstimator',
    # ImageNet's mean and std on RGB (the preprocessor's defaults)
    data_preprocessor=dict(type='HandDataPreprocessor'),
    backbone=dict(type='StackedHourglass', num_keypoints=21, num_stacks=2,
                  channels=256, num_modules=2, order=4),
    heads=dict(
        mesh=dict(type='GraphMeshHead', in_channels=256,
                  heatmap_size=ge_heatmap_size, input_size=ge_input_size,
                  decoder=kcm_codec, hand_model=hand_model,
                  hierarchy_path=None, num_blocks=4, num_modules=2,
                  mesh_channels=(64, 64, 32, 32), pose_channels=(32, 64),
                  unit_mm=100.0,
                  # Section 3.3's terms and weights; a term left out is off
                  losses=dict(
                      heatmap=dict(type='HeatmapL2Loss', loss_weight=1.0),
                      vertex=dict(type='VertexL2Loss', loss_weight=1.0),
                      normal=dict(type='NormalLoss', loss_weight=1.0),
                      edge=dict(type='EdgeLengthLoss', loss_weight=1.0),
                      laplacian=dict(type='LaplacianLoss', loss_weight=50.0),
                      joint=dict(type='SquaredDistanceLoss',
                                 loss_weight=1.0)))),
)
