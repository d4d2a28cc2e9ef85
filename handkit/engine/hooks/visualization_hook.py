"""HandVisualizationHook: draw validation predictions during training.

Each drawn validation writes a few pictures of the first batch, in the style
of the NSRM paper's Figures 7-8: the ground-truth skeleton (white) under the
predicted one (one colour per finger), beside the predicted structure maps
(or keypoint confidence maps) blended over the image. They are drawn by
``HandVisualizer.add_datasample``, which writes the PNG files and sends them
to every configured backend
(TensorBoard when ``TensorboardVisBackend`` is configured and installed;
this hook never imports TensorBoard itself).
"""
import os.path as osp
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from handkit.datasets.transforms import LoadImage
from handkit.registry import HOOKS
from handkit.visualization.draw import to_input_frame
from handkit.visualization.visualizer import HandVisualizer

if TYPE_CHECKING:
    from mmengine.runner import Runner


@HOOKS.register_module()
class HandVisualizationHook(Hook):
    """Draw up to ``num_samples`` predictions of each drawn validation.

    Args:
        interval: draw the validations that run at an epoch divisible by
            ``interval`` (``runner.epoch``: the number of finished epochs).
        num_samples: how many samples of the first validation batch to draw.
        out_dir: folder of the PNGs, relative to ``runner.work_dir`` (or
            absolute); files are ``epoch_<epoch>_<i>.png``.
        draw_maps: add the map overlay panel: the first batch is predicted
            once more, with ``output_maps=True`` (the validation itself runs
            as configured).
        score_threshold: predicted keypoints scoring lower are not drawn.

    Which image is drawn on: the original image, read from the sample's
    ``img_path`` with :class:`LoadImage`, when that path is a file (maps are
    warped back onto it with the sample's ``warp_mat``); otherwise (e.g.
    synthetic samples, whose ``img_path`` is ``synthetic://...``) the network
    input itself, the batch's uint8 ``inputs`` crop, with the keypoints mapped
    into it by ``warp_mat``.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1, num_samples: int = 4,
                 out_dir: str = 'vis', draw_maps: bool = True,
                 score_threshold: float = 0.0) -> None:
        if int(interval) != interval or interval < 1:
            raise ValueError(f'HandVisualizationHook: interval must be an '
                             f'integer >= 1, got {interval!r}')
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f'HandVisualizationHook: num_samples must be an '
                             f'integer >= 1, got {num_samples!r}')
        self.interval = int(interval)
        self.num_samples = int(num_samples)
        self.out_dir = out_dir
        self.draw_maps = draw_maps
        self.score_threshold = score_threshold

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def _drawing(self, runner):
        return runner.epoch % self.interval == 0

    def before_run(self, runner: 'Runner') -> None:
        if not isinstance(runner.visualizer, HandVisualizer):
            raise ValueError(
                'HandVisualizationHook draws through HandVisualizer.'
                'add_datasample; the config\'s visualizer is a '
                f'{type(runner.visualizer).__name__} (set visualizer=dict('
                "type='HandVisualizer', ...))")

    def after_val_iter(self, runner: 'Runner', batch_idx: int,
                       data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence[dict]] = None) -> None:
        if (batch_idx != 0 or not self._drawing(runner)
                or not is_main_process()):
            return
        model = self._model(runner)
        if self.draw_maps:
            # The validation predicts without maps; the drawn batch is
            # predicted once more with them, leaving the model untouched.
            with torch.no_grad():
                outputs = model(**model.data_preprocessor(data_batch, False),
                                mode='predict', output_maps=True)
        out_dir = osp.join(runner.work_dir, self.out_dir)
        epoch = runner.epoch
        count = min(self.num_samples, len(outputs))
        for index, prediction in zip(range(count), outputs):
            if 'pred_keypoints' not in prediction or 'warp_mat' not in \
                    prediction:
                continue  # nothing 2D to draw (e.g. a 3D-only depth model)
            image, view = self._image_and_view(data_batch['inputs'][index],
                                               prediction)
            runner.visualizer.add_datasample(
                f'val_sample_{index}', image, view, draw_maps=self.draw_maps,
                step=epoch,
                out_file=osp.join(out_dir, f'epoch_{epoch}_{index}.png'))

    @staticmethod
    def _image_and_view(packed_input, prediction):
        """The image to draw on and the prediction in its pixels."""
        view = dict(prediction, warp_mat=np.asarray(prediction['warp_mat']),
                    input_size=tuple(prediction['input_size']))
        img_path = prediction.get('img_path')
        if isinstance(img_path, str) and osp.isfile(img_path):
            return LoadImage().transform(dict(img_path=img_path))['img'], view
        # (3, H, W) uint8 BGR as PackHandInputs packed it, or a (1, H, W)
        # float depth crop in [-1, 1] (near = -1), shown near-bright grey.
        image = packed_input.detach().cpu().numpy().transpose(1, 2, 0)
        if image.dtype != np.uint8:
            grey = np.clip((1.0 - image[..., :1]) * 127.5, 0, 255)
            image = np.repeat(grey.astype(np.uint8), 3, axis=2)
        return np.ascontiguousarray(image), to_input_frame(view)
