# The training loop of Zimmermann & Brox's scripts (lmb-freiburg/hand3d),
# which count iterations, not epochs, with handkit's intervals: validation
# and a checkpoint every 5,000 iterations, a log line every 100. Each
# schedule on it (zimmermann_posenet.py, zimmermann/handsegnet_rhd.py) sets
# the optimiser, its steps, max_iters and the checkpoint's metric. It brings
# the runtime, whose logger and checkpoint hooks it sets in iterations.
_base_ = ['../default_runtime.py']
train_cfg = dict(type='IterBasedTrainLoop', val_interval=5000)
val_cfg = dict()
test_cfg = dict()
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=100),
                     checkpoint=dict(by_epoch=False, interval=5000))
