"""PCK of a trivial predictor on the quickstart's test split: the mean pose.

    python benchmarks/quickstart_mean_pose.py [--num-train 300]

The mean keypoint layout in the network-input crop, over ``--num-train``
training samples, is mapped back into every test image and scored with the
quickstart's PCK thresholds (``handkit.evaluation.mean_pose``). A trained
model is only useful where it beats this figure; ``tools/quickstart.py``
prints it under its own results.
"""
import argparse
from pathlib import Path

from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.evaluation.mean_pose import mean_pose_pck

CONFIG = (Path(__file__).resolve().parents[1] / 'configs' / 'quickstart' /
          'nsrm_lpm_g1g6_synthetic.py')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-train', type=int, default=300)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(CONFIG)
    init_default_scope('handkit')
    thresholds = [t for t in cfg.test_evaluator[0].thresholds]
    metrics = mean_pose_pck(cfg, thresholds, args.num_train)
    print('mean pose  ' + '  '.join(f'PCK@{t:.2f} {100 * metrics[f"PCK@{t:g}"]:.2f}'
                                    for t in thresholds)
          + f'  ave {100 * metrics["PCK_ave"]:.2f}')


if __name__ == '__main__':
    main()
