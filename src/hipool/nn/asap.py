r"""ASAP: Adaptive Structure Aware Pooling (Ranjan, Sanyal & Talukdar, AAAI 2020).

Every node ``c`` is the centre of a cluster, its 1-hop neighbourhood (itself
included).  A master-query attention weighs the members,
:math:`S_{uc} = \mathrm{softmax}_{u \to c}\big(\mathrm{LeakyReLU}(w^\top
[\,W\max_{v \to c} \tilde x_v \,\|\, \tilde x_u] + b)\big)`, the cluster's features are
:math:`x^c_c = \sum_{u \to c} S_{uc}\, x_u`, an LEConv scores each cluster's
fitness :math:`\phi = \sigma(\mathrm{LEConv}(X^c))`, the best ``k`` clusters per
graph are kept with :math:`x'_i = \phi_i x^c_i`, and the pooled graph is
:math:`A' = S^\top A S` over the kept clusters.

:class:`ASAPooling` is keyword- and ``state_dict``-compatible with PyG's class of
the same name and, given the same weights and input, returns the same tensors
(``tests/nn/test_asap.py``), computed with less work:

* the attention logit is split as ``(W q)·w₁ + x̃·w₂``: two per-node scalars
  gathered per edge instead of an ``[E, 2F]`` concatenation through a linear layer;
* LEConv with one output channel is three per-node scalars and two scalar sums
  over edges, not a message-passing call;
* the cluster features ``Sᵀ X`` are one CSR sparse-dense product;
* the master query's neighbourhood max is torch's CSR max-product
  (``torch.sparse.mm(A, X, "amax")``), whose backward scatters ``[N, F]`` values
  (autograd through ``X[src]`` and a scatter-max scatters ``[E, F]``);
* ``SᵀAS`` is two CSR products whose operands are built straight from the
  target-sorted edges (no COO → CSR conversions); without edge weights PyG
  returns only its structure, so no values are carried.

The pooled ``edge_index`` has the same edges as PyG's, with rows in order; the
order within a row is whatever the sparse product gives, in PyG as here.
When several neighbours tie for the master query's maximum, the gradient goes to
the first of them (PyG's splits it evenly); the values are the same.

One difference, on purpose: PyG ranks clusters by ``tanh(φ · sign(p))`` where
``p`` is a ``[1, 1]`` parameter (``select.weight``) that no loss ever reaches; it is
drawn once, from U(-1, 1), so half of PyG's models keep the *least* fit clusters
for good.  We rank by ``φ`` as the paper does, and keep ``select.weight`` only so
PyG ``state_dict`` s load; with ``select.weight > 0`` both agree.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import LEConv
from torch_geometric.nn.inits import uniform
from torch_geometric.utils import (
    add_remaining_self_loops,
    coalesce,
    remove_self_loops,
    softmax,
)

from ..checks import check_ratio, prepare_pool_input
from ..record import PoolOutput
from .functional import csr_crow, csr_tensor, gather_as
from .select import topk


@dataclass(repr=False)
class ASAPOutput(PoolOutput):
    """:class:`~hipool.record.PoolOutput` of :class:`ASAPooling`; unpacks like PyG's
    ``(x, edge_index, edge_weight, batch, perm)``."""

    _tuple_fields = ("x", "edge_index", "edge_weight", "batch", "perm")


class _SelectWeight(torch.nn.Module):
    """Holds PyG's unused ``select.weight`` so that PyG state_dicts load."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(1, 1), requires_grad=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        uniform(1, self.weight)


