# NSRM's claims 1-6 on the synthetic hands (docs/nsrm_studies.md):
#     python tools/study.py configs/studies/nsrm_synthetic.py
# Every cell is the quickstart recipe (configs/quickstart/, 96 px, from
# scratch, batch norm, Adam 1e-3 with cosine decay, bf16 autocast where the
# CPU has it) at a budget of 2 epochs of 425 steps (the quickstart: 5), the
# structure weight lambda_1 = 1.0 (lambda_2 = 0.5 for G1&6) decayed by 0.1
# after the first epoch except for "Real Mask"; trained at occlusion 0.1
# and tested at three occlusion levels (self-occlusion is always present).
nsrm = 'configs/quickstart/nsrm_lpm_g1g6_synthetic.py'
limbs = 'train_dataloader.dataset.pipeline.targets.encoders.limbs.'
decay_after_1 = {'custom_hooks.1.step': 1}
g1 = {'model.heads.structure.groups': 'G1', limbs + 'groups': 'G1',
      'model.heads.structure.loss_weight_g6': 0.0}
cells = dict(
    cpm=dict(config='configs/quickstart/cpm_synthetic.py'),
    ldm_g1=dict(config=nsrm, options={**g1, **decay_after_1,
                                      limbs + 'kind': 'ldm'}),
    lpm_g1=dict(config=nsrm, options={**g1, **decay_after_1}),
    ldm_g1g6=dict(config=nsrm, options={**decay_after_1,
                                        limbs + 'kind': 'ldm'}),
    lpm_g1g6=dict(config=nsrm, options=decay_after_1),
    real_mask=dict(config='configs/nsrm/realmask_synthetic.py'),
    real_mask_pp=dict(config='configs/nsrm/realmask_pp_synthetic.py',
                      options=decay_after_1),
)
options = {'train_cfg.max_epochs': 2, 'param_scheduler.1.end': 2}
seeds = [0, 1]
occlusion = 'test_dataloader.dataset.occlusion'
evaluations = dict(occ_0={occlusion: 0.0}, occ_0_3={occlusion: 0.3},
                   occ_0_6={occlusion: 0.6})
baseline_cell = 'cpm'
mean_pose = True
