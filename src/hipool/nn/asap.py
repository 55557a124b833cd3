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
order within a row is whatever the sparse product gives, in PyG as here.  ``edge_topk`` keeps
only each pooled node's strongest out-edges (PyG has no such option): ASAP's pooled graph links
clusters up to three hops apart, and the levels after it pay for every edge.

``edge_attr`` ``[E, *]`` of any width (PyG drops it) is carried like the adjacency,
channel by channel: :math:`E'_c = S^\top E_c S`, read at the pooled edges in
``edge_index``'s order.  ``E_c`` holds the input edges' features, repeated edges (self-loops
included) summed; the self-loops ASAP adds to nodes that have none carry zeros, and edge
weights do not scale it.  A pooled self-loop (``add_self_loops=True``) thus carries the
features of the edges inside its cluster; one that no path gives would get zeros.  All
channels are one CSR sparse-dense product over the paths ``i ← u → v → j`` (sorted by
``(i, j)``), with sparse-dense and sampled products in backward: memory grows with the
paths (a small multiple of the pooled edges on a sparse graph), never with ``N²``.  On a dense
graph (ASAP's own pooled graph, one level up) the paths are the triple product's work and
outnumber the pooled edges by orders of magnitude; above eight per pooled edge each channel is
instead one sparse product ``Sᵀ(E_c S)``, whose memory grows with the pooled entries.  Gradients
reach ``edge_attr`` and ``S``.  Without ``edge_attr`` nothing of this runs.
When several neighbours tie for the master query's maximum, the gradient goes to
the first of them (PyG's splits it evenly); the values are the same.

One difference, on purpose: PyG ranks clusters by ``tanh(φ · sign(p))`` where
``p`` is a ``[1, 1]`` parameter (``select.weight``) that no loss ever reaches; it is
drawn once, from U(-1, 1), so half of PyG's models keep the *least* fit clusters
for good.  We rank by ``φ`` as the paper does, and keep ``select.weight`` only so
PyG ``state_dict`` s load; with ``select.weight > 0`` both agree.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import LEConv
from torch_geometric.nn.inits import uniform
from torch_geometric.utils import (
    add_remaining_self_loops,
    coalesce,
    scatter,
    softmax,
)

from ..checks import (
    check_bool,
    check_int,
    check_number,
    check_ratio,
    check_sizes,
    param_device,
    param_dtype,
    prepare_pool_input,
)
from ..ops import csr_rows
from ..record import PoolOutput
from .convs import degree_normalised
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


def neighbour_max(x: Tensor, src: Tensor, dst: Tensor, n: int, csr: bool = True) -> Tensor:
    """``out[c] = max_{u -> c} x[u]`` over the edges ``src -> dst`` (sorted by ``dst``, no
    repeats; every node has one, its self-loop).  ``csr``: torch's CSR max-product (its fast
    kernel and an ``[N, F]`` backward; CPU only in torch); else a scatter-max over the edges
    (``[E, F]`` memory, any device; at tied maxima its gradient is split evenly)."""
    if csr:
        in_nbrs = csr_tensor(csr_crow(dst, n), src, x.new_ones(src.numel()), (n, n))
        return torch.sparse.mm(in_nbrs, x, "amax")
    return scatter(x[src], dst, dim=0, dim_size=n, reduce="max")


class ASAPooling(torch.nn.Module):
    r"""Adaptive Structure Aware Pooling (see the module docstring).

    Args:
        in_channels: width of ``x``.
        ratio: as in :class:`~hipool.nn.TopKPooling`: float in (0, 1] or int ``k``.
            Default ``0.5``.
        GNN: optional class of an intra-cluster layer run before the attention,
            built as ``GNN(in_channels, in_channels, **kwargs)`` and called with
            ``edge_weight`` (e.g. ``GraphConv``, ``GCNConv``).  Default ``None``.
        dropout: dropout on the attention coefficients while training, in [0, 1).  Default ``0``.
        negative_slope: of the LeakyReLU, a finite number.  Default ``0.2``.
        add_self_loops: give the pooled graph self-loops (else they are removed).
            Default ``False``.
        edge_topk: keep only each pooled node's ``edge_topk`` strongest out-edges, by
            ``|SᵀAS|`` (``S`` the attention scores, ``A`` the edge weights or 1), self-loops
            not counted; ``None`` keeps all.  Default ``None``.  ASAP's pooled graph links
            clusters up to three hops apart (about 17 edges per input edge on a random graph of
            degree 8), which is what the next level's convolutions pay for; the ranking needs
            the product's values, so the pooler itself is not faster (see
            ``benchmarks/README.md``).

    Arguments out of range raise ``ValueError``; with a degree-normalising ``GNN``
    (``GCNConv``) so does a negative ``edge_weight``.

    ``forward(x, edge_index, edge_weight=None, batch=None, edge_attr=None)`` returns an
    :class:`ASAPOutput`.  ``edge_weight`` of the output is ``SᵀAS`` when weights
    were given (differentiable), ``None`` otherwise (PyG's behaviour).  ``edge_attr``
    ``[E]`` or ``[E, *]`` comes out as ``Sᵀ E_c S`` per channel at the pooled edges,
    ``[E']`` or ``[E', *]`` in ``x``'s dtype, zeros from the self-loops ASAP adds (see the
    module docstring); ``None`` when not given.  Its
    ``assignment`` is ``S`` over the kept clusters, a sparse ``[N, N']`` tensor,
    and ``cluster`` sends every input node to the kept cluster it weighs most in
    (``DROPPED`` if it is in none).
    """

    def __init__(
        self,
        in_channels: int,
        ratio: Union[float, int] = 0.5,
        GNN: Optional[Callable] = None,
        dropout: float = 0.0,
        negative_slope: float = 0.2,
        add_self_loops: bool = False,
        edge_topk: Optional[int] = None,
        **kwargs,
    ):
        super().__init__()
        where = "ASAPooling"
        check_int(in_channels, where, "in_channels")
        if ratio is None:
            raise ValueError("ASAPooling: 'ratio' must be a float in (0, 1] or an int k >= 1, got None")
        check_ratio(ratio, where)
        check_number(dropout, where, "dropout", low=0, high=1, high_open=True)
        check_number(negative_slope, where, "negative_slope")
        check_bool(add_self_loops, where, "add_self_loops")
        self.edge_topk = check_int(edge_topk, where, "edge_topk", allow_none=True)
        if GNN is not None and not callable(GNN):
            raise ValueError(f"ASAPooling: 'GNN' must be a layer class such as GraphConv or None, got {GNN!r}")
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
        #: Why edge weights must be >= 0 (a degree-normalising intra-cluster GNN), or None.
        self._nonnegative_weights = (
            f"{type(self.gnn_intra_cluster).__name__} normalises by weighted degrees"
            if self.gnn_intra_cluster is not None and degree_normalised(self.gnn_intra_cluster)
            else None
        )
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

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> ASAPOutput:
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "ASAPooling",
            self.in_channels,
            dtype=param_dtype(self),
            device=param_device(self),
            nonnegative_weights=self._nonnegative_weights,
        )
        sizes = check_sizes(sizes, batch, "ASAPooling")
        n = x.size(0)
        input_edges = edge_index
        edge_index, edge_weight = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=n)
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
        # The master query max_{u→c} x̃_u: a CSR max-product (fast kernel, [N, F] backward).  torch
        # has that reduction on the CPU only; elsewhere a scatter-max over the edges ([E, F] memory,
        # as PyG; at tied maxima its gradient is split evenly rather than sent to one neighbour).
        crow_in = csr_crow(p_dst, n)
        q = neighbour_max(x_pool, p_src, p_dst, n, csr=x_pool.device.type == "cpu")
        logit_c = q @ (self.lin.weight.t() @ w1) + self.lin.bias @ w1 + self.att.bias
        score = logit_c[dst] + (x_pool @ w2)[src]
        score = softmax(F.leaky_relu(score, self.negative_slope), dst, num_nodes=n)
        score = F.dropout(score, p=self.dropout, training=self.training)

        # Cluster features Sᵀ X: out[c] = Σ_{u→c} S_uc x_u.
        xc = gather_as(edge_index.flip(0), score, x)
        fitness = self._fitness(xc, src, dst, indeg.to(xc.dtype))
        perm = topk(fitness, self.ratio, batch, max_kept=sizes)
        x_out = xc[perm] * fitness[perm].view(-1, 1)
        k = perm.numel()

        p_score = score.new_zeros(p_src.numel()).index_add(0, pair, score)
        p_weight = None
        if edge_weight is not None:
            p_weight = edge_weight.new_zeros(p_src.numel()).index_add(0, pair, edge_weight)
        # Unweighted, edge_topk ranks by SᵀAS with A counting repeated edges, as PyG's product sums them.
        ranking = self.edge_topk is not None and p_weight is None
        multiplicity = torch.bincount(pair, minlength=p_src.numel()) if ranking else None
        new_ei, new_ew, (s_row, s_col, s_val) = _coarsen_csr(
            p_src,
            p_dst,
            crow_in,
            p_weight,
            p_score,
            perm,
            n,
            loops=self.add_self_loops,
            topk=self.edge_topk,
            multiplicity=multiplicity,
        )
        if self.add_self_loops:
            new_ei, new_ew = add_remaining_self_loops(new_ei, new_ew, num_nodes=k)
            new_ei, new_ew = coalesce(new_ei, new_ew, num_nodes=k)  # loops into sorted order
        new_ea = None
        if edge_attr is not None:
            p_attr = _attr_on_pairs(edge_attr, input_edges, p_src, p_dst, n, score.dtype)
            new_ea = _pool_edge_attr(p_attr, p_src, p_dst, s_row, s_col, s_val, new_ei, n, k)
            new_ea = new_ea.view(new_ei.size(1), *edge_attr.shape[1:])

        # Distinct entries sorted by (row, col) by construction (tested under torch's invariant
        # checks): no coalesce, and no invariant check either.
        assignment = torch.sparse_coo_tensor(
            torch.stack([s_row, s_col]), s_val, (n, k), is_coalesced=True, check_invariants=False
        )
        cluster = _strongest_cluster(s_row, s_col, s_val.detach(), n, k)
        return ASAPOutput(
            x=x_out,
            edge_index=new_ei,
            edge_attr=new_ea,
            batch=batch[perm],
            perm=perm,
            score=fitness[perm],
            cluster=cluster,
            assignment=assignment,
            edge_weight=new_ew,
        )

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