class ASAPooling(torch.nn.Module):
    r"""Adaptive Structure Aware Pooling (see the module docstring).

    Args:
        in_channels: width of ``x``.
        ratio: as in :class:`~hipool.nn.TopKPooling`: float in (0, 1] or int ``k``.
            Default ``0.5``.
        GNN: optional class of an intra-cluster layer run before the attention,
            built as ``GNN(in_channels, in_channels, **kwargs)`` and called with
            ``edge_weight`` (e.g. ``GraphConv``, ``GCNConv``).  Default ``None``.
        dropout: dropout on the attention coefficients while training.  Default ``0``.
        negative_slope: of the LeakyReLU.  Default ``0.2``.
        add_self_loops: give the pooled graph self-loops (else they are removed).
            Default ``False``.

    ``forward(x, edge_index, edge_weight=None, batch=None)`` returns an
    :class:`ASAPOutput` (an ``edge_attr`` keyword is accepted and not carried: the
    pooled edges are new).  ``edge_weight`` of the output is ``SᵀAS`` when weights
    were given (differentiable), ``None`` otherwise (PyG's behaviour).  Its
    ``assignment`` is ``S`` over the kept clusters, a sparse ``[N, N']`` tensor,
    and ``cluster`` sends every input node to the kept cluster it weighs most in
    (``DROPPED`` if it is in none).
    """

    def __init__(self, in_channels: int, ratio: Union[float, int] = 0.5, GNN: Optional[Callable] = None,
                 dropout: float = 0.0, negative_slope: float = 0.2, add_self_loops: bool = False,
                 **kwargs):
        super().__init__()
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"ASAPooling: 'in_channels' must be a positive int, got {in_channels!r}")
        if ratio is None:
            raise ValueError("ASAPooling: 'ratio' must be a float in (0, 1] or an int k >= 1, got None")
        check_ratio(ratio, "ASAPooling")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"ASAPooling: 'dropout' must be a number in [0, 1), got {dropout!r}")
        self.in_channels = in_channels
        self.ratio = ratio
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.GNN = GNN
        self.add_self_loops = add_self_loops
        self.lin = torch.nn.Linear(in_channels, in_channels)
        self.att = torch.nn.Linear(2 * in_channels, 1)
        self.gnn_score = LEConv(in_channels, 1)
        self.gnn_intra_cluster = GNN(in_channels, in_channels, **kwargs) if GNN is not None else None
        self.select = _SelectWeight()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.att.reset_parameters()
        self.gnn_score.reset_parameters()
        if self.gnn_intra_cluster is not None:
            self.gnn_intra_cluster.reset_parameters()
        self.select.reset_parameters()

    def _fitness(self, x: Tensor, src: Tensor, dst: Tensor, indeg: Tensor) -> Tensor:
        # LEConv(x) with one channel: Σ_{j→i} (lin1(x_j) − lin2(x_i)) + lin3(x_i).
        conv = self.gnn_score
        a, b, c = conv.lin1(x).view(-1), conv.lin2(x).view(-1), conv.lin3(x).view(-1)
        out = torch.zeros_like(a).index_add_(0, dst, a[src])
        return torch.sigmoid(out - indeg * b + c)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None) -> ASAPOutput:
        # edge_attr is accepted so that every pooler takes the same keywords; the pooled
        # edges are paths of length up to three, with no attributes of their own.
        x, batch = prepare_pool_input(x, edge_index, batch, edge_attr, edge_weight, "ASAPooling",
                                      self.in_channels)
        n = x.size(0)
        edge_index, edge_weight = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0,
                                                           num_nodes=n)
        # Edges sorted by (target, source): rows of CSR matrices by target, and repeated
        # edges side by side.
        order = torch.argsort(edge_index[1] * max(n, 1) + edge_index[0])
        edge_index = edge_index[:, order]
        if edge_weight is not None:
            edge_weight = edge_weight[order]
        src, dst = edge_index
        indeg = torch.bincount(dst, minlength=n)
        # Repeated edges side by side: PyG's sparse S and A sum them; so do we, for the products.
        first = torch.ones_like(src, dtype=torch.bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        pair = torch.cumsum(first, 0) - 1
        p_src, p_dst = src[first], dst[first]

        x_pool = x
        if self.gnn_intra_cluster is not None:
            x_pool = self.gnn_intra_cluster(x=x, edge_index=edge_index, edge_weight=edge_weight)

        # Attention logit att([lin(q_c) || x̃_u]) = q_c·(Wᵀw₁) + lin.b·w₁ + x̃_u·w₂ + att.b.
        w1, w2 = self.att.weight.view(2, -1)
        # The master query max_{u→c} x̃_u: a CSR max-product (fast kernel, [N, F] backward).
        crow_in = csr_crow(p_dst, n)
        in_nbrs = csr_tensor(crow_in, p_src, x_pool.new_ones(p_src.numel()), (n, n))
        q = torch.sparse.mm(in_nbrs, x_pool, "amax")
        logit_c = q @ (self.lin.weight.t() @ w1) + self.lin.bias @ w1 + self.att.bias
        score = logit_c[dst] + (x_pool @ w2)[src]
        score = softmax(F.leaky_relu(score, self.negative_slope), dst, num_nodes=n)
        score = F.dropout(score, p=self.dropout, training=self.training)

        # Cluster features Sᵀ X: out[c] = Σ_{u→c} S_uc x_u.
        xc = gather_as(edge_index.flip(0), score, x)
        fitness = self._fitness(xc, src, dst, indeg.to(xc.dtype))
        perm = topk(fitness, self.ratio, batch)
        x_out = xc[perm] * fitness[perm].view(-1, 1)
        k = perm.numel()

        p_score = score.new_zeros(p_src.numel()).index_add(0, pair, score)
        p_weight = None
        if edge_weight is not None:
            p_weight = edge_weight.new_zeros(p_src.numel()).index_add(0, pair, edge_weight)
        new_ei, new_ew, (s_row, s_col, s_val) = _coarsen_csr(p_src, p_dst, crow_in, p_weight, p_score,
                                                             perm, n)
        if self.add_self_loops:
            new_ei, new_ew = add_remaining_self_loops(new_ei, new_ew, num_nodes=k)
            new_ei, new_ew = coalesce(new_ei, new_ew, num_nodes=k)  # loops into sorted order
        else:
            new_ei, new_ew = remove_self_loops(new_ei, new_ew)

        # Distinct entries sorted by (row, col) by construction (tested under torch's invariant
        # checks): no coalesce, and no invariant check either.
        assignment = torch.sparse_coo_tensor(torch.stack([s_row, s_col]), s_val, (n, k),
                                             is_coalesced=True, check_invariants=False)
        cluster = _strongest_cluster(s_row, s_col, s_val.detach(), n, k)
        return ASAPOutput(x=x_out, edge_index=new_ei, edge_attr=None, batch=batch[perm], perm=perm,
                          score=fitness[perm], cluster=cluster, assignment=assignment,
                          edge_weight=new_ew)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, ratio={self.ratio})"


