"""The mean-pose baseline: the floor every 2D accuracy figure is read against.

A model that predicts the average keypoint layout of the training crops for
every test crop learns nothing about the image; handkit quotes its PCK next
to every 2D result (README, quickstart). The layout is averaged in the
network-input frame (where all crops share the hand's scale and position)
and mapped back into each test image through that sample's inverse
``warp_mat``, exactly as a model's prediction would be.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from handkit.evaluation.functional import pck_metrics
from handkit.geometry import apply_affine, invert_affine
from handkit.registry import DATASETS


def _metas(dataset_cfg: dict, **overrides) -> list:
    dataset = DATASETS.build(dict(dataset_cfg, **overrides))
    return [dataset[index]['data_samples']['meta']
            for index in range(len(dataset))]


def mean_pose_predictions(cfg: Config, num_train: int = 300,
                          test_dataset: Optional[dict] = None
                          ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean training pose as a prediction for the config's test split.

    Args:
        cfg: a config; its test dataset, built again with
            ``split='train'``, gives the training crops (test pipeline: no
            augmentation).
        num_train: training samples the mean is taken over (the first).
        test_dataset: the dataset config to predict for; None: the
            config's test dataset (e.g. real photos for a model trained on
            synthetic hands, ``benchmarks/real_photos.py``).

    Returns:
        ``(pred, gt, visible)``: (N, K, 2), (N, K, 2) original pixels and
        (N, K) of the N test samples.
    """
    pred, test = _mean_pose(cfg, num_train, test_dataset)
    gt = np.stack([m['keypoints'] for m in test])
    visible = np.stack([m['keypoints_visible'] for m in test])
    return pred, gt, visible


def mean_pose_samples(cfg: Config, num_train: int = 300,
                      test_dataset: Optional[dict] = None) -> List[dict]:
    """:func:`mean_pose_predictions` as the per-sample dicts a metric's
    ``process`` reads (``pred_keypoints``, ``gt_keypoints``,
    ``gt_keypoints_visible``, ``bbox`` and, when the dataset has them,
    ``gt_occluded``), so ``PCKMetric`` scores the mean pose exactly as it
    scores a model, occluded / visible split included."""
    pred, test = _mean_pose(cfg, num_train, test_dataset)
    samples = []
    for prediction, meta in zip(pred, test):
        sample = dict(pred_keypoints=prediction,
                      gt_keypoints=meta['keypoints'],
                      gt_keypoints_visible=meta['keypoints_visible'])
        for key, name in (('bbox', 'bbox'), ('occluded', 'gt_occluded')):
            if key in meta:
                sample[name] = meta[key]
        samples.append(sample)
    return samples


def _mean_pose(cfg, num_train, test_dataset):
    """(N, K, 2) mean-pose predictions and the N test metas."""
    dataset_cfg = cfg.test_dataloader.dataset.to_dict()
    train = _metas(dataset_cfg, split='train', indices=num_train,
                   test_mode=False)
    test = _metas(dataset_cfg if test_dataset is None else test_dataset)
    mean_crop = apply_affine(np.stack([m['keypoints'] for m in train]),
                             np.stack([m['warp_mat'] for m in train])).mean(0)
    # (K, 2) points under (N, 2, 3) matrices: one (N, K, 2) prediction
    pred = apply_affine(mean_crop, invert_affine(
        np.stack([m['warp_mat'] for m in test])))
    return pred, test


def mean_pose_pck(cfg: Config, thresholds: Sequence[float],
                  num_train: int = 300) -> Dict[str, float]:
    """PCK of :func:`mean_pose_predictions`: ``{'PCK@t': ..., 'PCK_ave':
    ...}`` as :class:`PCKMetric` names them."""
    return pck_metrics(*mean_pose_predictions(cfg, num_train), thresholds)
