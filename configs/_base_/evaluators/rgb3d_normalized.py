# The rows of a 3D-from-RGB model that predicts scale-free joints in middle
# MCP -> PIP bones (Cai et al.'s regression, Zimmermann & Brox's
# PosePrior): the wrist-relative joints in the model's mm (its fixed
# reference bone) with the oracle mean pose; Zimmermann & Brox's preset for
# the data set, reported as 'zb/...' (handkit.evaluation.protocols;
# docs/models_3d.md, "Evaluation protocols": the official root, scale bone,
# as-is prediction and threshold grid: the protocol the papers' AUCs are
# compared under); 2D PCK and EPE. RHD and the synthetic hands (the wrist in
# joint 0) take zb_rhd_evaluator, STB (its palm point in joint 0)
# zb_stb_evaluator.
wrist_relative_3d = dict(type='Keypoint3DMetric', root_relative=True,
                         mean_pose_baseline=True)
pck_2d = dict(type='PCKMetric')
zb_rhd_evaluator = [
    wrist_relative_3d,
    dict(type='Keypoint3DMetric', protocol='zimmermann_brox_rhd',
         mean_pose_baseline=True, prefix='zb'),
    pck_2d,
]
zb_stb_evaluator = [
    wrist_relative_3d,
    dict(type='Keypoint3DMetric', protocol='zimmermann_brox_stb',
         mean_pose_baseline=True, prefix='zb'),
    pck_2d,
]
