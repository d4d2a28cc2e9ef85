# handkit's schedule for training a reduced model from scratch on a CPU in
# minutes (docs/training_on_cpu.md), not the paper's: Adam at lr 1e-3 (the
# paper: 1e-4 from ImageNet weights) with a 50-iteration linear warm-up and
# a cosine decay to 1e-5 over the run; bfloat16 autocast where the CPU has
# native bfloat16 (about twice as fast; float32 elsewhere). A config that
# changes max_epochs sets the cosine's end to it as well.
max_epochs = 5
optim_wrapper = dict(type='AutocastOptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
