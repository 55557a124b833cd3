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
* the master query's neighbourhood max is a segment max over edges sorted by
  target, whose backward scatters ``[N, F]`` values (autograd's scatters ``[E, F]``);
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

from ..checks import check_edges_within_graphs, check_graph, check_ratio
from ..record import PoolOutput
from .functional import gather_as
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
        check_graph(x, edge_index, batch, edge_attr, where="ASAPooling", edge_weight=edge_weight)
        x = x.view(-1, 1) if x.dim() == 1 else x
        if x.size(1) != self.in_channels:
            raise ValueError(f"ASAPooling: 'x' has {x.size(1)} features but the pooler was built "
                             f"for in_channels={self.in_channels}")
        n = x.size(0)
        if batch is None:
            batch = edge_index.new_zeros(n)
        check_edges_within_graphs(edge_index, batch, "ASAPooling")
        edge_index, edge_weight = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0,
                                                           num_nodes=n)
        # Edges sorted by target: the neighbourhood max is then a segment max.
        order = torch.argsort(edge_index[1], stable=True)
        edge_index = edge_index[:, order]
        if edge_weight is not None:
            edge_weight = edge_weight[order]
        src, dst = edge_index
        indeg = torch.bincount(dst, minlength=n)

        x_pool = x
        if self.gnn_intra_cluster is not None:
            x_pool = self.gnn_intra_cluster(x=x, edge_index=edge_index, edge_weight=edge_weight)

        # Attention logit att([lin(q_c) || x̃_u]) = q_c·(Wᵀw₁) + lin.b·w₁ + x̃_u·w₂ + att.b.
        w1, w2 = self.att.weight.view(2, -1)
        q = _NeighbourhoodMax.apply(x_pool, src, dst, indeg)
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

        new_ei, new_ew = _coarsen_csr(src, dst, edge_weight, score, perm, indeg, n)
        if self.add_self_loops:
            new_ei, new_ew = add_remaining_self_loops(new_ei, new_ew, num_nodes=k)
            new_ei, new_ew = coalesce(new_ei, new_ew, num_nodes=k)  # loops into sorted order
        else:
            new_ei, new_ew = remove_self_loops(new_ei, new_ew)

        # S restricted to the kept clusters: entries (u, col[c]) for edges u → c with c kept.
        col = torch.full((n,), -1, dtype=torch.long, device=x.device)
        col[perm] = torch.arange(k, device=x.device)
        in_s = col[dst] >= 0
        s_row, s_col, s_val = src[in_s], col[dst[in_s]], score[in_s]

        assignment = torch.sparse_coo_tensor(torch.stack([s_row, s_col]), s_val, (n, k)).coalesce()
        cluster = _strongest_cluster(s_row, s_col, s_val.detach(), n)
        return ASAPOutput(x=x_out, edge_index=new_ei, edge_attr=None, batch=batch[perm], perm=perm,
                          score=fitness[perm], cluster=cluster, assignment=assignment,
                          edge_weight=new_ew)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, ratio={self.ratio})"


def _strongest_cluster(s_row: Tensor, s_col: Tensor, s_val: Tensor, n: int) -> Tensor:
    """For every input node the kept cluster with its largest ``S`` entry (lowest index on ties),
    ``DROPPED`` (-1) when it belongs to none."""
    cluster = torch.full((n,), -1, dtype=torch.long, device=s_row.device)
    if s_row.numel() == 0:
        return cluster
    # Sort by (row, value desc, col asc) and take the first entry of every row.
    order = torch.argsort(s_col, stable=True)
    order = order[torch.argsort(s_val[order], descending=True, stable=True)]
    order = order[torch.argsort(s_row[order], stable=True)]
    row = s_row[order]
    first = torch.ones_like(row, dtype=torch.bool)
    first[1:] = row[1:] != row[:-1]
    cluster[row[first]] = s_col[order][first]
    return cluster


