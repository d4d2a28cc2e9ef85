# NSRM Section 5's claim 7, the structure module as an add-on to other
# models (docs/nsrm_studies.md): with and without a StructureMaskHead (LPM
# G1&6) in front of the 2D head of the residual hourglass (depth) and of
# ResNet34-UNet (RGB), each with its from-scratch recipe:
#     python tools/study.py configs/studies/nsrm_addon_synthetic.py
# Budget: the hourglass pair 6 epochs of 250 steps (its config: 12), the
# ResUnet pair 2 epochs of 500 steps (its config: 8), the cosine decay
# ending with the run.
hourglass = 'configs/hourglass/hourglass_structure_kcm_synthetic_depth.py'
hourglass_budget = {'train_cfg.max_epochs': 6, 'train_cfg.val_interval': 6,
                    'param_scheduler.1.end': 6}
resunet_budget = {'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 2,
                  'param_scheduler.1.end': 2}
cells = dict(
    hourglass_kcm=dict(config=hourglass, options={
        **hourglass_budget, 'model.heads.structure': None}),
    hourglass_structure_kcm=dict(config=hourglass, options=hourglass_budget),
    resunet=dict(config='configs/resunet/resunet34_lhr_bonetree_synthetic.py',
                 options=resunet_budget),
    resunet_structure=dict(
        config='configs/resunet/resunet34_structure_lhr_bonetree_synthetic.py',
        options=resunet_budget),
)
seeds = [0, 1]
evaluations = dict(test={})
mean_pose = ['hourglass_kcm', 'resunet']
