"""Weight initialisation shared by the plain (batch-norm-free) VGG / CPM nets.

PyTorch's default convolution init shrinks the signal through a deep stack of
ReLU convolutions; the NSRM paper avoids that by starting the backbone from
ImageNet weights. For training from scratch handkit uses torchvision's VGG
initialisation: He (Kaiming) normal, fan-out, zero bias; the last
convolution of a map-predicting stage starts near zero (normal, std 0.001,
as MMPose's heatmap heads) so untrained stages output ~0 maps.

``init_cfg=dict(type='Pretrained', ...)`` resolves to
:class:`SafePretrainedInit`, which reads the file as data.
"""
from typing import Optional

from mmengine.model.weight_init import update_init_info
from torch import nn

from handkit.engine.checkpoint import CorruptCheckpointError
from handkit.registry import WEIGHT_INITIALIZERS


def init_relu_convs(module: nn.Module,
                    small_output: bool = False) -> nn.Module:
    """He-normal (fan_out, ReLU) weights and zero biases for every Conv2d.

    With ``small_output`` the module's last Conv2d (its raw output maps)
    gets normal(std=0.001) weights instead.
    """
    convs = [layer for layer in module.modules()
             if isinstance(layer, nn.Conv2d)]
    for layer in convs:
        nn.init.kaiming_normal_(layer.weight, mode='fan_out',
                                nonlinearity='relu')
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    if small_output and convs:
        nn.init.normal_(convs[-1].weight, std=0.001)
    return module


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class SafePretrainedInit:
    """``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix=None)``,
    read as data.

    mmengine's ``PretrainedInit`` reads the file with its own loader: a
    pickled object there is refused only after a long traceback that
    suggests ``weights_only=False``, and a URL is downloaded. Configs run
    in handkit's scope, so this class takes the name ``Pretrained``: the
    file goes through :func:`handkit.engine.checkpoint.load_checkpoint_file`
    (local files, ``weights_only=True``, one-line refusals), then mmengine's
    non-strict ``load_state_dict``, as ``PretrainedInit`` does.

    Args:
        checkpoint: a local checkpoint or state dict file.
        prefix: load only the weights under this prefix (``'backbone.'``),
            with the prefix removed.
        map_location: where the tensors are loaded.
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None,
                 map_location: str = 'cpu') -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.wholemodule = False  # set by mmengine's initialize

    def __call__(self, module: nn.Module) -> None:
        from mmengine.runner.checkpoint import load_state_dict

        from handkit.engine.checkpoint import (load_checkpoint_file,
                                               state_dict_of)
        state_dict = state_dict_of(load_checkpoint_file(
            self.checkpoint, map_location=self.map_location), self.checkpoint)
        if self.prefix is not None:
            prefix = self.prefix if self.prefix.endswith('.') \
                else self.prefix + '.'
            state_dict = {key[len(prefix):]: value
                          for key, value in state_dict.items()
                          if key.startswith(prefix)}
            if not state_dict:
                raise CorruptCheckpointError(
                    f'checkpoint {self.checkpoint} has no weights under the '
                    f'prefix {prefix!r}')
        load_state_dict(module, state_dict, strict=False, logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=f'{type(self).__name__}: '
                             f'load from {self.checkpoint}')
