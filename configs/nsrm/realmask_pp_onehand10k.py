# "Real Mask ++" of NSRM Table 2: Real Mask (realmask_onehand10k.py) trained
# with NSRM's decayed loss schedule (Section 4.2: lambda decays by 0.1 every
# 20 epochs), the best row of the table.
_base_ = ['./realmask_onehand10k.py']
custom_hooks = _base_.custom_hooks + [
    dict(type='LossWeightDecayHook', gamma=0.1, step=20),
]
