"""Draw a mesh model's predicted meshes over the synthetic test images.

    python benchmarks/mesh_figure.py configs/ge/ge_synthetic.py \\
        work_dirs/ge_synthetic/epoch_8.pth --out docs/images/ge_synthetic.png
    python benchmarks/mesh_figure.py \\
        configs/boukhayma/boukhayma_synthetic_mesh.py CKPT --out ...

Any model that predicts root-relative ``vertices`` (mm) of a hand model
with ``faces`` (Ge et al., Boukhayma et al.).

For the first ``--num`` test hands: the image, the predicted mesh (root-
relative, placed at the true wrist; rendered with handkit's rasteriser
through the sample's camera) blended over it, and the true mesh the same
way; each column is titled with the sample's MPVPE (root-relative, mm).
It also prints the mean-pose baselines of the whole test split: the MPVPE
and MPJPE (root-relative, mm) of the split's own mean root-relative mesh
and joints (an oracle that knows the test set's average hand), and the
PA-MPVPE and PA-MPJPE of the hand model's mean hand (zero pose coefficients
and betas: Boukhayma et al.'s first prediction), Procrustes-aligned to each
hand as the PA- errors align a prediction: what a model that learnt no
articulation at all would score on the aligned errors.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from handkit.apis import init_model
from handkit.datasets.collate import hand_collate
from handkit.evaluation.functional3d import procrustes_align
from handkit.models.hand_model import HandModelLayer
from handkit.rasterizer import rasterize
from handkit.fileio import atomic_write
from handkit.registry import DATASETS
from handkit.visualization.draw3d import model_faces


def overlay(image: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
            cam_k: np.ndarray, colour) -> np.ndarray:
    """The mesh shaded in ``colour`` (BGR), half over the image."""
    height, width = image.shape[:2]
    colours = np.tile(np.asarray(colour, np.float64), (len(vertices), 1))
    out = rasterize(vertices, faces, cam_k, (width, height),
                    vertex_colors=colours)
    blended = image.astype(np.float64).copy()
    mask = out['mask']
    blended[mask] = 0.4 * blended[mask] + 0.6 * out['rgb'][mask]
    return blended.astype(np.uint8)


def mean_pose_baseline(dataset) -> dict:
    """MPVPE / MPJPE (mm) of the split's mean root-relative mesh and
    joints against each hand's; PA-MPVPE / PA-MPJPE (mm) of the open
    hand's mean hand."""
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    joints = np.stack([info['keypoints_3d'] for info in infos]).astype(
        np.float64)
    vertices = np.stack([info['vertices'] for info in infos]).astype(
        np.float64) - joints[:, :1]
    joints = joints - joints[:, :1]

    def error(points):
        return float(np.linalg.norm(points - points.mean(0), axis=-1).mean())

    with torch.no_grad():
        hand = HandModelLayer(pose_type='pca', flat_hand_mean=False,
                              output_scale=1000.0, dtype=torch.float64)()

    def aligned_error(mean, points):
        mean = np.broadcast_to(mean[0].numpy(), points.shape)
        return float(np.linalg.norm(procrustes_align(mean, points) - points,
                                    axis=-1).mean())
    return dict(samples=len(infos), MPVPE=error(vertices),
                MPJPE=error(joints),
                mean_hand_PA_MPVPE=aligned_error(hand['vertices'], vertices),
                mean_hand_PA_MPJPE=aligned_error(hand['joints'], joints))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True)
    parser.add_argument('--num', type=int, default=8)
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    model = init_model(args.config, args.checkpoint)
    cfg = model.cfg
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    print('mean-pose baseline of the test split:',
          mean_pose_baseline(dataset))
    faces = model_faces(model)
    samples = [dataset[index] for index in range(args.num)]
    with torch.no_grad():
        batch = model.data_preprocessor(hand_collate(samples), False)
        predictions = model(**batch, mode='predict')
    figure, axes = plt.subplots(2, args.num, figsize=(2 * args.num, 4.4))
    for column, (index, prediction) in enumerate(zip(range(args.num),
                                                     predictions)):
        info = dataset.get_data_info(index)
        image = info['img']
        root = info['keypoints_3d'][0].astype(np.float64)
        pred = prediction['pred_vertices'].astype(np.float64) + root
        true = info['vertices'].astype(np.float64)
        error = np.linalg.norm(pred - true, axis=-1).mean()
        cam_k = info['cam_K'].astype(np.float64)
        for row, (mesh, colour) in enumerate(((pred, (235, 160, 60)),
                                              (true, (60, 200, 60)))):
            drawn = overlay(image, mesh, faces, cam_k, colour)
            axes[row, column].imshow(drawn[..., ::-1])
            axes[row, column].axis('off')
        axes[0, column].set_title(f'{error:.1f} mm', fontsize=9)
    axes[0, 0].text(-0.1, 0.5, 'predicted', rotation=90, va='center',
                    transform=axes[0, 0].transAxes)
    axes[1, 0].text(-0.1, 0.5, 'true', rotation=90, va='center',
                    transform=axes[1, 0].transAxes)
    name = Path(args.config).name
    figure.suptitle(f'{name}: predicted meshes (blue, at the true wrist), '
                    'true ones (green), MPVPE per hand', fontsize=9)
    figure.tight_layout()
    with atomic_write(args.out, 'wb') as file:
        figure.savefig(file, format='png', dpi=80)
    print(f'{args.out}: {args.num} hands')
    return 0


if __name__ == '__main__':
    sys.exit(main())
