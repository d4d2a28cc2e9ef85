"""An encoder whose input is the image and a 2D model's heat maps.

Boukhayma, Bem and Torr, "3D Hand Shape and Pose from Images in the Wild",
CVPR 2019, the abstract and Section 3: "Given an input image, and
optionally 2D joint detections obtained from an independent CNN, the
encoder predicts a set of hand and view parameters"; their RGB + 2D
variant stacks the 21 joints' heat maps of that CNN (OpenPose) on the
image. Here the independent CNN is any handkit 2D model (its config and
checkpoint, e.g. the quickstart NSRM), run frozen on the same crop in
training and at test alike, so that the encoder always sees maps of the
kind it will get (docs/boukhayma.md).
"""
import os.path as osp
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModule

from handkit.config_files import resolve_config_path
from handkit.engine.checkpoint import (check_state_dict_fits,
                                       load_checkpoint_file, state_dict_of)
from handkit.registry import MODELS

# HandDataPreprocessor's defaults: ImageNet's mean and std, BGR -> RGB
IMAGENET_INPUT = dict(mean=(123.675, 116.28, 103.53),
                      std=(58.395, 57.12, 57.375), bgr_to_rgb=True)


def _input_normalisation(preprocessor) -> Optional[dict]:
    """A HandDataPreprocessor's mean, std and channel order (None when it
    does not normalise)."""
    if not getattr(preprocessor, 'normalise', False):
        return None
    return dict(mean=tuple(preprocessor.mean.flatten().tolist()),
                std=tuple(preprocessor.std.flatten().tolist()),
                bgr_to_rgb=preprocessor.bgr_to_rgb)


def _is_imagenet_input(normalisation: Optional[dict]) -> bool:
    """Whether a model normalises its input as :data:`IMAGENET_INPUT`."""
    if normalisation is None or \
            normalisation['bgr_to_rgb'] != IMAGENET_INPUT['bgr_to_rgb']:
        return False
    return all(len(normalisation[key]) == len(IMAGENET_INPUT[key]) and all(
        abs(a - b) <= 1e-3 for a, b in zip(normalisation[key],
                                           IMAGENET_INPUT[key]))
               for key in ('mean', 'std'))


@MODELS.register_module()
class KeypointMapInput(BaseModule):
    """``encoder(cat(image, maps))``, the maps from a frozen 2D model.

    Args:
        encoder: config of the encoder (e.g. ``ResNetEncoder``); its
            ``in_channels`` is set to 3 + the 2D model's keypoint count.
        keypoint_model: ``dict(config=..., init_cfg=dict(type='Pretrained',
            checkpoint=...))``: a handkit 2D model whose last head predicts
            ``maps`` (a KCM head: NSRM, CPM), and its trained weights. The
            model is built from its config's ``model``; its weights are read
            when training starts (:meth:`init_weights`, with handkit's safe
            loader, and they must fit exactly); preflight checks the file
            before anything is written, as for every ``Pretrained`` file.
            Without ``init_cfg`` the 2D model keeps random weights (tests).
            Its data preprocessor must be the default one (ImageNet mean
            and std on RGB): the image arrives normalised that way.
        maps: the name of the 2D model's map output (``heatmaps``).

    ``forward(x (B, 3, H, W))``, ``x`` normalised: ``x`` resized to the 2D
    model's input size, its maps (B, K, h, w) resized back to (H, W) and
    stacked on ``x`` -> the encoder's output. The 2D model is a frozen
    submodule (no gradients, always in eval mode): it is saved in this
    model's checkpoints, so a trained model loads from its own checkpoint
    alone.
    """

    def __init__(self, encoder: dict, keypoint_model: dict,
                 maps: str = 'heatmaps') -> None:
        super().__init__()
        from handkit.datasets.base import config_input_size
        unknown = sorted(set(keypoint_model) - {'config', 'init_cfg'})
        if 'config' not in keypoint_model or unknown:
            raise ValueError(f'KeypointMapInput: keypoint_model takes config '
                             f'and init_cfg, got {sorted(keypoint_model)}')
        name = keypoint_model['config']
        path = resolve_config_path(name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'KeypointMapInput: config not found: '
                                    f'{name}')
        cfg = Config.fromfile(path)
        init_cfg = keypoint_model.get('init_cfg')
        if init_cfg is not None and (init_cfg.get('type') != 'Pretrained'
                                     or 'checkpoint' not in init_cfg):
            raise ValueError(f"KeypointMapInput: keypoint_model's init_cfg "
                             f"must be dict(type='Pretrained', checkpoint="
                             f'...), got {init_cfg!r}')
        self.checkpoint = None if init_cfg is None else str(
            init_cfg['checkpoint'])
        self.keypoint_model = MODELS.build(cfg.model)
        normalisation = _input_normalisation(
            self.keypoint_model.data_preprocessor)
        if not _is_imagenet_input(normalisation):
            raise ValueError(f'KeypointMapInput: {name} normalises its input '
                             f'as {normalisation}, not as the image arrives '
                             f'(ImageNet mean and std on RGB)')
        self.keypoint_model.requires_grad_(False)
        self.keypoint_model.eval()
        self.map_key = f'{self.keypoint_model.head_names[-1]}.{maps}'
        self.map_input_size = config_input_size(cfg)  # (W, H)
        with torch.no_grad():
            probe = self.keypoint_model.predict_tensors(torch.zeros(
                1, 3, self.map_input_size[1], self.map_input_size[0]))
        if self.map_key not in probe:
            raise ValueError(f"KeypointMapInput: {name}'s last head predicts "
                             f'{sorted(probe)}, no {self.map_key!r}')
        self.num_maps = probe[self.map_key].shape[1]
        self.encoder = MODELS.build(dict(encoder,
                                         in_channels=3 + self.num_maps))
        self.out_channels = getattr(self.encoder, 'out_channels', None)

    def init_weights(self) -> None:
        """The encoder's initialisation, then the 2D model's checkpoint
        (strict: a checkpoint of another model stops in one line)."""
        super().init_weights()
        if self.checkpoint is None:
            return
        weights = state_dict_of(load_checkpoint_file(self.checkpoint),
                                self.checkpoint)
        check_state_dict_fits(self.keypoint_model, weights, self.checkpoint)
        self.keypoint_model.load_state_dict(weights)

    def train(self, mode: bool = True) -> 'KeypointMapInput':
        super().train(mode)
        self.keypoint_model.eval()  # frozen: its batch norm too
        return self

    def keypoint_maps(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W): the 2D model's maps of ``x`` at ``x``'s size."""
        width, height = self.map_input_size
        with torch.no_grad():
            small = F.interpolate(x, size=(height, width), mode='bilinear',
                                  align_corners=False)
            maps = self.keypoint_model.predict_tensors(small)[self.map_key]
            return F.interpolate(maps.to(x.dtype), size=x.shape[-2:],
                                 mode='bilinear', align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, 3, H, W) + (B, K, H, W) -> the encoder's features
        return self.encoder(torch.cat([x, self.keypoint_maps(x)], dim=1))
