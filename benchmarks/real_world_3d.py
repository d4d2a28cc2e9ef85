"""handkit's 3D RGB models, trained on synthetic hands, on real photos.

    python benchmarks/real_world_3d.py PATH/real_world_testset \\
        [NAME=CONFIG:CHECKPOINT ...] [--mediapipe]

Ge et al.'s real-world test set (CVPR 2019; 583 photos of one person's left
hand, 3D joints; ``GeRealWorldDataset``, not shipped with handkit) through
each model's own test pipeline (its crop of the keypoint box, its hand-side
mirroring), in batches. For each model it prints, in mm:

* MPJPE: the mean joint error, both sets root-relative (the wrist);
* PA-MPJPE: after Procrustes alignment (scale, rotation, translation);
* Ge et al.'s protocol: the prediction moved to the true root and scaled
  to the true middle MCP -> PIP bone (``root_scale_align``), as their
  paper reports on this set;

``--mediapipe`` adds MediaPipe's world landmarks (``HandInferencer``, the
converted full models on LiteRT, each whole photo in; the photos where it
finds no hand are left out and counted). Then the same three for two mean
poses, each the same for every photo:

* the training hands' mean: the average root-relative pose of 300 natural
  synthetic left hands (``configs/_base_/datasets/synthetic_hands.py``'s
  poses and views, capsule and mesh hands; the photos show a left hand),
  what a model that ignores the image would predict;
* the test set's own mean: the average of the 583 true root-relative hands
  (an oracle: it knows this set's average hand and orientation).

Then, for each model, what the unaligned errors are made of: the angle of
the rotation that best turns its root-relative joints onto the truth's
(orthogonal Procrustes, no scale; median, and the share of photos over 90
degrees), the size of its hand over the true one's (median of the centred
joints' norms), and its 2D keypoints' PCK@0.2 in the photo (the keypoint
box's normaliser, as the 2D tables).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from handkit.apis import HandInferencer, init_model
from handkit.datasets import GeRealWorldDataset, SyntheticHandDataset
from handkit.engine.config import load_config_file
from handkit.evaluation.functional import pck_metrics
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


def orientation(predictions: list) -> dict:
    """Rotation to the truth (median degrees, % over 90), size over the
    truth's (median) and 2D PCK@0.2 (%) of a model's prediction dicts."""
    def centred(key):
        joints = root_relative(np.stack(
            [p[key] for p in predictions]).astype(np.float64))
        return joints - joints.mean(1, keepdims=True)
    pred, gt = centred('pred_keypoints_3d'), centred('gt_keypoints_3d')
    u, _, vt = np.linalg.svd(np.swapaxes(gt, 1, 2) @ pred)
    cosine = (np.trace(u @ vt, axis1=1, axis2=2) - 1) / 2
    angle = np.degrees(np.arccos(np.clip(cosine, -1, 1)))
    size = np.linalg.norm(pred, axis=(1, 2)) / np.linalg.norm(gt, axis=(1, 2))
    pred_2d, gt_2d, visible = (np.stack([p[key] for p in predictions])
                               for key in ('pred_keypoints', 'gt_keypoints',
                                           'gt_keypoints_visible'))
    pck = pck_metrics(pred_2d, gt_2d, visible, [0.2])['PCK@0.2']
    return {'rotation': float(np.median(angle)),
            'over 90': float((angle > 90).mean() * 100),
            'size': float(np.median(size)), 'PCK@0.2': pck * 100}


ROOT = Path(__file__).resolve().parents[1]
# the natural hands handkit's synthetic configs train on, read from there
NATURAL_HANDS = load_config_file(str(
    ROOT / 'configs' / '_base_' / 'datasets' / 'synthetic_hands.py')
)['natural_hands']


def training_mean(hand: str, count: int = 300) -> np.ndarray:
    """(21, 3) mean root-relative pose of ``count`` natural synthetic left
    hands of kind ``hand``."""
    dataset = SyntheticHandDataset(num_samples=count, hand=hand,
                                   image_size=64, left_ratio=1.0,
                                   pipeline=[], **NATURAL_HANDS)
    joints = np.stack([dataset.get_data_info(index)['keypoints_3d']
                       for index in range(count)])
    return root_relative(joints).mean(0)


def mediapipe_row(data_root: str) -> tuple:
    """(errors of MediaPipe's world landmarks over the photos where it
    finds a hand, the count of photos without one)."""
    dataset = GeRealWorldDataset(data_root)
    inferencer = HandInferencer(backend='litert')
    preds, gts = [], []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        hands = inferencer(info['img_path'])
        if hands:  # the best palm: one hand per photo
            preds.append(hands[0]['keypoints_3d'])
            gts.append(info['keypoints_3d'])
    return errors(np.stack(preds), np.stack(gts)), len(dataset) - len(gts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the real_world_testset folder')
    parser.add_argument('models', nargs='*', metavar='NAME=CONFIG:CKPT')
    parser.add_argument('--mediapipe', action='store_true',
                        help="also MediaPipe's world landmarks "
                        '(HandInferencer on LiteRT)')
    args = parser.parse_args(argv)
    rows = {}
    if args.mediapipe:
        row, missed = mediapipe_row(args.data_root)
        rows[f'MediaPipe full, world landmarks ({missed} photos without '
             'a hand left out)'] = row
    dataset = GeRealWorldDataset(args.data_root)
    gt = np.stack([dataset.get_data_info(index)['keypoints_3d']
                   for index in range(len(dataset))])
    turns = {}
    for spec in args.models:
        name, files = spec.split('=', 1)
        config, checkpoint = files.rsplit(':', 1)
        model = init_model(config, checkpoint)
        with torch.no_grad():
            predictions, _, _ = predict_dataset(
                model, ge_real_world_cfg(model.cfg, args.data_root),
                mean_pose=False)
        pred = np.stack([p['pred_keypoints_3d'] for p in predictions])
        rows[name] = errors(pred, gt)  # the dataset's order
        turns[name] = orientation(predictions)
    for hand in ('capsule', 'mesh'):
        rows[f"mean pose ({hand} training hands)"] = errors(
            training_mean(hand)[None] + gt[:, :1], gt)
    mean = root_relative(gt).mean(0, keepdims=True).repeat(len(gt), 0)
    rows['mean pose (the test set\'s own, an oracle)'] = errors(
        mean + gt[:, :1], gt)
    width = max(len(name) for name in rows) + 2
    print(f"{len(gt)} photos of Ge et al.'s real-world test set, mm:")
    print(f"{'model':<{width}}{'MPJPE':>10}{'PA-MPJPE':>10}"
          f"{'Ge protocol':>13}")
    for name, row in rows.items():
        print(f"{name:<{width}}{row['MPJPE']:>10.2f}"
              f"{row['PA-MPJPE']:>10.2f}{row['Ge protocol']:>13.2f}")
    if turns:
        print('\nrotation to the truth (median deg, % over 90), size over '
              "the truth's (median), 2D PCK@0.2 %:")
        for name, row in turns.items():
            print(f"{name:<{width}}{row['rotation']:>8.1f}"
                  f"{row['over 90']:>7.0f} %{row['size']:>7.2f}"
                  f"{row['PCK@0.2']:>8.1f}")


if __name__ == '__main__':
    main()