def _attr_on_pairs(
    edge_attr: Tensor, edge_index: Tensor, p_src: Tensor, p_dst: Tensor, n: int, dtype: torch.dtype
) -> Tensor:
    """``edge_attr`` ``[E, *]`` of the input edges summed onto the distinct pairs ``(p_src, p_dst)``
    (sorted by (target, source)) as ``[P, D]``; pairs no input edge has (added self-loops) get 0."""
    flat = edge_attr.reshape(edge_attr.size(0), math.prod(edge_attr.shape[1:])).to(dtype)
    p_key = p_dst * max(n, 1) + p_src
    at = torch.searchsorted(p_key, edge_index[1] * max(n, 1) + edge_index[0])
    return flat.new_zeros(p_key.numel(), flat.size(1)).index_add(0, at, flat)


def _pool_edge_attr(
    attr: Tensor,
    src: Tensor,
    dst: Tensor,
    s_row: Tensor,
    s_col: Tensor,
    s_val: Tensor,
    edge_index: Tensor,
    n: int,
    k: int,
) -> Tensor:
    """``(Sᵀ E_c S)_ij`` for every channel ``c`` at the pooled edges ``i → j``: ``[E', D]``.

    ``attr`` ``[P, D]`` is ``E`` on the distinct pairs ``(src, dst)``; ``S`` is given by its
    entries sorted by (row, col).  Every path ``i ← u → v → j`` (``S_ui ≠ 0``, pair ``u → v``,
    ``S_vj ≠ 0``) adds ``S_ui S_vj E[u → v]`` to ``i → j``.  The paths, sorted by ``(i, j)``,
    are the rows of a CSR matrix ``M`` [distinct (i, j), pairs], so all channels are one
    sparse-dense product ``M E``.  Work and memory grow with the paths, never with ``N²``.
    Paths to no pooled edge (the removed self-loops) are dropped; a pooled edge that no path
    reaches gets zeros.

    The paths are a small multiple of the pooled edges on a sparse graph (1.7 per pooled edge
    on a random graph of 10k nodes and degree 8), but on a dense one, such as ASAP's own pooled
    graph one level up, they are the product's work, not its size (1.7·10⁴ per pooled edge at
    the second level of a 3k-node random graph of degree 8).  Above
    :data:`_PATHS_PER_EDGE` paths per pooled edge the channels go through
    :func:`_pool_edge_attr_products` instead, whose memory grows with the pooled entries.
    """
    device = src.device
    crow_s = torch.zeros(n + 1, dtype=torch.long, device=device)
    crow_s[1:] = torch.cumsum(torch.bincount(s_row, minlength=n), 0)
    per_row = crow_s[1:] - crow_s[:-1]
    fan = per_row[dst]
    count = per_row[src] * fan
    if int(count.sum()) > _PATHS_PER_EDGE * max(edge_index.size(1), n):
        return _pool_edge_attr_products(attr, src, dst, s_row, s_col, s_val, edge_index, n, k)
    # Path t of pair p is its (t // fan)-th entry of S in row u and (t % fan)-th in row v.
    path_pair = torch.repeat_interleave(torch.arange(src.numel(), device=device), count)
    local = torch.arange(path_pair.numel(), device=device) - (torch.cumsum(count, 0) - count)[path_pair]
    fan = fan[path_pair]
    at_v = crow_s[dst][path_pair] + local % fan
    at_u = crow_s[src][path_pair] + local.div_(fan, rounding_mode="floor")
    del local, fan
    weight = s_val[at_u] * s_val[at_v]
    key = s_col[at_u].mul_(k).add_(s_col[at_v])
    del at_u, at_v
    # Stable: within an (i, j) the pairs stay in increasing order (sorted, distinct CSR columns).
    key, order = torch.sort(key, stable=True)
    path_pair, weight = path_pair[order], weight[order]
    del order
    ij, per_ij = torch.unique_consecutive(key, return_counts=True)
    del key
    crow = torch.zeros(ij.numel() + 1, dtype=torch.long, device=device)
    crow[1:] = torch.cumsum(per_ij, 0)
    # Each pooled edge's row of M; ij.numel() (a zero row) where no path reaches it.
    edge_key = edge_index[0] * k + edge_index[1]
    at = torch.searchsorted(ij, edge_key).clamp_max(max(ij.numel() - 1, 0))
    row = torch.where(ij[at] == edge_key, at, ij.numel()) if ij.numel() else torch.zeros_like(edge_key)
    return _PathProduct.apply(attr, weight, crow, path_pair, row)


