# The rows of a mesh model (Boukhayma et al., Ge et al.): the root-relative
# 3D joint errors beside the oracle mean pose, 2D PCK, and, where the labels
# carry vertices (PackHandInputs packs them as the metas' `vertices`), the
# mesh errors in FreiHAND's protocol (MeshMetric: MPJPE, PA-MPJPE, MPVPE,
# PA-MPVPE, F@5 / F@15 mm). Data without meshes (STB, FreiHAND without
# with_mesh) take joint_evaluator.
joint_evaluator = [
    dict(type='Keypoint3DMetric', root_relative=True,
         mean_pose_baseline=True),
    dict(type='PCKMetric'),
]
mesh_evaluator = [dict(type='MeshMetric', protocol='freihand'),
                  *joint_evaluator]
