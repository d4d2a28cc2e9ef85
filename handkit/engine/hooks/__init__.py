from .loss_weight_decay_hook import LossWeightDecayHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .visualization_hook import HandVisualizationHook

__all__ = [
    'HandVisualizationHook', 'LossWeightDecayHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'SafeCheckpointHook'
]
