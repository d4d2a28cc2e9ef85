# Fine-tuning a converted MediaPipe model, not training from scratch: the
# from-scratch CPU schedule (its 50-iteration warm-up, so that the first
# batches of a new domain cannot knock the released weights far, and its
# cosine decay over max_epochs) at a tenth of its learning rate (1e-4),
# decaying to 1e-6, in float32 (the released weights are float32).
_base_ = ['./from_scratch_cpu.py']
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-4))
param_scheduler = [_base_.param_scheduler[0],
                   dict(_base_.param_scheduler[1], eta_min=1e-6)]
