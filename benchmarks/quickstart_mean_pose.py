"""PCK of a trivial predictor on the quickstart's test split: the mean pose.

    python benchmarks/quickstart_mean_pose.py [--num-train 300]

The mean keypoint layout in the network-input crop, over ``--num-train``
training samples, is mapped back into every test image and scored with the
quickstart's PCK thresholds. A trained model is only useful where it beats
this figure (printed next to the quickstart's results in README.md).
"""
import argparse
from pathlib import Path

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.transforms import apply_affine
from handkit.evaluation.functional import keypoint_box_size, pck
from handkit.registry import DATASETS

CONFIG = (Path(__file__).resolve().parents[1] / 'configs' / 'quickstart' /
          'cpm_synthetic.py')


def crops(cfg, split, num):
    """(keypoints, visible, warp_mat) of ``num`` samples of a split."""
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(split=split, num_samples=num)
    dataset = DATASETS.build(dataset_cfg)
    metas = [dataset[i]['data_samples']['meta'] for i in range(num)]
    return [(m['keypoints'], m['keypoints_visible'], m['warp_mat'])
            for m in metas]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-train', type=int, default=300)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(CONFIG)
    init_default_scope('handkit')
    train = crops(cfg, 'train', args.num_train)
    test = crops(cfg, 'test', cfg.test_dataloader.dataset.num_samples)
    mean_crop = np.mean([apply_affine(k, w) for k, _, w in train], axis=0)
    pred = np.stack([apply_affine(mean_crop, cv2.invertAffineTransform(w))
                     for _, _, w in test])
    gt = np.stack([k for k, _, _ in test])
    visible = np.stack([v for _, v, _ in test])
    thresholds = cfg.test_evaluator.thresholds
    values = pck(pred, gt, visible, keypoint_box_size(gt, visible),
                 thresholds)
    print('mean pose  ' + '  '.join(f'PCK@{t:.2f} {100 * v:.2f}'
                                    for t, v in zip(thresholds, values))
          + f'  ave {100 * values.mean():.2f}')


if __name__ == '__main__':
    main()
