"""Draw a 3D-joint model's predictions on its synthetic test hands.

    python benchmarks/joints_3d_figure.py configs/zhou/detnet_synthetic.py \\
        work_dirs/detnet/epoch_4.pth --out docs/images/detnet_synthetic_3d.png
    python benchmarks/joints_3d_figure.py CONFIG CKPT --out PNG \\
        [--num 4] [--split-size N]

Any model whose predictions carry ``pred_keypoints_3d`` (mm) and 2D
``pred_keypoints`` from an image: DetNet (Zhou et al.), PoseNet + PosePrior
(Zimmermann & Brox), Cai et al., the depth hourglass (its depth crop
drawn in grey); IKNet takes 3D joints, not an image; the mesh models have
``benchmarks/mesh_figure.py``.

The model (:func:`handkit.apis.init_model`, the estimator's 'predict' mode)
runs over the config's own test split, or its first ``--split-size``
hands. For the first ``--num`` of them: the network's input crop with the
predicted 2D skeleton over the true one (white), beside the front (x-y)
and side (z-y) views of the predicted 3D joints over the true ones
(:func:`handkit.visualization.draw3d.draw_3d_views`), each hand titled
with its root-relative MPJPE (mm). It prints, from
:class:`handkit.evaluation.metrics.Keypoint3DMetric` (root-relative, the
unprefixed ``EPE_3D`` of the configs' test evaluators): the model's MPJPE
over the drawn hands and over the split, and the mean-pose baseline of the
split (the MPJPE of the split's own mean root-relative pose, an oracle
that knows the test set's average hand); then the shape of the predicted
hands against the true ones (:func:`shape_report`: PA-MPJPE, palm width,
spread about the centroid), which shows a hand shrunk toward an average
one.
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from handkit.apis import init_model
from handkit.datasets.collate import hand_collate
from handkit.evaluation.functional3d import procrustes_align
from handkit.evaluation.metrics import Keypoint3DMetric
from handkit.fileio import atomic_write
from handkit.registry import DATASETS
from handkit.visualization.draw import (draw_prediction, side_by_side,
                                        to_input_frame)
from handkit.visualization.draw3d import draw_3d_views

PANEL = 256  # each drawing's side in pixels: the crop and both 3D views


def hand_panel(crop: np.ndarray, prediction: dict,
               mirrored: bool = False) -> np.ndarray:
    """The input crop (BGR, scaled to ``PANEL``) with the predicted 2D
    skeleton over the true one (a model that predicts no 2D keypoints, as
    the depth hourglass: the plain crop), beside the 3D views. A hand
    ``mirrored`` into the model's side (``mirror_side``) has its crop
    flipped back, so that it faces as its 3D joints do (mirrored back by
    the estimator)."""
    scale = PANEL / crop.shape[0]
    if crop.dtype != np.uint8:  # a depth crop: float32 (H, W, 1) in [-1, 1]
        crop = cv2.cvtColor(np.uint8(np.clip((crop[..., 0] + 1) * 127.5, 0,
                                             255)), cv2.COLOR_GRAY2BGR)
    crop = cv2.resize(crop, (PANEL, PANEL), interpolation=cv2.INTER_CUBIC)
    if 'pred_keypoints' in prediction:
        frame = to_input_frame(prediction)
        for key in ('pred_keypoints', 'gt_keypoints'):
            frame[key] = scale * np.asarray(frame[key])
        crop = draw_prediction(crop, frame, draw_maps=False)
    if mirrored:
        crop = np.ascontiguousarray(crop[:, ::-1])
    return side_by_side(
        crop,
        draw_3d_views(prediction['pred_keypoints_3d'],
                      prediction['gt_keypoints_3d'], size=PANEL))


def shape_report(joints: dict) -> str:
    """How far the predicted hands are shrunk toward an average hand, over
    the split: the PA-MPJPE (FreiHAND's similarity alignment, so the global
    rotation and size are forgiven), the palm width (index MCP -> little
    MCP) and the joints' mean distance from their own centroid, predicted
    against true. A model that cannot tell the hand's side or roll
    averages the fingers onto one line: its palm narrows while its finger
    lengths hold (docs/models_3d.md, "Why the 3D hands shrank")."""
    pred, gt = joints['pred'], joints['gt']
    aligned = procrustes_align(pred, gt)
    pa_mpjpe = np.linalg.norm(aligned - gt, axis=-1).mean()

    def palm_width(points):
        return np.linalg.norm(points[:, 5] - points[:, 17], axis=-1).mean()

    def spread(points):
        return np.linalg.norm(points - points.mean(1, keepdims=True),
                              axis=-1).mean()

    return (f'shape: PA-MPJPE {pa_mpjpe:.2f} mm; palm width (index -> '
            f'little MCP) {palm_width(pred):.1f} mm predicted, '
            f'{palm_width(gt):.1f} true; joints from their centroid '
            f'{spread(pred):.1f} mm predicted, {spread(gt):.1f} true')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True,
                        help='.png or .jpg (smaller for the docs)')
    parser.add_argument('--num', type=int, default=4)
    parser.add_argument('--split-size', type=int, default=None,
                        help='score only the first N test hands (default: '
                        "the config's whole test split)")
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    model = init_model(args.config, args.checkpoint)
    loader = model.cfg.test_dataloader
    dataset_cfg = dict(loader.dataset)
    if args.split_size is not None:
        dataset_cfg['indices'] = args.split_size
    dataset = DATASETS.build(dataset_cfg)
    if not 1 <= args.num <= len(dataset):
        parser.error(f'--num must be in [1, {len(dataset)}], got {args.num}')
    metric = Keypoint3DMetric(root_relative=True, mean_pose_baseline=True)
    metric.dataset_meta = dataset.metainfo
    panels, joints = [], {'pred': [], 'gt': []}
    for start in range(0, len(dataset), loader.batch_size):
        samples = [dataset[index] for index in range(
            start, min(start + loader.batch_size, len(dataset)))]
        with torch.no_grad():
            predictions = model(**model.data_preprocessor(
                hand_collate(samples), False), mode='predict')
        metric.process(None, predictions)
        for prediction in predictions:
            for key in joints:
                joints[key].append(np.asarray(prediction[f'{key}_keypoints_3d'],
                                              np.float64))
        for sample, prediction in zip(samples, predictions):
            if len(panels) < args.num:
                panels.append(hand_panel(np.ascontiguousarray(
                    sample['inputs'].permute(1, 2, 0).numpy()), prediction,
                    sample['data_samples']['meta'].get('hand_mirrored',
                                                       False)))
    errors = [metric.compute_metrics([record])['EPE_3D']
              for record in metric.results[:args.num]]
    split = metric.compute_metrics(metric.results)
    drawn = metric.compute_metrics(metric.results[:args.num])['EPE_3D']
    scored = (f'the whole test split ({len(dataset)} hands)'
              if args.split_size is None
              else f'the first {len(dataset)} test hands (--split-size)')
    print(f'root-relative MPJPE over {scored}: model '
          f"{split['EPE_3D']:.2f} mm, mean-pose baseline "
          f"{split['EPE_3D_mean_pose']:.2f} mm")
    print(f'root-relative MPJPE of the {args.num} drawn hands: {drawn:.2f} mm')
    print(shape_report({key: np.stack(value)
                        for key, value in joints.items()}))

    cols = min(args.num, 2)
    rows = -(-args.num // cols)
    figure, axes = plt.subplots(rows, cols, figsize=(6.2 * cols,
                                                     2.5 * rows + 0.3),
                                squeeze=False)
    for axis in axes.flat:
        axis.axis('off')
    for axis, panel, error in zip(axes.flat, panels, errors):
        axis.imshow(panel[..., ::-1])
        axis.set_title(f'MPJPE {error:.1f} mm (root-relative)', fontsize=9)
    figure.suptitle(
        f'{Path(args.config).name}: input crop, predicted 2D skeleton | '
        'front and side views of the predicted 3D joints; true ones white',
        fontsize=9)
    figure.tight_layout()
    with atomic_write(args.out, 'wb') as file:
        figure.savefig(file, format=Path(args.out).suffix.lstrip('.').lower(),
                       dpi=80)
    print(f'{args.out}: {args.num} hands')
    return 0


if __name__ == '__main__':
    sys.exit(main())
