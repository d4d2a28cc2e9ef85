# The default runtime for 3D models: they keep the checkpoint with the
# lowest 3D EPE (Keypoint3DMetric's EPE_3D) instead of the highest PCK.
_base_ = ['./default_runtime.py']
default_hooks = dict(checkpoint=dict(save_best='EPE_3D', rule='less'))
