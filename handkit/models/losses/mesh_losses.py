"""The losses of Boukhayma et al. (CVPR 2019, eq. (5)), as plain functions.

``L = L2D + 100 L3D + 100 Lmask + 10 Lreg`` (the weights: the paper's eq. (5),
quoted by the survey slides). Units are handkit's choices (docs/boukhayma.md):

* :func:`keypoint_2d_loss`: 2D coordinates normalised by the input size
  (input pixels / input width; the head's ``reference_size`` 1), squared
  distance averaged over the labelled joints;
* :func:`joint_3d_loss`: root-relative joints in metres (the hand model's
  unit; the release's ``x3d``), squared distance averaged over joints;
* :func:`mask_distance_loss`: the distance map of the mask's outside
  (``MaskDistanceField``) sampled bilinearly at each projected vertex, in
  the same normalised unit, squared and averaged over vertices;
* :func:`param_regularizer`: the squared norms of the pose and shape
  coefficients.

Each returns a scalar averaged over the batch.
"""
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor
                   ) -> torch.Tensor:
    """``sum(w v) / max(sum(w), 1)``."""
    return (values * weight).sum() / weight.sum().clamp(min=1.0)


def keypoint_2d_loss(pred: torch.Tensor, target: torch.Tensor,
                     weight: Optional[torch.Tensor] = None,
                     scale: float = 1.0) -> torch.Tensor:
    """Mean squared 2D distance of (B, K, 2) points over the joints with
    ``weight`` (B, K) > 0; coordinates multiplied by ``scale`` first (the
    head passes ``reference_size / input width``)."""
    squared = ((pred - target) * scale).pow(2).sum(-1)  # (B, K)
    if weight is None:
        weight = torch.ones_like(squared)
    return _weighted_mean(squared, weight.reshape(squared.shape))


