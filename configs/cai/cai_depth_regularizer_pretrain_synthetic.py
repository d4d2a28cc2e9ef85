# Stage 1 of the frozen-regulariser ablation (docs/cai.md,
# cai_depth2d_frozen_regularizer_synthetic.py): Cai et al.'s depth
# regulariser (ECCV 2018) trained alone, ground-truth joints -> depth maps,
# on 4,000 other synthetic hands (seed 1, disjoint from the seed-0 training
# hands of stage 2), 10 % of them held out to report the L1
# (DepthMapMetric, next to the held-out hands' mean depth map):
#     python tools/train.py \
#         configs/cai/cai_depth_regularizer_pretrain_synthetic.py
# writes work_dirs/cai_depth_regularizer_pretrain_synthetic/iter_3000.pth,
# which stage 2 loads (load_from) and keeps frozen. The model is stage 2's,
# of which DepthRegularizerPretrainer keeps the regulariser alone, under its
# name there; the targets come from stage 2's training pipeline.
# Handkit's anchor, not the paper's (which pre-trains on fully-labelled
# RHD): Adam, lr 1e-3 with a cosine decay to 1e-5, 3,000 steps of 64.
_base_ = ['./cai_depth2d_frozen_regularizer_synthetic.py']
model = dict(_delete_=True, type='DepthRegularizerPretrainer',
             estimator=_base_.model)
load_from = None
pretraining_hands = dict(_base_.train_dataloader.dataset, seed=1,
                         num_samples=4000)
held_out = dict(type='HeldOutSplit', dataset=pretraining_hands,
                val_fraction=0.1, seed=0)
train_dataloader = dict(
    batch_size=64,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(held_out, _delete_=True, part='train'))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(held_out, _delete_=True, part='val'))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='DepthMapMetric')
test_evaluator = val_evaluator

max_iters = 3000
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         eta_min=1e-5),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=250),
    checkpoint=dict(by_epoch=False, interval=500, save_best='depth_l1',
                    rule='less'))
# No joints to draw (HandVisualizationHook draws skeletons over images).
custom_hooks = []