#: Paths per pooled edge (or node) above which :func:`_pool_edge_attr` takes the products.
_PATHS_PER_EDGE = 8


def _pool_edge_attr_products(
    attr: Tensor,
    src: Tensor,
    dst: Tensor,
    s_row: Tensor,
    s_col: Tensor,
    s_val: Tensor,
    edge_index: Tensor,
    n: int,
    k: int,
) -> Tensor:
    """What :func:`_pool_edge_attr` returns, as ``Sᵀ (E_c S)`` for one channel ``c`` at a time
    (CSR products, differentiable in ``attr`` and ``S`` through torch's sparse autograd), read
    at the pooled edges by key.  Memory grows with the pooled entries, time with the channels."""
    by_src = torch.argsort(src * max(n, 1) + dst)
    crow_e, col_e = csr_crow(src[by_src], n), dst[by_src]
    to_st = torch.argsort(s_col * max(n, 1) + s_row)
    st = csr_tensor(csr_crow(s_col[to_st], k), s_row[to_st], s_val[to_st], (k, n))
    s = csr_tensor(csr_crow(s_row, n), s_col, s_val, (n, k))
    want = edge_index[0] * k + edge_index[1]
    channels = []
    # Every channel has the same operands' pattern, so one lookup serves all (checked per channel).
    pattern: Optional[Tuple[Tensor, Tensor]] = None
    lookup: Tuple[Tensor, Tensor] = (want, want)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for c in range(attr.size(1)):
            out = st @ (csr_tensor(crow_e, col_e, attr[by_src, c], (n, n)) @ s)
            crow, cols = out.crow_indices().long(), out.col_indices().long()
            if cols.numel() == 0:
                channels.append(attr.new_zeros(want.numel()))
                continue
            if pattern is None or not (torch.equal(pattern[0], crow) and torch.equal(pattern[1], cols)):
                have, order = torch.sort(csr_rows(crow, cols.numel()) * k + cols)
                at = torch.searchsorted(have, want).clamp_max(have.numel() - 1)
                pattern, lookup = (crow, cols), (order[at], have[at] == want)
            entry, found = lookup
            values = out.values()[entry]
            channels.append(torch.where(found, values, values.new_zeros(())))
    if not channels:
        return attr.new_zeros(want.numel(), 0)
    return torch.stack(channels, 1)


