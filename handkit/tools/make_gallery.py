"""Draw a grid of synthetic hands with their 2D skeletons (docs/synthetic.md).

    python tools/make_gallery.py --out docs/images/synthetic_gallery.png \\
        --rows 3 --cols 6 --seed 0

Tile ``i`` shows the hand of sample ``i`` of the synthetic 'test' split of
``--seed``. Rows alternate between plain RGB renders and renders with
occluders; the last row shows depth maps, colour-mapped (near = warm).
Limbs are drawn in their finger's colour (``handkit.skeleton.limb_color``),
keypoints as dots, hollow when occluded; keypoints outside the image are
not drawn. The PNG is colour-quantised to stay small enough to commit.
``--hand mesh`` draws the mesh hands
(``handkit.datasets.synthetic.mesh_renderer.render_mesh_hand``) of the
same seeds instead of the capsule hands; ``--background clutter`` the same
hands over the procedural clutter backgrounds.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np

from handkit.datasets.synthetic.renderer import BACKGROUNDS, render_hand
from handkit.datasets.synthetic_dataset import sample_seed
from handkit.skeleton import LIMBS, keypoint_color, limb_color

RENDER_SIZE = 256
OCCLUDED_ROW_LEVEL = 0.6
PALETTE_COLOURS = 256


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/images/synthetic_gallery.png')
    parser.add_argument('--rows', type=int, default=3)
    parser.add_argument('--cols', type=int, default=6)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--width', type=int, default=900,
                        help='width of the whole picture in pixels')
    parser.add_argument('--hand', choices=('capsule', 'mesh'),
                        default='capsule',
                        help='capsule hands or the open hand mesh')
    parser.add_argument('--background', choices=BACKGROUNDS,
                        default='shapes',
                        help="the renderer's backgrounds (default shapes)")
    args = parser.parse_args(argv)
    for name in ('rows', 'cols', 'width'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    return args


def colour_depth(depth: np.ndarray) -> np.ndarray:
    """Depth (H, W) mm -> BGR uint8, near = warm, background black."""
    hand = depth > 0
    levels = np.zeros(depth.shape, np.uint8)
    if hand.any():
        near, far = depth[hand].min(), depth[hand].max()
        levels[hand] = 255 - 200 * (depth[hand] - near) / max(far - near, 1e-6)
    image = cv2.applyColorMap(levels, cv2.COLORMAP_JET)
    image[~hand] = 0
    return image


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray,
                  visible: np.ndarray, occluded: np.ndarray) -> None:
    """Limbs and keypoints over ``image`` (in place)."""
    points = np.round(keypoints).astype(np.int32)
    for limb, (parent, child) in enumerate(LIMBS):
        if visible[parent] and visible[child]:
            cv2.line(image, tuple(points[parent].tolist()),
                     tuple(points[child].tolist()), limb_color(limb), 1,
                     cv2.LINE_AA)
    for index in np.flatnonzero(visible):
        cv2.circle(image, tuple(points[index].tolist()), 2,
                   keypoint_color(index), 1 if occluded[index] else -1,
                   cv2.LINE_AA)


def tile(seed: int, row: int, rows: int, size: int,
         hand: str = 'capsule', background: str = 'shapes') -> np.ndarray:
    """One rendered, annotated tile of ``size`` x ``size`` pixels."""
    depth_row = rows > 1 and row == rows - 1
    occlusion = OCCLUDED_ROW_LEVEL if row % 2 == 1 and not depth_row else 0.0
    render = render_hand
    if hand == 'mesh':
        from handkit.datasets.synthetic.mesh_renderer import \
            render_mesh_hand as render
    sample = render(seed, RENDER_SIZE, 'depth' if depth_row else 'rgb',
                    occlusion, background=background)
    image = colour_depth(sample['depth']) if depth_row else sample['image']
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    scale = size / RENDER_SIZE
    # Pixel centres sit at integer coordinates: rescale about -0.5.
    keypoints = (sample['keypoints'] + 0.5) * scale - 0.5
    draw_skeleton(image, keypoints, sample['keypoints_visible'] > 0,
                  sample['occluded'])
    return image


def quantise(image: np.ndarray, colours: int) -> np.ndarray:
    """Reduce ``image`` to ``colours`` colours (k-means) for a small PNG."""
    pixels = image.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(pixels, colours, None, criteria, 1,
                                    cv2.KMEANS_PP_CENTERS)
    return centres.astype(np.uint8)[labels.ravel()].reshape(image.shape)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    size = args.width // args.cols
    rows = [
        np.concatenate([
            tile(sample_seed(args.seed, 'test', row * args.cols + col), row,
                 args.rows, size, args.hand, args.background)
            for col in range(args.cols)
        ], 1) for row in range(args.rows)
    ]
    gallery = quantise(np.concatenate(rows, 0), PALETTE_COLOURS)
    folder = osp.dirname(args.out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(args.out, gallery, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'could not write {args.out}')
    print(f'{args.out}: {gallery.shape[1]} x {gallery.shape[0]} px, '
          f'{osp.getsize(args.out) / 1024:.0f} KB')


if __name__ == '__main__':
    sys.exit(main())