def joint_3d_loss(pred: torch.Tensor, target: torch.Tensor,
                  weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean squared 3D distance of (B, K, 3) joints; ``weight`` (B, 1) or
    (B, K) selects samples / joints."""
    squared = (pred - target).pow(2).sum(-1)  # (B, K)
    if weight is None:
        weight = torch.ones_like(squared)
    return _weighted_mean(squared, weight.expand_as(squared))


def sample_distance(distance: torch.Tensor, points: torch.Tensor
                    ) -> torch.Tensor:
    """Distance to the mask at (B, N, 2) input-pixel points, from the
    (B, H, W) map of :class:`~handkit.codecs.MaskDistanceField`.

    Pixel centres sit at integer coordinates (``align_corners=True``);
    bilinear inside the map. A point outside the map gets the map's value
    at the nearest border point plus its distance to that point (an upper
    bound of its distance to the mask, with a gradient that pulls it in).
    """
    height, width = distance.shape[-2:]
    limit = points.new_tensor([width - 1, height - 1])
    inside = torch.minimum(points.clamp(min=0), limit)
    grid = inside / limit * 2 - 1  # (B, N, 2) in [-1, 1]
    sampled = F.grid_sample(distance[:, None], grid[:, None],
                            mode='bilinear', padding_mode='border',
                            align_corners=True)[:, 0, 0]  # (B, N)
    beyond = (points - inside).norm(dim=-1)
    return sampled + beyond


def mask_distance_loss(points: torch.Tensor, distance: torch.Tensor,
                       weight: Optional[torch.Tensor] = None,
                       scale: float = 1.0) -> torch.Tensor:
    """Mean over (B, N, 2) projected vertices of the squared distance to
    the mask (:func:`sample_distance` times ``scale``); ``weight`` (B, 1)
    drops samples without a mask."""
    squared = (sample_distance(distance, points) * scale).pow(2)  # (B, N)
    if weight is None:
        weight = torch.ones_like(squared[:, :1])
    return _weighted_mean(squared.mean(-1, keepdim=True),
                          weight.reshape(-1, 1))


def param_regularizer(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum of the squared norms of each (B, n) coefficient tensor, averaged
    over the batch (Lreg: pose and shape)."""
    return sum(part.pow(2).sum(-1) for part in parts).mean()


# -- Ge et al. (CVPR 2019): the graph CNN's mesh losses ----------------------
#
# Ge, Ren, Li, Xue, Wang, Cai and Yuan, "3D Hand Shape and Pose Estimation
# from a Single RGB Image", CVPR 2019 (docs/ge.md). Fully supervised
# (Section 3.3): L = l_H L_H + l_M L_M + l_J L_J with the mesh loss
# L_M = l_v L_v + l_n L_n + l_e L_e + l_l L_l; weakly supervised
# (Section 3.4): L = l_H L_H + l_D L_D + l_pM L_pM. Predicted vertices v_i,
# true ones v^_i, coordinates in the head's unit; each function returns a
# scalar averaged over the samples with weight > 0 (``weight`` (B, 1) or
# None). The paper's text was not at hand: the formulas are the paper's as
# remembered and its release holds no training code (docs/ge.md).


def _per_sample(values: torch.Tensor, weight: Optional[torch.Tensor]
                ) -> torch.Tensor:
    """(B,) per-sample values averaged over the samples weighted > 0."""
    if weight is None:
        return values.mean()
    return _weighted_mean(values, weight.reshape(-1).to(values.dtype))


def heatmap_l2_loss(pred: torch.Tensor, target: torch.Tensor,
                    weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """L_H = sum_j ||H_j - H^_j||^2 (Ge et al. Section 3.3), as the mean
    over pixels and the labelled keypoints (``weight`` (B, K)) of the
    squared difference of (B, K, h, w) maps."""
    squared = (pred - target).pow(2).mean((-2, -1))  # (B, K)
    if weight is None:
        weight = torch.ones_like(squared)
    return _weighted_mean(squared, weight.reshape(squared.shape))


def vertex_loss(pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """L_v = sum_i ||v_i - v^_i||^2 (Ge et al. Section 3.3), averaged over
    the (B, V, 3) vertices."""
    return _per_sample((pred - target).pow(2).sum(-1).mean(-1), weight)


def face_edges(faces: torch.Tensor) -> torch.Tensor:
    """(3F, 2) vertex pairs of every triangle's sides, in triangle order:
    (v0, v1), (v1, v2), (v2, v0) of each."""
    return faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)


def normal_loss(pred: torch.Tensor, target: torch.Tensor,
                faces: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """L_n = sum_t sum_{(i, j) in t} <v_i - v_j, n^_t>^2 (Ge et al.
    Section 3.3): every side of each predicted triangle should lie in the
    plane of the true one (``n^_t`` its unit normal), averaged over the
    (F, 3) triangles' 3F sides."""
    corners = target[:, faces]  # (B, F, 3, 3)
    normal = torch.cross(corners[:, :, 1] - corners[:, :, 0],
                         corners[:, :, 2] - corners[:, :, 0], dim=-1)
    normal = normal / normal.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    sides = pred[:, faces[:, [1, 2, 0]]] - pred[:, faces]  # (B, F, 3, 3)
    dots = (sides * normal[:, :, None]).sum(-1)  # (B, F, 3)
    return _per_sample(dots.pow(2).mean((-2, -1)), weight)


def edge_length_loss(pred: torch.Tensor, target: torch.Tensor,
                     faces: torch.Tensor,
                     weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """L_e = sum_t sum_{(i, j) in t} (||e_ij|| - ||e^_ij||)^2 (Ge et al.
    Section 3.3), averaged over the triangles' 3F sides."""
    pairs = face_edges(faces)
    lengths = (pred[:, pairs[:, 0]] - pred[:, pairs[:, 1]]).norm(dim=-1)
    true = (target[:, pairs[:, 0]] - target[:, pairs[:, 1]]).norm(dim=-1)
    return _per_sample((lengths - true).pow(2).mean(-1), weight)


def laplacian_loss(pred: torch.Tensor, target: torch.Tensor,
                   neighbour_index: torch.Tensor,
                   neighbour_weight: torch.Tensor,
                   weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """L_l = sum_i ||d_i - sum_{k in N(i)} d_k / B_i||^2, d_i = v_i - v^_i
    (Ge et al. Section 3.3): the offsets should be locally smooth. The
    neighbour mean comes from a table (V, D): ``neighbour_index`` and
    ``neighbour_weight`` (``1 / B_i`` per neighbour, 0 for padding;
    :func:`handkit.models.graph_layers.neighbour_table` of the row-normalised
    adjacency). Averaged over the vertices."""
    offset = pred - target  # (B, V, 3)
    mean = (offset[:, neighbour_index] *
            neighbour_weight[None, :, :, None]).sum(2)  # (B, V, 3)
    return _per_sample((offset - mean).pow(2).sum(-1).mean(-1), weight)


def pseudo_mesh_loss(pred: torch.Tensor, pseudo: torch.Tensor,
                     faces: torch.Tensor, neighbour_index: torch.Tensor,
                     neighbour_weight: torch.Tensor,
                     weights: Sequence[float] = (0.0, 1.0, 1.0)
                     ) -> torch.Tensor:
    """L_pM (Ge et al. Section 3.4): the mesh losses against the pseudo
    ground truth ``pseudo`` (the frozen pre-fine-tuning model's mesh):
    ``weights`` = (vertex, edge length, Laplacian)."""
    w_vertex, w_edge, w_laplacian = (float(w) for w in weights)
    total = pred.new_zeros(())
    if w_vertex:
        total = total + w_vertex * vertex_loss(pred, pseudo)
    if w_edge:
        total = total + w_edge * edge_length_loss(pred, pseudo, faces)
    if w_laplacian:
        total = total + w_laplacian * laplacian_loss(
            pred, pseudo, neighbour_index, neighbour_weight)
    return total


def rasterize_visible(vertices: torch.Tensor, faces: torch.Tensor,
                      cam_K: torch.Tensor, image_size: Sequence[int]):
    """Visible face and perspective-correct barycentrics of every pixel of
    each (B, V, 3) camera-frame mesh (mm) under (B, 3, 3) ``cam_K``, from
    handkit's numpy rasteriser, without gradient: ``face_ids`` (B, H, W)
    int64 (-1 background), ``barycentrics`` (B, H, W, 3). A loop over the
    batch only (the rasteriser is vectorised over triangles and pixels)."""
    from handkit.rasterizer import rasterize
    points = vertices.detach().cpu().double().numpy()
    intrinsics = cam_K.detach().cpu().double().numpy()
    triangles = faces.detach().cpu().numpy()
    face_ids, barycentrics = [], []
    for sample, matrix in zip(points, intrinsics):
        out = rasterize(sample, triangles, matrix, tuple(image_size))
        face_ids.append(out['face_ids'].astype('int64'))
        barycentrics.append(out['barycentrics'])
    device = vertices.device
    return (torch.as_tensor(np.stack(face_ids), device=device),
            torch.as_tensor(np.stack(barycentrics), device=device,
                            dtype=vertices.dtype))


def depth_map_loss(vertices: torch.Tensor, faces: torch.Tensor,
                   face_ids: torch.Tensor, barycentrics: torch.Tensor,
                   depth: torch.Tensor, scale: float = 1.0,
                   weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """L_D = |R(M) - D^|_1 (Ge et al. Section 3.4) over the pixels that
    the rendered mesh and the depth image (``depth`` (B, H, W) mm, 0 = no
    depth) both cover.

    The rendered depth of pixel p, seen on face f with perspective-correct
    barycentrics b (:func:`rasterize_visible`, no gradient), is
    ``z_p = sum_k b_k z(v_{f_k})``: exact for the visible plane, and
    differentiable in the vertices' depths (not in their image positions:
    which face a pixel sees is held fixed, docs/ge.md). Differences in mm
    times ``scale``; each sample's mean over its covered pixels, averaged
    over the samples with covered pixels (and ``weight`` > 0)."""
    batch = vertices.shape[0]
    covered = (face_ids >= 0) & (depth > 0)  # (B, H, W)
    safe = face_ids.clamp(min=0)
    corner_z = vertices[..., 2][torch.arange(batch, device=vertices.device)
                                [:, None, None, None], faces[safe]]
    rendered = (barycentrics * corner_z).sum(-1)  # (B, H, W)
    error = ((rendered - depth).abs() * scale * covered).sum((-2, -1))
    count = covered.sum((-2, -1)).to(vertices.dtype)
    per_sample = error / count.clamp(min=1)
    has = (count > 0).to(vertices.dtype)
    if weight is not None:
        has = has * weight.reshape(-1).to(vertices.dtype)
    return _weighted_mean(per_sample, has)
