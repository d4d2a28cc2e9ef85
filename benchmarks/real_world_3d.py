"""handkit's 3D RGB models, trained on synthetic hands, on real photos.

    python benchmarks/real_world_3d.py PATH/real_world_testset \\
        NAME=CONFIG:CHECKPOINT [NAME=CONFIG:CHECKPOINT ...]

Ge et al.'s real-world test set (CVPR 2019; 583 photos of one person's left
hand, 3D joints; ``GeRealWorldDataset``, not shipped with handkit) through
each model's own test pipeline (its crop of the keypoint box, its hand-side
mirroring), in batches. For each model it prints, in mm:

* MPJPE: the mean joint error, both sets root-relative (the wrist);
* PA-MPJPE: after Procrustes alignment (scale, rotation, translation);
* Ge et al.'s protocol: the prediction moved to the true root and scaled
  to the true middle MCP -> PIP bone (``root_scale_align``), as their
  paper reports on this set;

and the same three for the mean pose: the average of the 583 true
root-relative hands themselves, the same for every photo (an oracle: it
knows the test set's average hand and orientation).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from handkit.apis import init_model
from handkit.evaluation.functional3d import (epe, procrustes_align,
                                             root_relative, root_scale_align)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_photos import ge_real_world_cfg, predict_dataset  # noqa: E402


def errors(pred: np.ndarray, gt: np.ndarray) -> dict:
    """MPJPE, PA-MPJPE and Ge et al.'s protocol, mm, (N, 21, 3) each."""
    pred_rel, gt_rel = root_relative(pred), root_relative(gt)
    return {'MPJPE': epe(pred_rel, gt_rel),
            'PA-MPJPE': epe(procrustes_align(pred_rel, gt_rel), gt_rel),
            'Ge protocol': epe(root_scale_align(pred, pred, gt), gt)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the real_world_testset folder')
    parser.add_argument('models', nargs='+', metavar='NAME=CONFIG:CKPT')
    args = parser.parse_args(argv)
    rows = {}
    gt = None
    for spec in args.models:
        name, files = spec.split('=', 1)
        config, checkpoint = files.rsplit(':', 1)
        model = init_model(config, checkpoint)
        with torch.no_grad():
            predictions, _, _ = predict_dataset(
                model, ge_real_world_cfg(model.cfg, args.data_root),
                mean_pose=False)
        pred = np.stack([p['pred_keypoints_3d'] for p in predictions])
        gt = np.stack([p['gt_keypoints_3d'] for p in predictions])
        rows[name] = errors(pred, gt)
    mean = root_relative(gt).mean(0, keepdims=True).repeat(len(gt), 0)
    rows['mean pose (the test set\'s own)'] = errors(mean + gt[:, :1], gt)
    width = max(len(name) for name in rows) + 2
    print(f"{len(gt)} photos of Ge et al.'s real-world test set, mm:")
    print(f"{'model':<{width}}{'MPJPE':>10}{'PA-MPJPE':>10}"
          f"{'Ge protocol':>13}")
    for name, row in rows.items():
        print(f"{name:<{width}}{row['MPJPE']:>10.2f}"
              f"{row['PA-MPJPE']:>10.2f}{row['Ge protocol']:>13.2f}")


if __name__ == '__main__':
    main()
