"""The mesh hierarchy of Ge et al.'s graph CNN: coarsening, pinned on disk.

Ge, Ren, Li, Xue, Wang, Cai and Yuan, "3D Hand Shape and Pose Estimation
from a Single RGB Image", CVPR 2019 (docs/ge.md), up-sample a coarse graph
to the hand mesh through a hierarchy of graphs made by the coarsening of
Defferrard, Bresson and Vandergheynst, "Convolutional Neural Networks on
Graphs with Fast Localized Spectral Filtering", NIPS 2016 (their Section
2.3, "Graph coarsening", and 2.4, "Fast pooling of graph signals"). This
module is handkit's own implementation from that description:

* **the graph**: the mesh's edges (every side of every triangle), weight 1,
  symmetric, no self-loops (the release's ``build_graph``: a binary
  adjacency);
* **one coarsening level** (Graclus' greedy heavy-edge matching, as
  Defferrard et al. use it): the nodes are visited in a seeded random
  order, stably re-sorted by increasing degree; an unmatched node is
  matched with the unmatched neighbour that maximises the normalised cut
  ``W_ij (1 / d_i + 1 / d_j)`` (the first in index order on a tie), or
  stays a singleton; each pair or singleton becomes one coarse node
  (numbered in the order it was made) whose edges are the sums of the
  pair's edges (``P^T W P``, the diagonal dropped);
* **the binary tree** (Section 2.4): from the coarsest level down, each
  coarse node's children are listed in pairs, a singleton's second child
  and both children of a fake node being *fake* nodes (no edges), so that
  at every level node ``p`` of the coarser graph has children ``2p`` and
  ``2p + 1``: pooling is a max over pairs and up-sampling a repeat by 2, as
  on a 1-D signal;
* **the Laplacian** of each level, in that order: the normalised
  ``L = I - D^-1/2 W D^-1/2`` (a fake node: ``L_ii = 1``), rescaled as
  ``L~ = 2 L / lmax - I`` for the Chebyshev recursion (Defferrard et al.
  eq. (4)) with ``lmax = 2``, the bound of a normalised Laplacian's
  spectrum (Defferrard et al.'s own default; the release computes each
  level's largest eigenvalue instead, a number whose last bits depend on
  LAPACK: with the bound the pinned file is exact arithmetic and
  ``L~ = -D^-1/2 W D^-1/2``).

The hierarchy depends on its input's every detail (the visiting order,
ties), so it is built once by ``tools/build_mesh_hierarchy.py`` and pinned
in ``data/open_hand_right_hierarchy.npz`` (the open hand's left model has
the same edges); ``--check`` rebuilds it and compares byte for byte.
Building loops over nodes in Python (offline, once); loading and using the
file does not.
"""
import hashlib
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from handkit.errors import HandkitUserError
from handkit.models.hand_model.layer import OPEN_HAND_DIR
from handkit.models.hand_model.pinned_files import stored_npz

#: the pinned hierarchy of the open hand (built by the tool below)
HIERARCHY_PATH = osp.join(OPEN_HAND_DIR, 'open_hand_right_hierarchy.npz')
BUILD_COMMAND = 'python tools/build_mesh_hierarchy.py'
#: Ge et al.'s release coarsens 4 times (1,280 -> 80 nodes)
DEFAULT_LEVELS = 4
DEFAULT_SEED = 0


class MeshHierarchyError(HandkitUserError, ValueError):
    """A hierarchy file that does not fit the hand model (one line)."""


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2) int64, ``i < j``, sorted, of the
    triangles ``faces`` (F, 3)."""
    faces = np.asarray(faces, np.int64)
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]],
                            faces[:, [2, 0]]])  # (3F, 2)
    return np.unique(np.sort(pairs, 1), axis=0)


def adjacency(edges: np.ndarray, num_nodes: int,
              weights: Optional[np.ndarray] = None) -> sp.csr_matrix:
    """Symmetric (N, N) csr matrix of undirected ``edges`` (E, 2)."""
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    values = (np.ones(len(edges)) if weights is None
              else np.asarray(weights, np.float64))
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    return sp.csr_matrix((np.concatenate([values, values]), (rows, cols)),
                         shape=(num_nodes, num_nodes))


def heavy_edge_matching(weights: sp.csr_matrix, rng: np.random.Generator
                        ) -> np.ndarray:
    """One Graclus-style level: (N,) coarse node of each node (module
    docstring). Loops over nodes (offline only)."""
    weights = sp.csr_matrix(weights)
    num = weights.shape[0]
    degree = np.asarray(weights.sum(1)).ravel()
    order = rng.permutation(num)
    order = order[np.argsort(degree[order], kind='stable')]
    cluster = np.full(num, -1, np.int64)
    count = 0
    for node in order:
        if cluster[node] >= 0:
            continue
        start, stop = weights.indptr[node], weights.indptr[node + 1]
        neighbours = weights.indices[start:stop]
        values = weights.data[start:stop]
        free = (cluster[neighbours] < 0) & (neighbours != node)
        cluster[node] = count
        if free.any():
            candidates = neighbours[free]
            score = values[free] * (1.0 / degree[node] +
                                    1.0 / degree[candidates])
            # the first in index order on a tie
            best = np.lexsort((candidates, -score))[0]
            cluster[candidates[best]] = count
        count += 1
    return cluster


def coarse_graph(weights: sp.csr_matrix, cluster: np.ndarray
                 ) -> sp.csr_matrix:
    """``P^T W P`` without its diagonal: the pairs' summed edges."""
    num_coarse = int(cluster.max()) + 1
    assign = sp.csr_matrix((np.ones(len(cluster)),
                            (np.arange(len(cluster)), cluster)),
                           shape=(len(cluster), num_coarse))
    coarse = (assign.T @ weights @ assign).tolil()
    coarse.setdiag(0)
    coarse = coarse.tocsr()
    coarse.eliminate_zeros()
    return coarse


