from .loss_weight_decay_hook import LossWeightDecayHook
from .plain_checkpoint_hook import PlainCheckpointHook

__all__ = ['LossWeightDecayHook', 'PlainCheckpointHook']
