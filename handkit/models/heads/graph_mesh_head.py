"""Ge et al.'s graph CNN: heat maps and features -> hand mesh -> 3D pose.

Ge, Ren, Li, Xue, Wang, Cai and Yuan, "3D Hand Shape and Pose Estimation
from a Single RGB Image", CVPR 2019 (docs/ge.md). The stacked hourglass
(:class:`~handkit.models.backbones.StackedHourglass`, the backbone) gives
heat maps and features; :class:`GraphMeshHead` is the rest (Section 3.2):

* **features** (the release's ``Net_HM_Feat``; facts read, not copied):
  ``conv1x1(heat maps) + conv1x1(features)`` (+ the previous stack's
  features), 4 blocks of 2 residuals and a 2 x 2 max-pooling (64 -> 4
  pixels), flattened: 256 x 4 x 4 = 4096 numbers at 256 x 256;
* **mesh** (Section 3.2, "Graph CNN for mesh generation"): FC 4096 -> 512
  (ReLU) -> ``N_L`` x 64 (the coarsest graph's nodes), then per level from
  the coarsest to the mesh an up-sampling by 2 and a Chebyshev graph
  convolution (K = 3; :class:`~handkit.models.graph_layers.ChebConv`) with
  BN + ReLU, the last to 3 coordinates; widths 64, 32, 32, 3 (the
  release's: 64 -> 64 -> 32 -> 32 -> 3);
* **pose** (Section 3.2, "Graph CNN for 3D pose estimation"): Chebyshev
  convolutions on the mesh (3 -> 32 -> 32), max-pooling by 4, (32 -> 64 ->
  64), pooling by 4, FC -> 512 -> the 21 joints' root-relative x, y, z
  (the release regresses 20 relative depths and takes x, y from the heat
  maps; handkit regresses all three, and ReLUs between the layers, which
  the release leaves out).

The mesh hierarchy is the pinned file of
:mod:`handkit.models.hand_model.mesh_hierarchy`; the hand model (the open
hand, or a MANO file through ``hand_model.model_path``) gives the faces of
the losses and the joint regressor of ``keypoints_3d_mesh`` (the model's
J_regressor and fingertip vertices on the predicted mesh, handkit's joint
order), beside the learned regressor's ``keypoints_3d``.

Coordinates are root-relative (the wrist), in units of ``unit_mm``
(:class:`~handkit.codecs.mesh_targets.RootRelativeMesh`).
"""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from handkit.codecs.base import BaseCodec
from handkit.models.backbones.residual_hourglass import PreActBottleneck
from handkit.models.graph_layers import (ChebConv, graph_max_pool,
                                         graph_upsample, neighbour_table)
from handkit.models.hand_model.layer import (handkit_joint_order,
                                             open_hand_path)
from handkit.models.hand_model.mesh_hierarchy import (adjacency,
                                                      load_mesh_hierarchy,
                                                      mesh_edges)
from handkit.models.hand_model.model_file import (HandModelData,
                                                  load_hand_model)
from handkit.models.heads.base_head import BaseHead
from handkit.models.losses.combined import CombinedLoss
from handkit.registry import CODECS, MODELS

# The terms of ``losses``, in the order ``loss`` reports them; the mesh
# terms (L_M) compare with the true mesh.
LOSS_NAMES = ('heatmap', 'vertex', 'normal', 'edge', 'laplacian', 'joint',
              'depth', 'pseudo')
MESH_TERMS = ('vertex', 'normal', 'edge', 'laplacian')


class GraphMeshDecoder(nn.Module):
    """(B, in_features) -> (B, N_0, out_channels) through the hierarchy:
    FC -> (B, N_L, channels[0]), then per level (coarse to fine) up-sample
    by 2 and a ChebConv (BN + ReLU but after the last)."""

    def __init__(self, in_features: int, hidden: int, laplacians: List,
                 channels: Sequence[int], order: int) -> None:
        super().__init__()
        levels = len(laplacians) - 1
        if len(channels) != levels:
            raise ValueError(f'GraphMeshDecoder: {len(channels)} widths '
                             f'for {levels} levels (one per level)')
        self.coarse_nodes = laplacians[-1].shape[0]
        self.channels = tuple(channels)
        self.fc = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, self.coarse_nodes * channels[0]))
        convs, norms = [], []
        outputs = list(channels[1:]) + [3]
        for step, level in enumerate(range(levels - 1, -1, -1)):
            convs.append(ChebConv(channels[step], outputs[step],
                                  laplacians[level], order))
            last = step == levels - 1
            norms.append(nn.Identity() if last else
                         nn.BatchNorm1d(outputs[step]))
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(x).reshape(len(x), self.coarse_nodes, self.channels[0])
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv(graph_upsample(x))  # (B, 2N, F)
            if index + 1 < len(self.convs):
                x = torch.relu(norm(x.transpose(1, 2)).transpose(1, 2))
        return x  # (B, N_0, 3)


