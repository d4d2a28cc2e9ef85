from .loss_weight_decay_hook import LossWeightDecayHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .visualization_hook import HandVisualizationHook

__all__ = [
    'HandVisualizationHook', 'LossWeightDecayHook', 'PlainCheckpointHook'
]
