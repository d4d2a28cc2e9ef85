# The default runtime plus NSRM's decayed loss schedule (Section 3.3):
# lambda_1 and lambda_2 decay by a ratio of 0.1 every 20 epochs.
_base_ = ['./default_runtime.py']
custom_hooks = _base_.custom_hooks + [
    dict(type='LossWeightDecayHook', gamma=0.1, step=20),
]
