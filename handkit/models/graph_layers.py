"""Chebyshev graph convolution, graph up-sampling and pooling.

Defferrard, Bresson and Vandergheynst, "Convolutional Neural Networks on
Graphs with Fast Localized Spectral Filtering", NIPS 2016: a filter of
order K on a graph with rescaled Laplacian ``L~`` (their eq. (4), (5)) is

    y = sum_{k=0}^{K-1} theta_k T_k(L~) x,
    T_0(L~) x = x,  T_1(L~) x = L~ x,  T_k = 2 L~ T_{k-1} - T_{k-2},

with ``F_in x F_out`` coefficients per order (a linear layer on the K
stacked ``T_k x``: K F_in inputs). Ge et al. (CVPR 2019, Section 3.2) use
it with K = 3 on every level of their mesh hierarchy
(:mod:`handkit.models.hand_model.mesh_hierarchy`).

``L~ x`` is a sparse matrix product (``torch.sparse.mm``, about 30 times
faster than a gather on a CPU, backward included); under ONNX export,
which has no sparse tensors, it is the same sum written as a gather of
each node's neighbours from a padded neighbour table (node, slot) ->
(neighbour, weight) (the two agree to float rounding, tested).
Up-sampling repeats each node of the coarser level twice and pooling takes
the max over pairs: the hierarchy's binary-tree order makes both a 1-D
operation (Defferrard et al. Section 2.4).
"""
from typing import Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


def neighbour_table(matrix: Union[np.ndarray, sp.spmatrix]
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """A square matrix as ``(index (N, D) int64, weight (N, D) float32)``:
    row ``i``'s non-zeros (the diagonal included), padded with weight 0 at
    index ``i``; D is the largest row count."""
    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    counts = np.diff(matrix.indptr)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    num = matrix.shape[0]
    index = np.repeat(np.arange(num, dtype=np.int64)[:, None], width, 1)
    weight = np.zeros((num, width), np.float32)
    rows = np.repeat(np.arange(num), counts)
    slots = np.arange(len(rows)) - np.repeat(matrix.indptr[:-1], counts)
    index[rows, slots] = matrix.indices
    weight[rows, slots] = matrix.data
    return index, weight


class ChebConv(nn.Module):
    """Chebyshev graph convolution of order K (module docstring).

    Args:
        in_channels, out_channels: features per node.
        laplacian: (N, N) rescaled Laplacian ``L~`` (scipy sparse or
            dense numpy), fixed.
        order: K, the number of Chebyshev terms (Ge et al.: 3).
        bias: the linear layer's bias.

    ``forward(x (B, N, in_channels))`` -> (B, N, out_channels).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 laplacian: Union[np.ndarray, sp.spmatrix], order: int = 3,
                 bias: bool = True) -> None:
        super().__init__()
        if order < 1:
            raise ValueError(f'ChebConv: order must be >= 1, got {order}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.order = int(order)
        index, weight = neighbour_table(laplacian)
        self.num_nodes = index.shape[0]
        coo = sp.csr_matrix(laplacian).tocoo()  # row-major: coalesced
        self.register_buffer('sparse_index', torch.from_numpy(np.stack(
            [coo.row, coo.col]).astype(np.int64)), persistent=False)
        self.register_buffer('sparse_value', torch.from_numpy(
            coo.data.astype(np.float32)), persistent=False)
        self.register_buffer('neighbour_index', torch.from_numpy(index),
                             persistent=False)
        self.register_buffer('neighbour_weight', torch.from_numpy(weight),
                             persistent=False)
        self.linear = nn.Linear(self.order * in_channels, out_channels,
                                bias=bias)

    def propagate(self, x: torch.Tensor) -> torch.Tensor:
        """``L~ x`` for x (B, N, F)."""
        if torch.onnx.is_in_onnx_export():
            return self.propagate_gather(x)
        batch, nodes, channels = x.shape
        matrix = torch.sparse_coo_tensor(
            self.sparse_index, self.sparse_value, (nodes, nodes),
            is_coalesced=True, check_invariants=False)
        flat = x.transpose(0, 1).reshape(nodes, batch * channels)
        # float32 (sparse products have no bfloat16 backward on a CPU)
        with torch.autocast(x.device.type, enabled=False):
            out = torch.sparse.mm(matrix, flat.float())  # (N, B F)
        return out.to(x.dtype).reshape(nodes, batch, channels).transpose(
            0, 1)

    def propagate_gather(self, x: torch.Tensor) -> torch.Tensor:
        """``L~ x`` as a gather from the neighbour table (ONNX)."""
        gathered = x[:, self.neighbour_index]  # (B, N, D, F)
        weight = self.neighbour_weight.to(x.dtype)[None, :, :, None]
        return (gathered * weight).sum(2)  # (B, N, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.num_nodes:
            raise ValueError(f'ChebConv: {x.shape[1]} nodes, the Laplacian '
                             f'has {self.num_nodes}')
        terms = [x]  # T_0 x
        if self.order > 1:
            terms.append(self.propagate(x))  # T_1 x = L~ x
        for _ in range(2, self.order):
            terms.append(2 * self.propagate(terms[-1]) - terms[-2])
        return self.linear(torch.cat(terms, -1))  # (B, N, out)


def graph_upsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """(B, N, F) -> (B, factor N, F): node p to nodes factor p ..
    factor p + factor - 1 (the hierarchy's tree order)."""
    return x.repeat_interleave(factor, dim=1)


def graph_max_pool(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """(B, N, F) -> (B, N / factor, F): the max over each node's
    ``factor`` children (the hierarchy's tree order)."""
    batch, nodes, channels = x.shape
    return x.reshape(batch, nodes // factor, factor, channels).amax(2)
