"""BaseHead: the contract of every head of ``CascadeEstimator``'s cascade.

A head turns features (and the previous head's prior) into outputs, owns
its loss, and decodes its outputs into predictions. The estimator runs the
heads in order and hands head *i* the prior of head *i - 1*: one tensor
(B, C, h, w), ``prior_maps(outputs)`` of the head before, whatever form the
outputs take. That single rule expresses NSRM (structure masks -> KCM), CPM
(KCM alone), ResUnet (latent heatmaps -> bone tree) and a structure module in
front of any head (docs/architecture.md).

A new head subclasses this, sets ``out_channels`` (the channels of the prior
it hands on, 0 when it hands on none) and ``prior_channels`` (the channels it
expects, 0 when it opens the cascade; the estimator fills it in from the head
before), and implements forward, loss and the two halves of predict::

    @MODELS.register_module()
    class MyHead(BaseHead):
        def forward(self, feats, prior=None): ...        # -> outputs
        def loss(self, outputs, batch): ...               # -> {'loss_x': t}
        def predict_tensors(self, outputs): ...           # -> {'maps': t}
        def decode(self, tensors, batch=None): ...        # -> {'keypoints': a}

``predict(outputs, batch)`` is ``decode`` of ``predict_tensors`` turned into
numpy. The split is the seam of the deployment path (docs/deployment.md): an
ONNX export holds the network up to ``predict_tensors`` (maps, coordinates),
and ONNX Runtime's outputs go through the same numpy ``decode``. A head may
override ``predict`` alone instead; it then runs in PyTorch but cannot be
exported.

Losses are built through the registry from config arguments: one
``loss`` with its ``loss_weight``, or, for a head with several,
``losses=dict(name=dict(type=..., loss_weight=...))`` held by a
:class:`~handkit.models.losses.CombinedLoss` (MMPose's pattern). Weights
are plain floats (``loss_weight``, ``loss_module.weights[name]``), so that
schedules (``LossWeightDecayHook``) can change them.

A head that decodes with a codec takes it as ``decoder=`` (the config's one
codec dict, also given to the pipeline's ``GenerateTargets``) and keeps it
as ``decoder``, which preflight compares with the target encoders
(``handkit.engine.preflight.check_codecs``).
"""
from abc import ABCMeta, abstractmethod
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import nn

from handkit.codecs.base import BaseCodec


class BaseHead(nn.Module, metaclass=ABCMeta):
    """Base class of the heads of a cascade.

    Attributes:
        out_channels: channels of :meth:`prior_maps`, the prior handed to
            the next head; 0 when the head hands on none.
        prior_channels: channels of the prior this head expects; 0 when it
            opens the cascade (then ``forward`` gets ``prior=None``).
        required_labels: data_info keys the head reads from every sample's
            meta (``PosePriorHead``: ``hand_side``); a dataset without one
            stops the tools before anything is written
            (``handkit.engine.preflight.check_labels``).
        decoder: the codec the head decodes with, built from its
            ``decoder=`` argument; None for a head with nothing to decode
            (or built without one).
    """

    out_channels: int = 0
    prior_channels: int = 0
    required_labels: Tuple[str, ...] = ()
    decoder: Optional[BaseCodec] = None

    @abstractmethod
    def forward(self, feats: Any, prior: Optional[torch.Tensor] = None
                ) -> Any:
        """Features (+ the previous head's prior maps) -> this head's
        outputs (a tensor, a list of stage outputs or a dict)."""

    @abstractmethod
    def loss(self, outputs: Any, batch: dict) -> Dict[str, torch.Tensor]:
        """Named, weighted losses of ``outputs`` against
        ``batch['targets']``; each name unique in the cascade."""

    def predict_tensors(self, outputs: Any) -> Dict[str, torch.Tensor]:
        """The named tensors of ``outputs`` that :meth:`decode` reads, each
        batched (B, ...): the outputs of an ONNX export."""
        raise TypeError(f'{type(self).__name__} implements neither '
                        'predict_tensors + decode nor predict '
                        '(handkit/models/heads/base_head.py)')

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> Dict[str, Any]:
        """Decoded predictions of the batch, from :meth:`predict_tensors`
        as float32 numpy arrays: ``keypoints`` (B, K, 2) input pixels and
        ``scores`` (B, K) for a 2D head; other keys become ``pred_<key>``;
        keys ending in ``maps`` are maps (kept only when asked for)."""
        raise TypeError(f'{type(self).__name__} implements neither '
                        'predict_tensors + decode nor predict '
                        '(handkit/models/heads/base_head.py)')

    def predict(self, outputs: Any, batch: Optional[dict] = None
                ) -> Dict[str, Any]:
        """:meth:`decode` of :meth:`predict_tensors` (detached, float32,
        on the CPU): the eager PyTorch path."""
        return self.decode(tensors_to_numpy(self.predict_tensors(outputs)),
                           batch)

    def exportable(self) -> bool:
        """Whether :meth:`predict` is ``decode(predict_tensors(...))``, so
        that an ONNX export of this head decodes as PyTorch does."""
        cls = type(self)
        return (cls.predict is BaseHead.predict
                and cls.predict_tensors is not BaseHead.predict_tensors
                and cls.decode is not BaseHead.decode)

    def prior_maps(self, outputs: Any) -> torch.Tensor:
        """The (B, out_channels, h, w) prior handed to the next head.

        The default is the last element of a list of stage outputs (the CPM
        heads); a head whose outputs differ overrides it.
        """
        if self.out_channels == 0:
            raise ValueError(f'{type(self).__name__} hands no prior to a '
                             'next head (out_channels is 0); put it last in '
                             'the cascade')
        return outputs[-1]

    def check_prior(self, prior: Optional[torch.Tensor]) -> None:
        """Raise unless a prior is given exactly when ``prior_channels > 0``
        and has that many channels."""
        name = type(self).__name__
        if (prior is None) != (self.prior_channels == 0):
            raise ValueError(
                f'{name} built with prior_channels={self.prior_channels} got '
                f"{'no prior' if prior is None else 'a prior'}")
        if prior is not None and (prior.ndim != 4
                                  or prior.shape[1] != self.prior_channels):
            raise ValueError(
                f'{name}: the prior must be (B, {self.prior_channels}, h, w) '
                f'maps, got {tuple(prior.shape)}')

    def check_features(self, feats: torch.Tensor) -> None:
        """Raise unless ``feats`` is a (B, in_channels, h, w) map."""
        if feats.ndim != 4 or feats.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: features must be (B, '
                             f'{self.in_channels}, h, w), got '
                             f'{tuple(feats.shape)}')

    def require_target(self, batch: dict, name: str,
                       why: str = '') -> torch.Tensor:
        """``batch['targets'][name]``, or a ValueError naming what holds."""
        targets = batch.get('targets', {}) if isinstance(batch, dict) else {}
        if name not in targets:
            purpose = f' ({why})' if why else ''
            raise ValueError(
                f"{type(self).__name__}.loss needs batch['targets']"
                f"['{name}']{purpose}; targets hold {sorted(targets)}")
        return targets[name]


def tensors_to_numpy(tensors: Mapping[str, torch.Tensor]
                     ) -> Dict[str, np.ndarray]:
    """Detached float32 numpy copies, on the CPU, of named tensors."""
    return {name: tensor.detach().float().cpu().numpy()
            for name, tensor in tensors.items()}
