"""3D drawings: a hand's joints in two orthographic views, and a predicted
mesh over the image.

* :func:`draw_3d_views`: the x-y (front, as the camera sees it) and z-y
  (side: depth to the right) views of the predicted 3D joints over the
  ground truth (white), one shared scale, root-relative;
* :func:`draw_mesh`: the mesh of a model that predicts vertices (Boukhayma
  et al., Ge et al.) shaded over the image. Its vertices are root-relative
  mm, so their place in the image comes from the model's own 2D keypoints:
  the affine map that takes the 3D joints' (x, y) to the 2D keypoints in
  the least-squares sense, exact for a weak-perspective model (Boukhayma et
  al., Section 3: ``x2d = t + s X[:, :2]``) seen through the crop's warp;
  the mesh is rasterised by handkit's z-buffer
  (:func:`handkit.rasterizer.rasterize`) with that map
  as its camera.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from handkit.rasterizer import rasterize, vertex_normals
from handkit.skeleton import NUM_KEYPOINTS
from handkit.visualization.draw import (GT_COLOR, _check_image, draw_skeleton,
                                        side_by_side)

MESH_COLOR = (150, 170, 210)  # BGR, a light skin tone
# the rasteriser's camera for points already in pixels: x = u Z, y = v Z at
# a depth Z far beyond the hand's own depth range (mm), so u, v come back
_FAR = 1e5


def _check_points_3d(points, name: str) -> np.ndarray:
    points = np.asarray(points, np.float64)
    if points.shape != (NUM_KEYPOINTS, 3) or not np.isfinite(points).all():
        raise ValueError(f'{name} must be finite ({NUM_KEYPOINTS}, 3), got '
                         f'shape {points.shape}')
    return points


def draw_3d_views(keypoints_3d: np.ndarray,
                  gt_keypoints_3d: Optional[np.ndarray] = None,
                  size: int = 256, margin: float = 0.1) -> np.ndarray:
    """The x-y and z-y views of 3D joints, side by side.

    Args:
        keypoints_3d: (21, 3) predicted joints, camera axes (x right, y
            down, z forward), any unit and root.
        gt_keypoints_3d: optional (21, 3) ground truth in the same frame and
            unit, drawn white under the prediction.
        size: each view's side in pixels.
        margin: the empty border, a fraction of ``size``.

    Both hands are moved to their own wrist (joint 0), then one scale fits
    every joint of both in both views, so lengths compare across views and
    between prediction and ground truth. The side view puts depth (z, away
    from the camera) to the right.

    Returns:
        BGR uint8 (size, 2 size + 4, 3).
    """
    hands = [_check_points_3d(keypoints_3d, 'keypoints_3d')]
    if gt_keypoints_3d is not None:
        hands.append(_check_points_3d(gt_keypoints_3d, 'gt_keypoints_3d'))
    hands = [hand - hand[0] for hand in hands]
    views = (((0, 1), 'x-y (front)'), ((2, 1), 'z-y (side)'))
    points = [np.concatenate([hand[:, axes] for hand in hands])
              for axes, _ in views]  # each view's (2 x 21, 2)
    extent = max(float((view.max(0) - view.min(0)).max()) for view in points)
    scale = (1 - 2 * margin) * size / max(extent, 1e-9)
    colours = [GT_COLOR, None] if len(hands) == 2 else [None]
    panels = []
    for (axes, caption), view in zip(views, points):
        centre = (view.min(0) + view.max(0)) / 2  # each view centred
        panel = np.zeros((size, size, 3), np.uint8)
        for hand, colour in zip(hands[::-1], colours):
            pixels = (hand[:, axes] - centre) * scale + size / 2
            panel = draw_skeleton(panel, pixels, color=colour)
        cv2.putText(panel, caption, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (200, 200, 200), 1, cv2.LINE_AA)
        panels.append(panel)
    return side_by_side(*panels)


def fit_image_map(points_3d: np.ndarray,
                  keypoints: np.ndarray) -> np.ndarray:
    """The (2, 3) affine ``A`` with ``keypoints ~ A [x, y, 1]`` of the 3D
    joints' x, y (least squares over the 21 joints)."""
    points_3d = _check_points_3d(points_3d, 'keypoints_3d')
    keypoints = np.asarray(keypoints, np.float64)
    if keypoints.shape != (NUM_KEYPOINTS, 2):
        raise ValueError(f'keypoints must be ({NUM_KEYPOINTS}, 2), got '
                         f'{keypoints.shape}')
    design = np.concatenate([points_3d[:, :2], np.ones((NUM_KEYPOINTS, 1))],
                            1)
    solution = np.linalg.lstsq(design, keypoints, rcond=None)[0]  # (3, 2)
    return solution.T


def draw_mesh(image: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
              keypoints_3d: np.ndarray, keypoints: np.ndarray,
              alpha: float = 0.7,
              color: Tuple[int, int, int] = MESH_COLOR) -> np.ndarray:
    """A predicted mesh, shaded, over ``image``.

    Args:
        image: BGR uint8 (H, W, 3).
        vertices: (V, 3) the mesh, in the frame and unit of ``keypoints_3d``
            (e.g. root-relative mm, camera axes).
        faces: (F, 3) vertex indices (the hand model's ``faces``).
        keypoints_3d: (21, 3) the same prediction's joints.
        keypoints: (21, 2) its joints in ``image`` pixels.
        alpha: opacity of the mesh.
        color: BGR albedo.

    The mesh goes where :func:`fit_image_map` puts the joints; depth order
    and shading follow its own z (the camera's lights).

    Returns:
        BGR uint8 (H, W, 3).
    """
    canvas = _check_image(image)
    vertices = np.asarray(vertices, np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or \
            not np.isfinite(vertices).all():
        raise ValueError(f'vertices must be finite (V, 3), got shape '
                         f'{vertices.shape}')
    if not 0 <= alpha <= 1:
        raise ValueError(f'alpha must be in [0, 1], got {alpha!r}')
    image_map = fit_image_map(keypoints_3d, keypoints)
    pixels = vertices[:, :2] @ image_map[:, :2].T + image_map[:, 2]
    depth = _FAR + vertices[:, 2] - vertices[:, 2].min()
    camera = np.concatenate([pixels * depth[:, None], depth[:, None]], 1)
    height, width = canvas.shape[:2]
    out = rasterize(camera, np.asarray(faces), np.eye(3), (width, height),
                    vertex_colors=np.tile(np.asarray(color, np.float64),
                                          (len(vertices), 1)),
                    # the 3D surface's own normals: the lights face the
                    # camera, and the image map only moves the mesh sideways
                    normals=vertex_normals(vertices, faces))
    mask = out['mask'][..., None]
    blended = canvas * (1 - alpha) + out['rgb'] * alpha
    return np.where(mask, blended, canvas).round().astype(np.uint8)


def model_faces(model: torch.nn.Module) -> Optional[np.ndarray]:
    """The triangles (F, 3) of the mesh a model predicts: the ``faces`` of
    its hand model (``HandModelLayer``, or a mesh head's own buffer), None
    for a model without a mesh (or an ONNX Runtime one)."""
    for module in model.modules():
        faces = getattr(module, 'faces', None)
        if isinstance(faces, torch.Tensor) and faces.ndim == 2 and \
                faces.shape[1] == 3:
            return faces.cpu().numpy()
    return None


__all__: Sequence[str] = ('draw_3d_views', 'fit_image_map', 'draw_mesh',
                          'model_faces')