class _PathProduct(torch.autograd.Function):
    """``(M attr)[row]`` for the CSR ``M`` ``(crow, col, w)`` ``[R, P]`` (sorted, distinct
    columns), row ``R`` read as zeros.

    All sparse-dense: forward ``M attr``, the gradient of ``attr`` ``Mᵀ G``, that of ``w``
    the product ``G attrᵀ`` sampled at ``M``'s entries (``torch.sparse.sampled_addmm``).  No
    ``[entries, D]`` tensor, and no dense ``[R, P]`` gradient (torch's own backward for the
    values of a sparse operand would form one).
    """

    @staticmethod
    def forward(ctx, attr: Tensor, w: Tensor, crow: Tensor, col: Tensor, row: Tensor) -> Tensor:
        ctx.save_for_backward(attr, w, crow, col, row)
        r, zero = crow.numel() - 1, attr.new_zeros(1, attr.size(1))
        if not col.numel() or not attr.size(1):
            return zero.expand(row.numel(), -1).clone()
        out = torch.sparse.mm(csr_tensor(crow, col, w, (r, attr.size(0))), attr)
        return torch.cat([out, zero])[row]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor):
        attr, w, crow, col, row = ctx.saved_tensors
        r, p = crow.numel() - 1, attr.size(0)
        if not col.numel() or not attr.size(1):
            return torch.zeros_like(attr), torch.zeros_like(w), None, None, None
        grad_m = grad.new_zeros(r + 1, grad.size(1)).index_add_(0, row, grad)[:r]
        grad_attr = grad_w = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if ctx.needs_input_grad[0]:
                m_t = torch.sparse_csc_tensor(crow, col, w, (p, r), check_invariants=False)
                grad_attr = torch.sparse.mm(m_t, grad_m)
            if ctx.needs_input_grad[1]:
                pattern = csr_tensor(crow, col, torch.zeros_like(w), (r, p))
                grad_w = torch.sparse.sampled_addmm(pattern, grad_m.contiguous(), attr.t(), beta=0.0).values()
        return grad_attr, grad_w, None, None, None