def tree_orders(clusters: List[np.ndarray], sizes: List[int]
                ) -> List[np.ndarray]:
    """The binary-tree order of every level, finest first: ``orders[l]``
    (M 2^(L-l),) lists level l's nodes, ``>= sizes[l]`` for a fake one,
    so that ``orders[l][2p], orders[l][2p + 1]`` are the children of
    ``orders[l + 1][p]``."""
    levels = len(clusters)
    orders = [None] * (levels + 1)
    orders[levels] = np.arange(sizes[levels], dtype=np.int64)
    for level in range(levels - 1, -1, -1):
        cluster, size = clusters[level], sizes[level]
        children = [[] for _ in range(sizes[level + 1])]
        for node in np.argsort(cluster, kind='stable'):
            children[cluster[node]].append(int(node))
        order, fake = [], size
        for parent in orders[level + 1]:
            kids = children[parent] if parent < sizes[level + 1] else []
            kids = sorted(kids)
            while len(kids) < 2:
                kids.append(fake)
                fake += 1
            order.extend(kids)
        orders[level] = np.asarray(order, np.int64)
    return orders


def build_hierarchy(faces: np.ndarray, num_vertices: int,
                    levels: int = DEFAULT_LEVELS,
                    seed: int = DEFAULT_SEED) -> Dict[str, np.ndarray]:
    """The hierarchy's arrays (see :func:`hierarchy_bytes` for the keys)."""
    rng = np.random.default_rng(seed)
    edges = mesh_edges(faces)
    if edges.max() >= num_vertices:
        raise MeshHierarchyError(f'faces name vertex {edges.max()}, the '
                                 f'mesh has {num_vertices}')
    graphs = [adjacency(edges, num_vertices)]
    clusters, sizes = [], [num_vertices]
    for _ in range(levels):
        cluster = heavy_edge_matching(graphs[-1], rng)
        clusters.append(cluster)
        graphs.append(coarse_graph(graphs[-1], cluster))
        sizes.append(graphs[-1].shape[0])
    orders = tree_orders(clusters, sizes)
    arrays = dict(num_vertices=np.int64(num_vertices),
                  levels=np.int64(levels), seed=np.int64(seed),
                  sizes=np.asarray(sizes, np.int64),
                  padded_sizes=np.asarray([len(o) for o in orders],
                                          np.int64),
                  faces_sha256=np.str_(hashlib.sha256(np.ascontiguousarray(
                      np.asarray(faces, np.int64))).hexdigest()))
    for level, (graph, order) in enumerate(zip(graphs, orders)):
        # the level's edges in tree positions (fake nodes have none)
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        upper = sp.triu(graph, 1).tocoo()
        pairs = np.sort(np.stack([position[upper.row],
                                  position[upper.col]], 1), 1)
        keep = np.lexsort((pairs[:, 1], pairs[:, 0]))
        arrays[f'order_{level}'] = order
        arrays[f'edges_{level}'] = pairs[keep].astype(np.int32)
        arrays[f'weights_{level}'] = upper.data[keep].astype(np.float32)
    return arrays


