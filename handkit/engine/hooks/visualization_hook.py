"""HandVisualizationHook: draw validation predictions during training.

Each drawn validation writes a few pictures of the first batch, in the style
of the NSRM paper's Figures 7-8: the ground-truth skeleton (white) under the
predicted one (one colour per finger), beside the predicted structure maps
(or keypoint confidence maps) blended over the image. They go to PNG files
and to ``runner.visualizer.add_image``, i.e. to every configured backend
(TensorBoard when ``TensorboardVisBackend`` is configured and installed;
this hook never imports TensorBoard itself).
"""
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from handkit.datasets.transforms import LoadImage
from handkit.registry import HOOKS
from handkit.visualization.draw import draw_prediction, to_input_frame


@HOOKS.register_module()
class HandVisualizationHook(Hook):
    """Draw up to ``num_samples`` predictions of each drawn validation.

    Args:
        interval: draw the validations that run at an epoch divisible by
            ``interval`` (``runner.epoch``: the number of finished epochs).
        num_samples: how many samples of the first validation batch to draw.
        out_dir: folder of the PNGs, relative to ``runner.work_dir`` (or
            absolute); files are ``epoch_<epoch>_<i>.png``.
        draw_maps: add the map overlay panel. The estimator returns its maps
            only when ``test_cfg['output_maps']`` is set: the hook sets it in
            ``before_val`` and restores it after the first batch, so the
            rest of the validation runs as configured.
        score_threshold: predicted keypoints scoring lower are not drawn.

    Which image is drawn on: the original image, read from the sample's
    ``img_path`` with :class:`LoadImage`, when that path is a file (maps are
    warped back onto it with the sample's ``warp_mat``); otherwise (e.g.
    synthetic samples, whose ``img_path`` is ``synthetic://...``) the network
    input itself, the batch's uint8 ``inputs`` crop, with the keypoints mapped
    into it by ``warp_mat``.
    """

    priority = 'NORMAL'

    def __init__(self, interval=1, num_samples=4, out_dir='vis',
                 draw_maps=True, score_threshold=0.0):
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
        self._saved_output_maps = None  # (test_cfg, previous value) while set

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def _drawing(self, runner):
        return runner.epoch % self.interval == 0

    def before_val(self, runner):
        if not (self.draw_maps and self._drawing(runner)):
            return
        test_cfg = self._model(runner).test_cfg
        self._saved_output_maps = (test_cfg, test_cfg.get('output_maps'))
        test_cfg['output_maps'] = True

    def _restore_output_maps(self):
        if self._saved_output_maps is None:
            return
        test_cfg, previous = self._saved_output_maps
        if previous is None:
            test_cfg.pop('output_maps', None)
        else:
            test_cfg['output_maps'] = previous
        self._saved_output_maps = None

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        if batch_idx != 0:
            return
        self._restore_output_maps()
        if not self._drawing(runner) or not is_main_process():
            return
        # The data preprocessor splits the collated batch into per-sample
        # metas (warp_mat, input_size, img_path) whatever its collation.
        metas = self._model(runner).data_preprocessor(
            data_batch, False)['data_samples']['metas']
        out_dir = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(out_dir, exist_ok=True)
        count = min(self.num_samples, len(outputs))
        for index, prediction, meta in zip(range(count), outputs, metas):
            if 'pred_keypoints' not in prediction or 'warp_mat' not in meta:
                continue  # nothing 2D to draw (e.g. a 3D-only depth model)
            image, view = self._image_and_view(
                data_batch['inputs'][index], prediction, meta)
            drawn = draw_prediction(image, view, draw_maps=self.draw_maps,
                                    score_threshold=self.score_threshold)
            path = osp.join(out_dir, f'epoch_{runner.epoch}_{index}.png')
            if not cv2.imwrite(path, drawn):
                raise ValueError(f'HandVisualizationHook: cannot write {path}')
            runner.visualizer.add_image(
                f'val_sample_{index}', cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB),
                step=runner.epoch)

    def after_val(self, runner):
        # A validation without batches never reached after_val_iter.
        self._restore_output_maps()

    @staticmethod
    def _image_and_view(packed_input, prediction, meta):
        """The image to draw on and the prediction in its pixels."""
        view = dict(prediction, warp_mat=np.asarray(meta['warp_mat']),
                    input_size=tuple(meta['input_size']))
        img_path = meta.get('img_path')
        if isinstance(img_path, str) and osp.isfile(img_path):
            return LoadImage().transform(dict(img_path=img_path))['img'], view
        # (3, H, W) uint8 BGR as PackHandInputs packed it, or a (1, H, W)
        # float depth crop in [-1, 1] (near = -1), shown near-bright grey.
        image = packed_input.detach().cpu().numpy().transpose(1, 2, 0)
        if image.dtype != np.uint8:
            grey = np.clip((1.0 - image[..., :1]) * 127.5, 0, 255)
            image = np.repeat(grey.astype(np.uint8), 3, axis=2)
        return np.ascontiguousarray(image), to_input_frame(view)
