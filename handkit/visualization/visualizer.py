"""HandVisualizer: mmengine's Visualizer for hand pose predictions.

A thin layer over :mod:`handkit.visualization.draw`: it composes the picture
with :func:`~handkit.visualization.draw.draw_prediction` and hands it to
mmengine's visualisation backends (local files, TensorBoard, ...), or writes
it to a file. Set it in a config with
``visualizer = dict(type='HandVisualizer', vis_backends=vis_backends)``.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.visualization import Visualizer

from handkit.registry import VISUALIZERS
from handkit.visualization.draw import GT_COLOR, draw_prediction


@VISUALIZERS.register_module()
class HandVisualizer(Visualizer):
    """Draw hand predictions and send them to the backends.

    Args:
        name: instance name (mmengine's visualizers are named singletons).
        vis_backends: backend configs, e.g. ``[dict(type='LocalVisBackend')]``.
        save_dir: root folder of the backends' files.
        score_threshold: predicted keypoints scoring lower are not drawn.
        alpha: opacity of the map overlay.
        gt_color: BGR colour of the ground-truth skeleton.
        show_scores: write predicted scores next to the keypoints.
        **kwargs: passed to ``mmengine.visualization.Visualizer``.
    """

    def __init__(self, name: str = 'visualizer',
                 vis_backends: Optional[Sequence[dict]] = None,
                 save_dir: Optional[str] = None,
                 score_threshold: float = 0.0, alpha: float = 0.5,
                 gt_color: Sequence[int] = GT_COLOR,
                 show_scores: bool = False, **kwargs) -> None:
        super().__init__(name=name, vis_backends=vis_backends,
                         save_dir=save_dir, **kwargs)
        self.score_threshold = score_threshold
        self.alpha = alpha
        self.gt_color = tuple(gt_color)
        self.show_scores = show_scores

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: dict, draw_gt: bool = True,
                       draw_maps: bool = True, step: int = 0,
                       out_file: Optional[Union[str, os.PathLike]] = None
                       ) -> np.ndarray:
        """Draw one prediction and record it.

        Args:
            name: image identifier for the backends.
            image: BGR uint8 (H, W, 3) in whose pixels the keypoints are.
            data_sample: one prediction dict of the estimator
                (docs/architecture.md section 5), optionally with
                ``warp_mat`` / ``input_size`` to place crop maps on the image
                (see :func:`~handkit.visualization.draw.draw_prediction`).
            draw_gt: draw the ground truth (``gt_color``) under the
                prediction.
            draw_maps: add the structure-map (or heatmap) overlay panel.
            step: global step for the backends.
            out_file: also write the picture there (BGR, any OpenCV
                format); it goes to the backends in any case.

        Returns:
            The composed BGR uint8 image.
        """
        drawn = draw_prediction(
            image, data_sample, draw_gt=draw_gt, draw_maps=draw_maps,
            show_scores=self.show_scores,
            score_threshold=self.score_threshold, alpha=self.alpha,
            gt_color=self.gt_color)
        if out_file is not None:
            folder = osp.dirname(osp.abspath(out_file))
            os.makedirs(folder, exist_ok=True)
            if not cv2.imwrite(str(out_file), drawn):
                raise ValueError(f'cannot write image file {out_file}')
        # mmengine's backends take RGB images (none configured: nothing).
        self.add_image(name, cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB), step)
        return drawn
