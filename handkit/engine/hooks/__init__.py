from .loss_weight_decay_hook import LossWeightDecayHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .visualization_hook import HandVisualizationHook

__all__ = [
    'HandVisualizationHook', 'LossWeightDecayHook', 'SafeCheckpointHook'
]
