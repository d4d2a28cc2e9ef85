"""The mean-pose baseline (handkit.evaluation.mean_pose)."""
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.evaluation.mean_pose import _metas, mean_pose_predictions
from handkit.geometry import apply_affine

CONFIG = (Path(__file__).resolve().parents[2] / 'configs' / 'quickstart' /
          'nsrm_lpm_g1g6_synthetic.py')


def small_cfg():
    cfg = Config.fromfile(str(CONFIG))
    cfg.test_dataloader.dataset.update(num_samples=3, cache_dir=None)
    init_default_scope('handkit')
    return cfg


def test_every_test_crop_gets_the_mean_training_crop_layout():
    cfg = small_cfg()
    pred, gt, visible = mean_pose_predictions(cfg, num_train=2)
    dataset = cfg.test_dataloader.dataset.to_dict()
    train = _metas(dataset, split='train', indices=2, test_mode=False)
    test = _metas(dataset)
    mean_crop = np.mean([apply_affine(m['keypoints'], m['warp_mat'])
                         for m in train], axis=0)
    assert pred.shape == gt.shape == (3, 21, 2) and visible.shape == (3, 21)
    for sample, meta in zip(pred, test):
        # mapped into each test crop, the prediction is the mean layout
        np.testing.assert_allclose(apply_affine(sample, meta['warp_mat']),
                                   mean_crop, atol=1e-3)
    np.testing.assert_array_equal(gt, [m['keypoints'] for m in test])


def test_another_test_dataset_gets_the_same_layout():
    cfg = small_cfg()
    other = dict(cfg.test_dataloader.dataset.to_dict(), split='val',
                 num_samples=2)
    pred, gt, _ = mean_pose_predictions(cfg, num_train=2,
                                        test_dataset=other)
    assert pred.shape == (2, 21, 2)
    own, _, _ = mean_pose_predictions(cfg, num_train=2)
    val = _metas(other)
    test = _metas(cfg.test_dataloader.dataset.to_dict())
    np.testing.assert_allclose(
        apply_affine(pred[0], val[0]['warp_mat']),
        apply_affine(own[0], test[0]['warp_mat']), atol=1e-3)
    np.testing.assert_array_equal(gt, [m['keypoints'] for m in val])
