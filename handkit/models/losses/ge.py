"""The losses of Ge et al.'s graph CNN (CVPR 2019, Sections 3.3-3.4).

Ge, Ren, Li, Xue, Wang, Cai and Yuan, "3D Hand Shape and Pose Estimation
from a Single RGB Image", CVPR 2019 (docs/ge.md). Fully supervised
(Section 3.3): L = l_H L_H + l_M L_M + l_J L_J with the mesh loss
L_M = l_v L_v + l_n L_n + l_e L_e + l_l L_l (L_J: ``SquaredDistanceLoss``,
shared with Boukhayma et al.); weakly supervised (Section 3.4):
L = l_H L_H + l_D L_D + l_pM L_pM. The l's are ``GraphMeshHead``'s
``losses`` weights. Predicted vertices v_i, true ones v^_i, coordinates in
the head's unit; each loss returns a scalar averaged over the samples with
weight > 0 (``weight`` (B, 1) or None). The paper's text was not at hand:
the formulas are the paper's as remembered and its release holds no
training code (docs/ge.md).
"""
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from handkit.models.losses.sample_weighted import (weighted_mean,
                                                   weighted_sample_mean)
from handkit.registry import MODELS


@MODELS.register_module()
class HeatmapL2Loss(nn.Module):
    """L_H = sum_j ||H_j - H^_j||^2 (Section 3.3): ``forward(stage_maps
    [(B, K, h, w)], target (B, K, h, w), weight (B, K) or None)`` -> per
    stage the mean over pixels and the labelled keypoints of the squared
    difference, summed over the stages (the hourglass' stacks)."""

    def forward(self, stage_maps: Sequence[torch.Tensor],
                target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        total = 0
        for maps in stage_maps:
            squared = (maps - target).pow(2).mean((-2, -1))  # (B, K)
            keypoint_weight = (torch.ones_like(squared) if weight is None
                               else weight.reshape(squared.shape))
            total = total + weighted_mean(squared, keypoint_weight)
        return total


@MODELS.register_module()
class VertexL2Loss(nn.Module):
    """L_v = sum_i ||v_i - v^_i||^2 (Section 3.3): ``forward(pred (B, V, 3),
    target, weight)``, averaged over the vertices."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        return weighted_sample_mean((pred - target).pow(2).sum(-1).mean(-1),
                                    weight, 'VertexL2Loss')


def face_edges(faces: torch.Tensor) -> torch.Tensor:
    """(3F, 2) vertex pairs of every triangle's sides, in triangle order:
    (v0, v1), (v1, v2), (v2, v0) of each."""
    return faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)


@MODELS.register_module()
class NormalLoss(nn.Module):
    """L_n = sum_t sum_{(i, j) in t} <v_i - v_j, n^_t>^2 (Section 3.3):
    ``forward(pred (B, V, 3), target, faces (F, 3), weight)``: every side
    of each predicted triangle should lie in the plane of the true one
    (``n^_t`` its unit normal), averaged over the triangles' 3F sides."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                faces: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        corners = target[:, faces]  # (B, F, 3, 3)
        normal = torch.cross(corners[:, :, 1] - corners[:, :, 0],
                             corners[:, :, 2] - corners[:, :, 0], dim=-1)
        normal = normal / normal.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        sides = pred[:, faces[:, [1, 2, 0]]] - pred[:, faces]  # (B, F, 3, 3)
        dots = (sides * normal[:, :, None]).sum(-1)  # (B, F, 3)
        return weighted_sample_mean(dots.pow(2).mean((-2, -1)), weight,
                                    'NormalLoss')


@MODELS.register_module()
class EdgeLengthLoss(nn.Module):
    """L_e = sum_t sum_{(i, j) in t} (||e_ij|| - ||e^_ij||)^2 (Section 3.3):
    ``forward(pred (B, V, 3), target, faces (F, 3), weight)``, averaged
    over the triangles' 3F sides."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                faces: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        pairs = face_edges(faces)
        lengths = (pred[:, pairs[:, 0]] - pred[:, pairs[:, 1]]).norm(dim=-1)
        true = (target[:, pairs[:, 0]] - target[:, pairs[:, 1]]).norm(dim=-1)
        return weighted_sample_mean((lengths - true).pow(2).mean(-1), weight,
                                    'EdgeLengthLoss')


@MODELS.register_module()
class LaplacianLoss(nn.Module):
    """L_l = sum_i ||d_i - sum_{k in N(i)} d_k / B_i||^2, d_i = v_i - v^_i
    (Section 3.3): the offsets should be locally smooth.

    ``forward(pred (B, V, 3), target, neighbour_index (V, D),
    neighbour_weight (V, D), weight)``: the neighbour mean comes from the
    table (``1 / B_i`` per neighbour, 0 for padding;
    :func:`handkit.models.graph_layers.neighbour_table` of the
    row-normalised adjacency). Averaged over the vertices.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                neighbour_index: torch.Tensor,
                neighbour_weight: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        offset = pred - target  # (B, V, 3)
        mean = (offset[:, neighbour_index] *
                neighbour_weight[None, :, :, None]).sum(2)  # (B, V, 3)
        return weighted_sample_mean((offset - mean).pow(2).sum(-1).mean(-1),
                                    weight, 'LaplacianLoss')


@MODELS.register_module()
class PseudoMeshLoss(nn.Module):
    """L_pM (Section 3.4): the mesh losses against the pseudo ground truth
    (the frozen pre-fine-tuning model's mesh).

    ``forward(pred (B, V, 3), pseudo, faces, neighbour_index,
    neighbour_weight)``.

    Args:
        weights: (vertex, edge length, Laplacian); a 0 drops the term
            (handkit's reading (0, 1, 50): the paper keeps the edge and
            Laplacian terms, not verified).
    """

    def __init__(self, weights: Sequence[float] = (0.0, 1.0, 50.0)) -> None:
        super().__init__()
        self.weights = tuple(float(w) for w in weights)
        self.vertex = VertexL2Loss()
        self.edge = EdgeLengthLoss()
        self.laplacian = LaplacianLoss()

    def forward(self, pred: torch.Tensor, pseudo: torch.Tensor,
                faces: torch.Tensor, neighbour_index: torch.Tensor,
                neighbour_weight: torch.Tensor) -> torch.Tensor:
        w_vertex, w_edge, w_laplacian = self.weights
        total = pred.new_zeros(())
        if w_vertex:
            total = total + w_vertex * self.vertex(pred, pseudo)
        if w_edge:
            total = total + w_edge * self.edge(pred, pseudo, faces)
        if w_laplacian:
            total = total + w_laplacian * self.laplacian(
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


@MODELS.register_module()
class DepthMapL1Loss(nn.Module):
    """L_D = |R(M) - D^|_1 (Section 3.4) over the pixels that the rendered
    mesh and the depth image both cover.

    ``forward(vertices (B, V, 3) camera frame mm, faces (F, 3), cam_K (B, 3,
    3), depth (B, H, W) mm (0 = no depth), weight (B, 1) or None)``. The
    rendered depth of pixel p, seen on face f with perspective-correct
    barycentrics b (:func:`rasterize_visible`, no gradient), is
    ``z_p = sum_k b_k z(v_{f_k})``: exact for the visible plane, and
    differentiable in the vertices' depths (not in their image positions:
    which face a pixel sees is held fixed, docs/ge.md). Differences in mm
    times ``scale``; each sample's mean over its covered pixels, averaged
    over the samples with covered pixels (and ``weight`` > 0).

    Args:
        scale: L_D's unit, per mm (0.01: cm).
    """

    def __init__(self, scale: float = 0.01) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, vertices: torch.Tensor, faces: torch.Tensor,
                cam_K: torch.Tensor, depth: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        height, width = depth.shape[-2:]
        face_ids, barycentrics = rasterize_visible(vertices, faces, cam_K,
                                                   (width, height))
        batch = vertices.shape[0]
        covered = (face_ids >= 0) & (depth > 0)  # (B, H, W)
        safe = face_ids.clamp(min=0)
        corner_z = vertices[..., 2][torch.arange(
            batch, device=vertices.device)[:, None, None, None], faces[safe]]
        rendered = (barycentrics * corner_z).sum(-1)  # (B, H, W)
        error = ((rendered - depth).abs() * self.scale * covered).sum(
            (-2, -1))
        count = covered.sum((-2, -1)).to(vertices.dtype)
        per_sample = error / count.clamp(min=1)
        has = (count > 0).to(vertices.dtype)
        if weight is not None:
            has = has * weight.reshape(-1).to(vertices.dtype)
        return weighted_mean(per_sample, has)