def _strongest_cluster(s_row: Tensor, s_col: Tensor, s_val: Tensor, n: int, k: int) -> Tensor:
    """For every input node the kept cluster with its largest ``S`` entry (lowest index on ties),
    ``DROPPED`` (-1) when it belongs to none.  Entries are distinct (repeated edges summed)."""
    if s_row.numel() == 0:
        return torch.full((n,), -1, dtype=torch.long, device=s_row.device)
    best = torch.full((n,), float("-inf"), dtype=s_val.dtype, device=s_val.device)
    best.scatter_reduce_(0, s_row, s_val, "amax")
    candidate = torch.where(s_val == best[s_row], s_col, k)
    cluster = torch.full((n,), k, dtype=torch.long, device=s_row.device)
    cluster.scatter_reduce_(0, s_row, candidate, "amin")
    return torch.where(cluster == k, -1, cluster)


def _coarsen_csr(src: Tensor, dst: Tensor, crow_in: Tensor, weight: Optional[Tensor], score: Tensor,
                 perm: Tensor, n: int):
    """``Sᵀ A S`` over the kept clusters as two CSR products.

    ``(src, dst)`` are distinct edges sorted by (target, source), every node with a
    self-loop, ``crow_in`` their row pointers by target; ``score`` is ``S`` on them.  Every CSR operand gets sorted, distinct
    columns within its rows (torch's sparse backward needs them).  Values and gradients
    only when ``weight`` is given.  Returns the pooled edges, their weights (or
    ``None``) and ``S`` over the kept clusters as ``(row, col, val)`` sorted by (row, col).
    """
    device = src.device
    k = perm.numel()
    weighted = weight is not None
    # Sᵀ: row i holds the in-edges of perm[i], a run of the target-sorted edges (sources sorted).
    ptr = crow_in[:-1]
    run = (crow_in[1:] - ptr)[perm]
    crow_st = torch.zeros(k + 1, dtype=torch.long, device=device)
    crow_st[1:] = torch.cumsum(run, 0)
    pick = torch.repeat_interleave(ptr[perm] - crow_st[:-1], run) + torch.arange(
        int(crow_st[-1]), device=device)
    # A with rows by source, columns sorted; S likewise, its columns the cluster numbers.
    by_src = torch.argsort(src * max(n, 1) + dst)
    col = torch.full((n,), -1, dtype=torch.long, device=device)
    col[perm] = torch.arange(k, device=device)
    kept = (col[dst] >= 0).nonzero().view(-1)
    kept = kept[torch.argsort(src[kept] * max(k, 1) + col[dst[kept]])]
    s_row, s_col, s_val = src[kept], col[dst[kept]], score[kept]
    if weighted:
        val_st, val_a, val_s = score[pick], weight[by_src], s_val
    else:  # PyG returns the structure only
        val_st = torch.ones(pick.numel(), device=device)
        val_a = torch.ones(src.numel(), device=device)
        val_s = torch.ones(kept.numel(), device=device)
    st = csr_tensor(crow_st, src[pick], val_st, (k, n))
    a = csr_tensor(csr_crow(src[by_src], n), dst[by_src], val_a, (n, n))
    s = csr_tensor(csr_crow(s_row, n), s_col, val_s, (n, k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = st @ (a @ s)
    crow, cols = out.crow_indices(), out.col_indices()
    rows = torch.repeat_interleave(torch.arange(k, device=device), crow[1:] - crow[:-1])
    return torch.stack([rows, cols]), (out.values() if weighted else None), (s_row, s_col, s_val)
