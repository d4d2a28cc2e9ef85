"""CombinedLoss: the named, weighted losses of a head with several losses.

As MMPose's ``CombinedLoss`` (mmpose/models/losses/loss_wrappers.py), a
head with several losses takes them as one dict of named loss configs, each
built through the registry::

    losses=dict(pose3d=dict(type='JointL2Loss', loss_weight=1.0),
                depth=dict(type='DepthL1Loss', loss_weight=100.0))

handkit's losses take no weight of their own, so each entry's
``loss_weight`` (default 1.0) is taken off its config and kept here, in
``weights``: the one place that weight lives, a plain float that a hook may
change. The head reports each term as ``loss_<name>``.
"""
from typing import Dict, Iterable, Mapping

import torch
from torch import nn

from handkit.registry import MODELS


class CombinedLoss(nn.ModuleDict):
    """Loss modules by name (``self[name]``), their weights in ``weights``.

    Args:
        losses: name -> loss config (``type`` and the loss's own arguments,
            plus an optional ``loss_weight``).
        names: the names the owning head knows; another name is an error.
        owner: the head's class name, for the errors.

    ``self(name, *args, **kwargs)`` is ``weights[name] * self[name](*args,
    **kwargs)``. A term whose weight is 0 is off (:meth:`active`): the head
    skips it and does not read its targets.
    """

    def __init__(self, losses: Mapping[str, dict], names: Iterable[str],
                 owner: str) -> None:
        super().__init__()
        names = tuple(names)
        self.weights: Dict[str, float] = {}
        for name, cfg in losses.items():
            if name not in names:
                raise ValueError(f'{owner}: unknown loss {name!r} in losses; '
                                 f'expected some of {list(names)}')
            if not isinstance(cfg, Mapping) or 'type' not in cfg:
                raise ValueError(f'{owner}: losses[{name!r}] must be a loss '
                                 f"config with a 'type', got {cfg!r}")
            cfg = dict(cfg)
            self.weights[name] = float(cfg.pop('loss_weight', 1.0))
            self[name] = MODELS.build(cfg)

    def active(self, name: str) -> bool:
        """Whether the term ``name`` is given and weighs more than 0."""
        return self.weights.get(name, 0.0) != 0.0

    def forward(self, name: str, *args, **kwargs) -> torch.Tensor:
        """The weighted loss ``name`` of the arguments."""
        return self.weights[name] * self[name](*args, **kwargs)