def hierarchy_bytes(arrays: Dict[str, np.ndarray]) -> bytes:
    """The ``.npz`` of :func:`build_hierarchy`'s arrays: stored members in
    a fixed order with a fixed date (byte for byte reproducible).

    Keys: ``num_vertices``, ``levels``, ``seed``, ``sizes`` (L + 1,) the
    real nodes per level, ``padded_sizes`` (L + 1,) with the fake ones
    (``padded_sizes[l] = padded_sizes[L] 2^(L - l)``), ``faces_sha256``
    (of the int64 faces), and per level ``order_<l>`` (the tree order:
    node ids, fake ones ``>= sizes[l]``), ``edges_<l>`` (E, 2) int32 tree
    positions ``i < j`` and ``weights_<l>`` (E,) float32 (coarse edges
    carry the summed weights of the edges they merge)."""
    return stored_npz(arrays)


class MeshHierarchy:
    """A pinned hierarchy, read as data, with what the graph CNN needs.

    Attributes:
        num_vertices: V of the mesh it was built for.
        levels: L, the coarsenings.
        padded_sizes: nodes per level, fake ones included, finest first.
        orders: per level the tree order (node ids; fake ``>= sizes[l]``).
        vertex_positions: (V,) int64, where each mesh vertex sits in the
            finest level's tree order (``out[:, vertex_positions]`` are the
            vertices in the mesh's order).
        real_mask: (padded_sizes[0],) bool, True at a real vertex.
    """

    def __init__(self, arrays: Dict[str, np.ndarray], source: str) -> None:
        self.source = source
        self.num_vertices = int(arrays['num_vertices'])
        self.levels = int(arrays['levels'])
        self.sizes = [int(v) for v in arrays['sizes']]
        self.padded_sizes = [int(v) for v in arrays['padded_sizes']]
        self.orders = [np.asarray(arrays[f'order_{level}'], np.int64)
                       for level in range(self.levels + 1)]
        self.edges = [np.asarray(arrays[f'edges_{level}'], np.int64)
                      for level in range(self.levels + 1)]
        self.weights = [np.asarray(arrays[f'weights_{level}'], np.float64)
                        for level in range(self.levels + 1)]
        finest = self.orders[0]
        self.real_mask = finest < self.num_vertices
        self.vertex_positions = np.empty(self.num_vertices, np.int64)
        self.vertex_positions[finest[self.real_mask]] = np.nonzero(
            self.real_mask)[0]

    def check_vertices(self, num_vertices: int, model: str = 'the hand '
                       'model') -> None:
        """One line when the hand model's vertex count is not the
        hierarchy's."""
        if int(num_vertices) != self.num_vertices:
            raise MeshHierarchyError(
                f'{model} has {num_vertices} vertices but the mesh hierarchy '
                f'{self.source} was built for {self.num_vertices}: build one '
                f'for it with `{BUILD_COMMAND} --model <model file> --out '
                '<hierarchy.npz>` and pass it as hierarchy_path')

    def rescaled_laplacian(self, level: int) -> sp.csr_matrix:
        """``L~ = L - I = -D^-1/2 W D^-1/2`` of a level (lmax = 2, module
        docstring), in tree order, float64 csr (N_l, N_l)."""
        num = self.padded_sizes[level]
        weights = adjacency(self.edges[level], num, self.weights[level])
        degree = np.asarray(weights.sum(1)).ravel()
        scale = np.zeros(num)
        scale[degree > 0] = 1.0 / np.sqrt(degree[degree > 0])
        return sp.csr_matrix(-(sp.diags(scale) @ weights @ sp.diags(scale)))

    def upsample_matrix(self, level: int) -> sp.csr_matrix:
        """(N_level, N_level+1) 0/1 matrix: node ``p`` of level + 1 to its
        children ``2p`` and ``2p + 1`` of ``level``."""
        coarse = self.padded_sizes[level + 1]
        rows = np.arange(2 * coarse)
        return sp.csr_matrix((np.ones(2 * coarse), (rows, rows // 2)),
                             shape=(2 * coarse, coarse))


def load_mesh_hierarchy(path: Optional[str] = None) -> MeshHierarchy:
    """The hierarchy file at ``path`` (default: the open hand's)."""
    path = HIERARCHY_PATH if path is None else str(path)
    if not osp.isfile(path):
        raise MeshHierarchyError(f'mesh hierarchy {path}: no such file; '
                                 f'build it with `{BUILD_COMMAND}`')
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return MeshHierarchy(arrays, path)


def hierarchy_for_model(model_path: Optional[str] = None,
                        levels: int = DEFAULT_LEVELS,
                        seed: int = DEFAULT_SEED
                        ) -> Tuple[Dict[str, np.ndarray], str]:
    """Build the hierarchy of a hand model file (default: the open hand,
    right; its left model has the same edges) -> (arrays, model path)."""
    from handkit.models.hand_model.layer import open_hand_path
    from handkit.models.hand_model.model_file import load_hand_model
    path = open_hand_path('right') if model_path is None else model_path
    data = load_hand_model(path)
    return build_hierarchy(data.faces, data.num_vertices, levels, seed), path
