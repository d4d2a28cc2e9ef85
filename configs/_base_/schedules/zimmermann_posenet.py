# The schedule of Zimmermann & Brox's training_posenet.py (lmb-freiburg/
# hand3d): batch 8, Adam at 1e-4, x 0.1 at 10k and 20k iterations, 30k in
# all; the PosePrior head (heads.1) at a tenth of it, their
# training_lifting.py's starting 1e-5. They train the PosePrior alone, 80k
# iterations (1e-5, then 1e-6 from 60k): handkit trains the cascade in one
# run on PoseNet's schedule. The loop, its intervals and the runtime:
# zimmermann_iterations.py.
_base_ = ['./zimmermann_iterations.py']
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4),
                     paramwise_cfg=dict(custom_keys={
                         'heads.1.': dict(lr_mult=0.1)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False,
                        milestones=[10000, 20000], gamma=0.1)]
train_cfg = dict(max_iters=30000)
default_hooks = dict(checkpoint=dict(save_best='EPE_3D', rule='less'))