class GraphPoseRegressor(nn.Module):
    """(B, N_0, 3) mesh -> (B, num_joints, 3): per block two ChebConvs
    (ReLU) on its level, max-pooling by 4 (two levels), then FC -> hidden
    (ReLU) -> 3 num_joints."""

    def __init__(self, laplacians: List, channels: Sequence[int],
                 hidden: int, num_joints: int, order: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        layers, widths = [], [3] + list(channels)
        for block in range(len(channels)):
            level = 2 * block
            layers.append(nn.ModuleList([
                ChebConv(widths[block], widths[block + 1], laplacians[level],
                         order),
                ChebConv(widths[block + 1], widths[block + 1],
                         laplacians[level], order)]))
        self.blocks = nn.ModuleList(layers)
        nodes = laplacians[2 * len(channels)].shape[0]
        self.fc = nn.Sequential(
            nn.Linear(nodes * widths[-1], hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_joints * 3))

    def forward(self, mesh: torch.Tensor) -> torch.Tensor:
        x = mesh
        for convs in self.blocks:
            for conv in convs:
                x = torch.relu(conv(x))
            x = graph_max_pool(x, 4)
        return self.fc(x.flatten(1)).reshape(len(x), self.num_joints, 3)


@MODELS.register_module()
class GraphMeshHead(BaseHead):
    """Ge et al.'s mesh and pose networks and their fully supervised losses
    (module docstring; docs/ge.md).

    Args:
        in_channels: the hourglass' features (256).
        num_keypoints: heat maps and joints (21).
        heatmap_size: (w, h) of the heat maps (64, 64 at 256 px).
        input_size: (W, H) of the network input.
        decoder: the ``KeypointConfidenceMap`` codec of the heat maps
            (their 2D keypoints).
        hand_model: ``HandModelLayer`` config: faces, joint regressor,
            fingertips (``model_path`` for a MANO file).
        hierarchy_path: the pinned hierarchy (default: the open hand's);
            its vertex count must be the hand model's.
        num_blocks, num_modules: down-sampling blocks (4) and residuals per
            block (2) between the maps and the FC layer.
        fc_hidden: 512.
        mesh_channels: widths from the coarsest graph on (64, 64, 32, 32:
            one per level, then 3).
        pose_channels: (32, 64); pose_hidden: 512.
        cheb_order: K (3).
        unit_mm: mm per unit of the coordinates (the codec's).
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`), each term
            reported as ``loss_<name>``; a term left out or of weight 0 is
            off (its targets are not read). The fully supervised terms
            (the default, docs/ge.md): ``heatmap`` (L_H,
            ``HeatmapL2Loss``), ``vertex``, ``normal``, ``edge``,
            ``laplacian`` (L_M: ``VertexL2Loss``, ``NormalLoss``,
            ``EdgeLengthLoss``, ``LaplacianLoss``, weighted 1, 1, 1, 50)
            and ``joint`` (L_J, ``SquaredDistanceLoss``); the weakly
            supervised ``depth`` (L_D, ``DepthMapL1Loss(scale=0.01)``: cm)
            and ``pseudo`` (L_pM, ``PseudoMeshLoss(weights=(0, 1, 50))``),
            :class:`WeakGraphMeshHead`'s.
    """

    #: the fully supervised stage needs true meshes (``preflight``)
    required_labels = ('keypoints_3d', 'vertices')

    def __init__(self, in_channels: int = 256, num_keypoints: int = 21,
                 heatmap_size: Sequence[int] = (64, 64),
                 input_size: Sequence[int] = (256, 256),
                 decoder: Optional[dict] = None,
                 hand_model: dict = dict(type='HandModelLayer'),
                 hierarchy_path: Optional[str] = None,
                 num_blocks: int = 4, num_modules: int = 2,
                 fc_hidden: int = 512,
                 mesh_channels: Sequence[int] = (64, 64, 32, 32),
                 pose_channels: Sequence[int] = (32, 64),
                 pose_hidden: int = 512, cheb_order: int = 3,
                 unit_mm: float = 100.0,
                 losses: Mapping[str, dict] = dict(
                     heatmap=dict(type='HeatmapL2Loss', loss_weight=1.0),
                     vertex=dict(type='VertexL2Loss', loss_weight=1.0),
                     normal=dict(type='NormalLoss', loss_weight=1.0),
                     edge=dict(type='EdgeLengthLoss', loss_weight=1.0),
                     laplacian=dict(type='LaplacianLoss', loss_weight=50.0),
                     joint=dict(type='SquaredDistanceLoss', loss_weight=1.0)),
                 prior_channels: int = 0) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.num_keypoints = int(num_keypoints)
        self.heatmap_size = tuple(int(v) for v in heatmap_size)
        self.input_size = tuple(int(v) for v in input_size)
        self.prior_channels = int(prior_channels)
        self.unit_mm = float(unit_mm)
        self.decoder = (decoder if isinstance(decoder, BaseCodec) or
                        decoder is None else CODECS.build(decoder))
        self.loss_module = CombinedLoss(losses, LOSS_NAMES,
                                        type(self).__name__)

        data = self._hand_model_data(hand_model)
        num_vertices = int(data.num_vertices)
        self.hierarchy = load_mesh_hierarchy(hierarchy_path)
        self.hierarchy.check_vertices(
            num_vertices, hand_model.get('model_path') or 'the hand model')
        if len(mesh_channels) != self.hierarchy.levels:
            raise ValueError(
                f'GraphMeshHead: mesh_channels has {len(mesh_channels)} '
                f'widths, the hierarchy {self.hierarchy.levels} levels')
        self.num_vertices = num_vertices
        laplacians = [self.hierarchy.rescaled_laplacian(level)
                      for level in range(self.hierarchy.levels + 1)]
        # the Laplacian loss' neighbour means: row-normalised adjacency
        graph = adjacency(mesh_edges(data.faces), num_vertices)
        degree = np.asarray(graph.sum(1)).ravel()
        lap_index, lap_weight = neighbour_table(sp.diags(1.0 / degree) @
                                                graph)

        def buffer(name, array, dtype):
            self.register_buffer(name, torch.as_tensor(
                np.asarray(array), dtype=dtype), persistent=False)

        buffer('faces', data.faces, torch.int64)
        buffer('J_regressor', data.J_regressor, torch.float32)
        buffer('tip_vertex_ids', data.tip_vertex_ids, torch.int64)
        buffer('handkit_order', handkit_joint_order(data.joint_order),
               torch.int64)
        buffer('vertex_positions', self.hierarchy.vertex_positions,
               torch.int64)
        buffer('real_mask', self.hierarchy.real_mask[None, :, None],
               torch.float32)
        buffer('lap_index', lap_index, torch.int64)
        buffer('lap_weight', lap_weight, torch.float32)

        channels = self.in_channels
        self.heatmap_conv = nn.Conv2d(self.num_keypoints, channels, 1)
        self.feature_conv = nn.Conv2d(channels, channels, 1)
        blocks = []
        for _ in range(num_blocks):
            blocks.extend(PreActBottleneck(channels)
                          for _ in range(num_modules))
            blocks.append(nn.MaxPool2d(2))
        self.down = nn.Sequential(*blocks)
        width, height = self.heatmap_size
        scale = 2**num_blocks
        if width % scale or height % scale:
            raise ValueError(f'GraphMeshHead: heatmap_size {heatmap_size} '
                             f'must be a multiple of {scale} ({num_blocks} '
                             'down-sampling blocks)')
        self.num_features = channels * (width // scale) * (height // scale)
        self.mesh_decoder = GraphMeshDecoder(
            self.num_features, fc_hidden, laplacians, mesh_channels,
            cheb_order)
        self.pose_regressor = GraphPoseRegressor(
            laplacians, pose_channels, pose_hidden, self.num_keypoints,
            cheb_order)

    @staticmethod
    def _hand_model_data(hand_model: dict) -> HandModelData:
        """The hand model file a ``HandModelLayer`` config names, read as
        data (faces, joint regressor, fingertips; nothing is built)."""
        config = dict(hand_model)
        kind = config.pop('type', 'HandModelLayer')
        if kind != 'HandModelLayer':
            raise ValueError(f"GraphMeshHead: hand_model must be a "
                             f"HandModelLayer config, got type {kind!r}")
        side = config.get('side')
        path = config.get('model_path') or open_hand_path(side or 'right')
        return load_hand_model(
            path, fix_left_shapedirs=config.get('fix_left_shapedirs', True),
            tip_vertex_ids=config.get('tip_vertex_ids'), side=side)

    # -- forward ---------------------------------------------------------

    def forward(self, feats: Mapping[str, List[torch.Tensor]],
                prior: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        self.check_prior(prior)
        heatmaps, features = list(feats['heatmaps']), list(feats['features'])
        self.check_features(features[-1])
        x = self.heatmap_conv(heatmaps[-1]) + self.feature_conv(features[-1])
        if len(features) > 1:
            x = x + features[-2]  # (B, C, h, w)
        x = self.down(x).flatten(1)  # (B, C h w / 4^blocks)
        mesh = self.mesh_decoder(x) * self.real_mask  # (B, N_0, 3)
        vertices = mesh[:, self.vertex_positions]  # (B, V, 3)
        joints = self.pose_regressor(mesh)  # (B, 21, 3)
        return dict(heatmaps=heatmaps, vertices=vertices, joints=joints,
                    joints_mesh=self.regress_joints(vertices))

    def regress_joints(self, vertices: torch.Tensor) -> torch.Tensor:
        """The hand model's 21 joints of (B, V, 3) vertices: J_regressor's
        16 and the 5 fingertip vertices, in handkit's order."""
        joints16 = torch.einsum('jv,bvc->bjc', self.J_regressor, vertices)
        tips = vertices[:, self.tip_vertex_ids]
        return torch.cat([joints16, tips], 1)[:, self.handkit_order]

    # -- losses ----------------------------------------------------------

    def loss(self, outputs: Dict[str, torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        terms = self.loss_module
        losses = {}
        if terms.active('heatmap'):
            target = self.require_target(batch, 'heatmaps', 'L_H')
            weight = self.require_target(batch, 'keypoint_weights')
            losses['loss_heatmap'] = terms('heatmap', outputs['heatmaps'],
                                           target, weight)
        vertices = outputs['vertices']
        if any(terms.active(name) for name in MESH_TERMS):
            true = self.require_target(batch, 'mesh_vertices',
                                       'L_M: RootRelativeMesh')
            if true.shape[1] != vertices.shape[1]:
                raise ValueError(
                    f'GraphMeshHead: the true meshes have {true.shape[1]} '
                    f'vertices, the hand model {vertices.shape[1]}')
            weight = self.require_target(batch, 'mesh_weight')
            # each mesh term's arguments between the meshes and the weight
            mesh_args = dict(vertex=(), normal=(self.faces, ),
                             edge=(self.faces, ),
                             laplacian=(self.lap_index, self.lap_weight))
            for name, args in mesh_args.items():
                if terms.active(name):
                    losses[f'loss_{name}'] = terms(name, vertices, true,
                                                   *args, weight)
        if terms.active('joint'):
            losses['loss_joint'] = terms(
                'joint', outputs['joints'],
                self.require_target(batch, 'mesh_joints',
                                    'L_J: RootRelativeMesh'))
        if terms.active('depth'):
            losses['loss_depth'] = self._depth_loss(vertices, batch)
        if terms.active('pseudo'):
            pseudo = self.require_target(
                batch, 'pseudo_vertices',
                "L_pM: CascadeEstimator(pseudo_label=dict(...))")
            losses['loss_pseudo'] = terms('pseudo', vertices,
                                          pseudo.detach(), self.faces,
                                          self.lap_index, self.lap_weight)
        return losses

    def _depth_loss(self, vertices: torch.Tensor,
                    batch: dict) -> torch.Tensor:
        """Weighted L_D: the predicted mesh, placed at the true root
        (``root_3d``), rendered into the crop (``crop_K``) against
        ``depth_target`` (:class:`~handkit.codecs.mesh_targets.
        CropDepthTarget`)."""
        why = 'L_D: CropDepthTarget'
        depth = self.require_target(batch, 'depth_target', why)
        crop_k = self.require_target(batch, 'crop_K', why)
        root = self.require_target(batch, 'root_3d', why)
        camera = vertices * self.unit_mm + root[:, None]  # (B, V, 3) mm
        return self.loss_module('depth', camera, self.faces, crop_k, depth,
                                self.require_target(batch, 'depth_weight'))

    # -- predictions -----------------------------------------------------

    def predict_tensors(self, outputs: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        return dict(heatmaps=outputs['heatmaps'][-1],
                    vertices=outputs['vertices'] * self.unit_mm,
                    keypoints_3d=outputs['joints'] * self.unit_mm,
                    keypoints_3d_mesh=outputs['joints_mesh'] * self.unit_mm)

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> Dict[str, np.ndarray]:
        out = dict(keypoints_3d=np.asarray(tensors['keypoints_3d']),
                   vertices=np.asarray(tensors['vertices']),
                   keypoints_3d_mesh=np.asarray(
                       tensors['keypoints_3d_mesh']))
        if self.decoder is not None:
            keypoints, scores = self.decoder.decode(tensors['heatmaps'])
            out.update(keypoints=keypoints, scores=scores)
        return out


@MODELS.register_module()
class WeakGraphMeshHead(GraphMeshHead):
    """:class:`GraphMeshHead` for the weakly supervised stage (Ge et al.
    Section 3.4): L = L_H + L_D + L_pM by default, no true mesh needed
    (``required_labels``: none; the depth-map codec names its own)."""

    required_labels = ()

    def __init__(self,
                 losses: Mapping[str, dict] = dict(
                     heatmap=dict(type='HeatmapL2Loss', loss_weight=1.0),
                     depth=dict(type='DepthMapL1Loss', scale=0.01,
                                loss_weight=1.0),
                     pseudo=dict(type='PseudoMeshLoss',
                                 weights=(0.0, 1.0, 50.0), loss_weight=1.0)),
                 **kwargs) -> None:
        super().__init__(losses=losses, **kwargs)