def _coarsen_csr(
    src: Tensor,
    dst: Tensor,
    crow_in: Tensor,
    weight: Optional[Tensor],
    score: Tensor,
    perm: Tensor,
    n: int,
    loops: bool = True,
    topk: Optional[int] = None,
    multiplicity: Optional[Tensor] = None,
):
    """``Sᵀ A S`` over the kept clusters as two CSR products.

    ``(src, dst)`` are distinct edges sorted by (target, source), every node with a
    self-loop, ``crow_in`` their row pointers by target; ``score`` is ``S`` on them.  Every CSR
    operand gets sorted, distinct columns within its rows (torch's sparse backward needs them).  Values and gradients
    only when ``weight`` is given.  Returns the pooled edges (without their self-loops unless
    ``loops``), their weights (or ``None``) and ``S`` over the kept clusters as ``(row, col, val)``
    sorted by (row, col).  ``topk``: only the ``topk`` largest ``|SᵀAS|`` off-diagonal
    entries of each row (ties to the earlier entry of the product's row), and the diagonal
    entries with ``loops``; without ``weight``, ``A`` holds ``multiplicity`` (how often each edge
    was given) for the ranking.
    """
    device = src.device
    k = perm.numel()
    weighted = weight is not None
    # Sᵀ: row i holds the in-edges of perm[i], a run of the target-sorted edges (sources sorted).
    ptr = crow_in[:-1]
    run = (crow_in[1:] - ptr)[perm]
    crow_st = torch.zeros(k + 1, dtype=torch.long, device=device)
    crow_st[1:] = torch.cumsum(run, 0)
    pick = torch.repeat_interleave(ptr[perm] - crow_st[:-1], run) + torch.arange(int(crow_st[-1]), device=device)
    # A with rows by source, columns sorted; S likewise, its columns the cluster numbers.
    by_src = torch.argsort(src * max(n, 1) + dst)
    col = torch.full((n,), -1, dtype=torch.long, device=device)
    col[perm] = torch.arange(k, device=device)
    kept = (col[dst] >= 0).nonzero().view(-1)
    kept = kept[torch.argsort(src[kept] * max(k, 1) + col[dst[kept]])]
    s_row, s_col, s_val = src[kept], col[dst[kept]], score[kept]
    if weight is not None:
        val_st, val_a, val_s = score[pick], weight[by_src], s_val
    elif topk is not None:  # values to rank the pooled edges by, none returned: no autograd
        val_a = multiplicity[by_src].to(score.dtype) if multiplicity is not None else score.new_ones(src.numel())
        val_st, val_s = score[pick].detach(), s_val.detach()
    else:  # PyG returns the structure only
        val_st = torch.ones(pick.numel(), device=device)
        val_a = torch.ones(src.numel(), device=device)
        val_s = torch.ones(kept.numel(), device=device)
    st = csr_tensor(crow_st, src[pick], val_st, (k, n))
    a = csr_tensor(csr_crow(src[by_src], n), dst[by_src], val_a, (n, n))
    s = csr_tensor(csr_crow(s_row, n), s_col, val_s, (n, k))
    out = _triple_product(st, a, s, crow_in)
    # The pooled graph is the largest tensor here (1.3M edges from 80k at N = 10k): every pass
    # over it counts, so its rows come from a cumulative sum, and without self-loops the kept
    # entries are gathered once, straight into the [2, E'] result.
    crow, cols = out.crow_indices().long(), out.col_indices().long()  # int32 from a CUDA CSR product
    rows = csr_rows(crow, cols.numel())
    values = out.values() if weighted else None
    if topk is not None:
        keep = _strongest_per_row(crow, rows, cols, out.values().detach(), topk, loops)
        edge_index = torch.stack([rows[keep], cols[keep]])
        return edge_index, (values[keep] if values is not None else None), (s_row, s_col, s_val)
    if loops:
        return torch.stack([rows, cols]), values, (s_row, s_col, s_val)
    keep = (rows != cols).nonzero().view(-1)
    edge_index = rows.new_empty(2, keep.numel())
    torch.index_select(rows, 0, keep, out=edge_index[0])
    torch.index_select(cols, 0, keep, out=edge_index[1])
    return edge_index, (values[keep] if values is not None else None), (s_row, s_col, s_val)


