# The rows of a 3D-from-RGB model that predicts scale-free joints in middle
# MCP -> PIP bones (Cai et al.'s regression, Zimmermann & Brox's
# PosePrior): the wrist-relative joints in the model's mm (its fixed
# reference bone) with the oracle mean pose; Zimmermann & Brox's RHD / STB
# protocol on the scale-free read-out, reported as 'zb/...' (palm root, the
# normalised joints times the ground truth's 9 -> 10 bone, as their scripts
# score a normalised prediction; the protocol the papers' AUCs are compared
# under); 2D PCK and EPE.
rgb3d_normalized_evaluator = [
    dict(type='Keypoint3DMetric', root_relative=True,
         mean_pose_baseline=True),
    dict(type='Keypoint3DMetric', protocol='zimmermann_brox',
         from_normalized=True, mean_pose_baseline=True, prefix='zb'),
    dict(type='PCKMetric'),
]
# The paper configs of Zimmermann & Brox select their preset instead
# (handkit.evaluation.protocols; docs/models_3d.md, "Evaluation protocols"):
# the official root, scale bone, as-is prediction and threshold grid.
zb_rhd_evaluator = [
    rgb3d_normalized_evaluator[0],
    dict(type='Keypoint3DMetric', protocol='zimmermann_brox_rhd',
         mean_pose_baseline=True, prefix='zb'),
    rgb3d_normalized_evaluator[2],
]
zb_stb_evaluator = [
    rgb3d_normalized_evaluator[0],
    dict(type='Keypoint3DMetric', protocol='zimmermann_brox_stb',
         mean_pose_baseline=True, prefix='zb'),
    rgb3d_normalized_evaluator[2],
]
