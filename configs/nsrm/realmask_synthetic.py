# "Real Mask" (NSRM Table 2) on the synthetic hands: realmask_pp_synthetic.py
# without the decayed loss schedule (the structure weight stays 1.0).
_base_ = ['./realmask_pp_synthetic.py']
custom_hooks = [hook for hook in _base_.custom_hooks
                if hook['type'] != 'LossWeightDecayHook']
