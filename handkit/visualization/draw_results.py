"""Drawings of what inference returns (``tools/demo.py``).

:func:`draw_result` draws one hand of a CONFIG / CHECKPOINT model
(:func:`handkit.apis.inference`'s result): its skeleton with each
keypoint's score, its box when a hand detector gave one, the predicted maps
beside it. :func:`draw_hands` draws every hand of
:class:`handkit.apis.HandInferencer`: skeletons, boxes and sides. With
``show_3d`` both shade a predicted mesh under the skeleton and put the front
and side views of the 3D joints beside the drawing (:mod:`.draw3d`).
"""
from typing import List, Optional, Sequence

import cv2
import numpy as np

from handkit.skeleton import GROUP_NAMES, KEYPOINT_NAMES
from handkit.visualization.draw import (draw_scores, draw_skeleton, map_grid,
                                        side_by_side)
from handkit.visualization.draw3d import draw_3d_views, draw_mesh

BOX_COLOR = (255, 255, 255)  # BGR: a hand's box and side


def map_names(maps: np.ndarray) -> Optional[Sequence[str]]:
    """Captions of the map tiles: limb groups or keypoint names."""
    by_count = {len(names): names for names in GROUP_NAMES.values()}
    by_count[len(KEYPOINT_NAMES)] = KEYPOINT_NAMES
    return by_count.get(len(maps))


def draw_result(image: np.ndarray, result: dict, score_thr: float,
                show_maps: bool = False, faces: Optional[np.ndarray] = None,
                show_3d: bool = False) -> np.ndarray:
    """The skeleton and scores of a model's hand on ``image``, with the box
    of ``result['bbox']`` when it has one [| the predicted maps] [| the 3D
    views].

    Args:
        image: (H, W, 3) BGR uint8.
        result: ``inference``'s dict (``keypoints``, ``scores``, maybe
            ``bbox``, ``heatmaps`` / ``structure_maps``, ``keypoints_3d``,
            ``vertices``).
        score_thr: keypoints scoring lower are not drawn.
        show_maps: put the structure maps (else the keypoint confidence
            maps) beside the drawing.
        faces: the model's mesh triangles (:func:`.draw3d.model_faces`);
            with ``show_3d`` its ``vertices`` are shaded under the skeleton.
        show_3d: put the 3D joints' front and side views beside it.

    Raises:
        ValueError: ``show_maps`` without maps or ``show_3d`` without 3D
            joints in ``result``.
    """
    base = image
    if show_3d:
        if result.get('keypoints_3d') is None:
            raise ValueError('--show-3d: the model predicts no 3D joints (a '
                             '2D model)')
        base = _meshes_under(image, [result], faces)
    drawn = draw_skeleton(base, result['keypoints'], scores=result['scores'],
                          score_threshold=score_thr)
    if 'bbox' in result:
        corners = np.round(result['bbox']).astype(int).tolist()
        cv2.rectangle(drawn, tuple(corners[:2]), tuple(corners[2:]),
                      BOX_COLOR, 1)
    drawn = draw_scores(drawn, result['keypoints'], result['scores'],
                        score_threshold=score_thr)
    if show_maps:
        maps = result.get('structure_maps', result.get('heatmaps'))
        if maps is None:
            raise ValueError('--show-maps: the model predicts no maps')
        drawn = side_by_side(drawn, map_grid(maps, names=map_names(maps)))
    return _with_3d_views(drawn, [result], image.shape[0]) if show_3d \
        else drawn


def draw_hands(image: np.ndarray, hands: List[dict], score_thr: float,
               faces: Optional[np.ndarray] = None,
               show_3d: bool = False) -> np.ndarray:
    """Every hand's skeleton, box and side (``handedness``) on ``image``;
    with ``show_3d`` the meshes of the hands that have ``vertices`` under
    them (given the ``faces``) and the 3D views of those with
    ``keypoints_3d`` beside."""
    drawn = _meshes_under(image, hands, faces) if show_3d else image
    for hand in hands:
        drawn = draw_skeleton(drawn, hand['keypoints'], scores=hand['scores'],
                              score_threshold=score_thr)
    drawn = drawn.copy()
    for hand in hands:
        corners = np.round(hand['bbox']).astype(int).tolist()
        cv2.rectangle(drawn, tuple(corners[:2]), tuple(corners[2:]),
                      BOX_COLOR, 1)
        scale = max(0.4, max(image.shape[:2]) / 1500)
        cv2.putText(drawn, hand['handedness'],
                    (corners[0], max(corners[1] - 4, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, BOX_COLOR,
                    max(1, round(scale * 2)), cv2.LINE_AA)
    return _with_3d_views(drawn, hands, image.shape[0]) if show_3d else drawn


def _meshes_under(image: np.ndarray, hands: List[dict],
                  faces: Optional[np.ndarray]) -> np.ndarray:
    """``image`` with the mesh of each hand that has ``vertices`` shaded
    over it (the skeletons go on top)."""
    if faces is None:
        return image
    for hand in hands:
        if 'vertices' in hand:
            image = draw_mesh(image, hand['vertices'], faces,
                              hand['keypoints_3d'], hand['keypoints'])
    return image


def _with_3d_views(drawn: np.ndarray, hands: List[dict],
                   size: int) -> np.ndarray:
    """``drawn`` with the 3D views (``size`` square) of every hand that has
    3D joints."""
    views = [draw_3d_views(hand['keypoints_3d'], size=size)
             for hand in hands if hand.get('keypoints_3d') is not None]
    return side_by_side(drawn, *views) if views else drawn