class _NeighbourhoodMax(torch.autograd.Function):
    """``q[c] = max_{u → c} x[u]`` per feature, for edges sorted by target (every node has one).

    Autograd through ``x[src]`` and a segment max spends its backward on two
    ``[E, F]`` scatters; the gradient only ever reaches one source per (node,
    feature), so we record that source and scatter ``[N, F]`` values instead.
    """

    @staticmethod
    def forward(ctx, x: Tensor, src: Tensor, dst: Tensor, indeg: Tensor) -> Tensor:
        xs = x.index_select(0, src)
        q = torch.segment_reduce(xs, "max", lengths=indeg, axis=0, unsafe=True)
        # The first edge (in target order) that attains the max names the source: a segment
        # min over edge positions, in a float type that holds them exactly.
        ftype = torch.float32 if src.numel() < 2 ** 24 else torch.float64
        pos = torch.arange(src.numel(), device=x.device, dtype=ftype).view(-1, 1)
        pos = torch.where(xs == q.index_select(0, dst), pos, float(src.numel()))
        first = torch.segment_reduce(pos, "min", lengths=indeg, axis=0, unsafe=True).long()
        ctx.save_for_backward(src[first])
        ctx.num_nodes = x.size(0)
        return q

    @staticmethod
    def backward(ctx, grad: Tensor):
        (arg,) = ctx.saved_tensors
        out = grad.new_zeros(ctx.num_nodes, grad.size(1)).scatter_add_(0, arg, grad)
        return out, None, None, None


def _coarsen_csr(src: Tensor, dst: Tensor, edge_weight: Optional[Tensor], score: Tensor,
                 perm: Tensor, indeg: Tensor, n: int):
    """``Sᵀ A S`` over the kept clusters, as CSR products (edges sorted by target, every
    node with a self-loop).  Values only when ``edge_weight`` is given (then differentiable)."""
    device = src.device
    k = perm.numel()
    weighted = edge_weight is not None
    # Sᵀ: row i holds the in-edges of perm[i] (a contiguous run of the target-sorted edges).
    ptr = torch.cumsum(indeg, 0) - indeg
    run = indeg[perm]
    crow_st = torch.zeros(k + 1, dtype=torch.long, device=device)
    crow_st[1:] = torch.cumsum(run, 0)
    pick = torch.repeat_interleave(ptr[perm] - crow_st[:-1], run) + torch.arange(
        int(crow_st[-1]), device=device)
    val_st = score[pick] if weighted else torch.ones(pick.numel(), device=device)
    # A and S with rows by source.
    by_src = torch.argsort(src, stable=True)
    crow_a = torch.zeros(n + 1, dtype=torch.long, device=device)
    crow_a[1:] = torch.cumsum(torch.bincount(src, minlength=n), 0)
    col = torch.full((n,), -1, dtype=torch.long, device=device)
    col[perm] = torch.arange(k, device=device)
    s_col = col[dst[by_src]]
    kept = s_col >= 0
    crow_s = torch.zeros(n + 1, dtype=torch.long, device=device)
    crow_s[1:] = torch.cumsum(torch.bincount(src[by_src][kept], minlength=n), 0)
    ones = torch.ones(src.numel(), device=device)
    val_a = edge_weight[by_src] if weighted else ones
    val_s = score[by_src][kept] if weighted else ones[: int(kept.sum())]
    with warnings.catch_warnings():  # "CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        st = torch.sparse_csr_tensor(crow_st, src[pick], val_st, (k, n))
        a = torch.sparse_csr_tensor(crow_a, dst[by_src], val_a, (n, n))
        s = torch.sparse_csr_tensor(crow_s, s_col[kept], val_s, (n, k))
        out = st @ (a @ s)
        crow, cols = out.crow_indices(), out.col_indices()
        rows = torch.repeat_interleave(torch.arange(k, device=device), crow[1:] - crow[:-1])
        ei = torch.stack([rows, cols])
        if not weighted:
            return ei, None
        return ei, out.values()