def _triple_product(st: Tensor, a: Tensor, s: Tensor, crow_in: Tensor) -> Tensor:
    """``st @ (a @ s)``; when the result cannot be allocated, a ``MemoryError`` that says why.

    A node of in-degree ``d`` alone gives up to ``d²`` pooled pairs (every two clusters it
    belongs to are linked): a power net of 85k pins in a 309k-node circuit makes 7·10⁹, past
    what MKL's sparse product can allocate (``SPARSE_STATUS_ALLOC_FAILED``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return st @ (a @ s)
    except (RuntimeError, MemoryError) as e:
        text = str(e)
        if not isinstance(e, MemoryError) and "ALLOC_FAILED" not in text and "allocate" not in text:
            raise
        degree = crow_in.diff()
        d = int(degree.max()) if degree.numel() else 0
        raise MemoryError(
            f"ASAPooling: the pooled graph SᵀAS of a graph with {crow_in.numel() - 1} nodes and "
            f"{int(crow_in[-1])} edges (self-loops included) is too large to form: its largest "
            f"in-degree, {d}, alone gives up to {d * d:,} pooled pairs (ASAP links every two "
            "clusters a node belongs to). edge_topk prunes the pooled graph only after it is "
            "formed. Pool graphs with such hubs with a contraction or clustering pooler "
            f"(edgepool, graclus, kmis, mincut/dmon sparse), or leave the hubs out ({text[:200]})"
        ) from e


def _strongest_per_row(crow: Tensor, rows: Tensor, cols: Tensor, values: Tensor, topk: int, loops: bool) -> Tensor:
    """Positions of the entries of a CSR matrix (row pointers ``crow``, ``rows`` its entries'
    rows) to keep, in their order: each row's ``topk`` largest ``|values|`` off the diagonal
    (ties to the earlier position), and the diagonal entries when ``loops``.

    One stable int64 sort of ``row · 2^32 + rank``, where the rank is the order-preserving bit
    pattern of ``|value|`` as float32, reversed (values within float32 rounding of each other
    tie), and the diagonal ranks last.  Rows stay grouped, so an entry's place in its row is
    its place in the sorted keys minus its row's start.
    """
    diagonal = rows == cols
    rank = values.abs().float().view(torch.int32).long()  # >= 0: the bits sort as the floats
    rank.masked_fill_(diagonal, -1).neg_().add_((1 << 31) - 1)  # largest first, the diagonal last
    order = torch.sort(rank.add_(rows * (1 << 32)), stable=True).indices
    place = torch.arange(order.numel(), device=rows.device).sub_(crow.index_select(0, rows))
    keep = order[place < topk]
    keep = keep[~diagonal[keep]]
    if loops:
        keep = torch.cat([keep, diagonal.nonzero().view(-1)])
    return torch.sort(keep).values
