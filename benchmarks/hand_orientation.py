"""How well a 3D model gets the hand's orientation: its long axis and roll.

    python benchmarks/hand_orientation.py CONFIG CHECKPOINT \\
        [--num N] [--cfg-options KEY=VALUE ...]

For the first ``--num`` hands of the config's test split (all by default),
from the predicted and true root-relative 3D joints:

* the **long axis**: the direction wrist -> middle MCP (joints 0 -> 9);
* the **palm normal**: the long axis crossed with the index -> little MCP
  direction (5 -> 17) made orthogonal to it, so it tells the palm from the
  back.

It prints the mean and median angle between predicted and true long axes
and palm normals, and the share of hands whose palm normal is off by more
than 90 degrees: a hand seen from the palm predicted as seen from the back
(or the reverse). A model that cannot tell the two scores about 50 % there;
a right long axis with a flipped palm is what a squared joint or vertex
loss turns into thin, half-curled hands (docs/boukhayma.md, docs/ge.md).

It also prints the **extents**: per hand the principal extents (the
singular values of the centred points, largest first) of the predicted
joints, and of the predicted vertices where the model gives them, over
the true ones', averaged over the hands. A model that is unsure of the
hand's roll and predicts the average over the rolls keeps the extent
along the hand and shrinks the other two (1.0 each is the true size).
"""
import argparse
import sys

import numpy as np
import torch
from mmengine.config import DictAction

from handkit.apis import init_model
from handkit.datasets.collate import hand_collate
from handkit.registry import DATASETS

WRIST, INDEX_MCP, MIDDLE_MCP, LITTLE_MCP = 0, 5, 9, 17


def hand_axes(joints: np.ndarray):
    """(N, 21, 3) joints -> unit long axes (N, 3) and palm normals (N, 3)."""
    long_axis = joints[:, MIDDLE_MCP] - joints[:, WRIST]
    long_axis /= np.linalg.norm(long_axis, axis=-1, keepdims=True)
    across = joints[:, LITTLE_MCP] - joints[:, INDEX_MCP]
    across -= (across * long_axis).sum(-1, keepdims=True) * long_axis
    across /= np.linalg.norm(across, axis=-1, keepdims=True)
    return long_axis, np.cross(long_axis, across)


def angles(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Degrees between unit vectors, row by row."""
    return np.degrees(np.arccos(np.clip((pred * true).sum(-1), -1, 1)))


def orientation_errors(pred_joints: np.ndarray,
                       true_joints: np.ndarray) -> dict:
    """Long-axis and palm-normal angles (degrees) of (N, 21, 3) joints."""
    pred_axis, pred_normal = hand_axes(pred_joints)
    true_axis, true_normal = hand_axes(true_joints)
    return dict(long_axis=angles(pred_axis, true_axis),
                palm_normal=angles(pred_normal, true_normal))


def principal_extents(points: np.ndarray) -> np.ndarray:
    """(N, P, 3) point sets -> (N, 3) RMS spreads along their principal
    axes, largest first."""
    centred = points - points.mean(1, keepdims=True)
    return np.linalg.svd(centred, compute_uv=False) / np.sqrt(
        points.shape[1])


def extent_ratios(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(3,) mean over the hands of predicted / true principal extents."""
    return (principal_extents(pred) / principal_extents(true)).mean(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num', type=int, default=None)
    parser.add_argument('--batch', type=int, default=50)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    model = init_model(args.config, args.checkpoint,
                       cfg_options=args.cfg_options)
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    count = len(dataset) if args.num is None else min(args.num, len(dataset))
    pred, true, pred_v, true_v = [], [], [], []
    for start in range(0, count, args.batch):
        indices = range(start, min(count, start + args.batch))
        with torch.no_grad():
            batch = model.data_preprocessor(
                hand_collate([dataset[index] for index in indices]), False)
            predictions = model(**batch, mode='predict')
        infos = [dataset.get_data_info(index) for index in indices]
        pred += [p['pred_keypoints_3d'] for p in predictions]
        true += [info['keypoints_3d'] for info in infos]
        if all('pred_vertices' in p and info.get('vertices') is not None
               for p, info in zip(predictions, infos)):
            pred_v += [p['pred_vertices'] for p in predictions]
            true_v += [info['vertices'] for info in infos]
    errors = orientation_errors(np.asarray(pred, np.float64),
                                np.asarray(true, np.float64))
    axis, normal = errors['long_axis'], errors['palm_normal']
    print(f'{args.config}: {count} test hands')
    print(f'long axis:   mean {axis.mean():.1f}, median '
          f'{np.median(axis):.1f} degrees')
    print(f'palm normal: mean {normal.mean():.1f}, median '
          f'{np.median(normal):.1f} degrees; flipped (> 90 degrees) '
          f'{100 * (normal > 90).mean():.0f} % of the hands')
    sets = [('joints', pred, true)]
    if len(pred_v) == count:
        sets.append(('vertices', pred_v, true_v))
    for name, predicted, truth in sets:
        ratios = extent_ratios(np.asarray(predicted, np.float64),
                               np.asarray(truth, np.float64))
        print(f'extents of the {name}, predicted / true: ' +
              ', '.join(f'{100 * r:.0f} %' for r in ratios) +
              ' (along the hand first)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
