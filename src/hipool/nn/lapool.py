r"""Laplacian pooling: :class:`LaPool` (Noutahi, Beaini, Horwood, Giguère & Tossou, "Towards
Interpretable Sparse Graph Representation Learning with Laplacian Pooling", arXiv:1905.11577, 2019).

Not learned.  The number of clusters is the method's: one per *leader*.

1. **Signal variation.**  :math:`V_i = \lVert (L X)_i \rVert_2` with the graph's Laplacian
   (``laplacian``): ``"combinatorial"`` :math:`L = D - W` (the paper's), ``"rw"``
   :math:`L = I - D^{-1} W` (the authors' code default; an isolated node has :math:`(LX)_i = x_i`)
   or ``"sym"`` :math:`L = I - D^{-1/2} W D^{-1/2}`.  :math:`W` is the graph read as undirected
   (self-loops dropped, repeated edges summed, :math:`W = \max(A, A^\top)`).
2. **Leaders.**  The nodes whose variation is a local maximum:
   :math:`V_i \ge V_j` for every neighbour :math:`j` (the paper's criterion; compared in float64 with
   a relative tolerance of :math:`10^{-9}`, so that a tie does not depend on summation order).  The
   node of largest variation of each connected component is a leader, so every component has one;
   an isolated node is its own leader.
3. **Assignment.**  A leader is its own cluster (a one-hot row, the paper's Kronecker delta).
   Every other node :math:`i` is spread over its candidate leaders :math:`\mathcal C(i)`:

   .. math::
       S_{i,:} = \operatorname{sparsemax}\!\Big(\frac{\beta_{il}}{\tau}\,
                 \frac{x_i^\top x_l}{\lVert x_i \rVert \lVert x_l \rVert}\Big)_{l \in \mathcal C(i)},
       \qquad \beta_{il} = \frac{1}{d(i, l)},

   with :math:`d` the hop distance (``distance_weight=False``: :math:`\beta = 1`; the similarity of a
   node whose features are all zero is 0), ``tau``
   :math:`\tau` a temperature (the authors' ``Sparsegen`` with :math:`\sigma` is
   :math:`\tau = 1 - \sigma`) and ``attention="softmax"`` in place of sparsemax (the reading of
   Spektral and tgp).  :math:`\mathcal C(i)` is the leaders within ``hops`` hops of :math:`i`
   (``None``, the default: every leader of its connected component, the paper's inverse
   shortest-path prior); a node with none that close takes its nearest leaders (all of them at its
   smallest distance).  Leaders of other components are never candidates (the paper's
   :math:`\beta = 0` would still give them a logit of 0).
4. **Coarsening.**  :math:`X' = S^\top X` (``reduce="sum"``, the paper's) or the cluster means
   (``"mean"``: divided by :math:`\sum_i S_{ic} \ge 1`), and :math:`A' = S^\top A S` as weighted
   edges (``edge_weight`` of the input edges, 1 by default), self-loops dropped unless
   ``keep_self_loops``.  ``edge_attr`` of any width is pooled the same way, channel by channel:
   :math:`E'_c = S^\top E_c S`, so a pooled edge carries the :math:`S`-weighted sum of the features
   of the input edges it merges.  Both are formed over the sparse entries of :math:`S` (first
   :math:`AS`, then :math:`S^\top (AS)`), never as ``[N, N]`` matrices; the pooled edges are the
   pairs those products reach.

The record's ``cluster`` is each node's strongest leader (ties to the lower leader index),
``assignment`` the sparse ``S`` ``[N, N']``; output nodes are numbered by their leader's index, so
``batch`` stays sorted.  Gradients reach ``x`` through the cosine similarities and
:math:`S^\top X`, and ``edge_weight``/``edge_attr`` through :math:`S^\top A S`; the leaders are
discrete.  ``edge_weight`` must be ``>= 0`` (degrees).

Cost: :math:`V` is ``O(E F)``.  The rest is done one *block* at a time (:mod:`hipool.nn.lapool_ops`):
consecutive graphs whose ``nodes x leaders`` fit ``DENSE_BLOCK`` (2^24) entries.  With ``hops=None``
the candidate pairs are every (node, leader) pair of a component, ``P = Σ n_c l_c``; their hop
distances come from one breadth-first search from all the block's leaders at once (a dense
``[nodes, leaders]`` frontier times the adjacency, ``O(diameter · E · l)``; with
``distance_weight=False`` the component labels suffice and there is no search), the similarities
from one matrix product per block and the sparsemax (or softmax) row by row in the block.
``Sᵀ A S`` and ``Sᵀ X`` are formed by dense products (``S`` dense per block, ``A_c S``
sparse-dense per channel) when ``S`` fills at least ``DENSE_FILL`` (5 %) of its graphs'
``Σ n_g l_g`` possible entries.  Otherwise
(``hops`` set, a graph too large for one block, or a diameter above ``DENSE_BFS_STEPS``, 64) the
pairs are found by a breadth-first search that carries its source leader, ``O(P · deg)``, and
``Sᵀ A S`` by expanding ``S``'s sparse entries, ``O(Σ_e nnz(S_v) + Σ_u nnz(S_u) nnz((AS)_u))``;
both routes give the same record (tested).  On a 10,000-node random graph of degree 8 (476 leaders,
4.7 M candidate pairs) a forward and backward pass takes seconds on one core, 1.3 s with
``distance_weight=False, attention="softmax"`` (``benchmarks/poolers.py``; over two minutes
before the blocks).

What the authors' code adds and this does not: a GNN and a feature-update layer inside the pooler
(here the model's convs do that), their leader filter (a leader whose neighbours are all leaders
is dropped), their link-prediction/entropy losses, and their ``hop`` mask (the number of walk
lengths up to ``hop`` that join a node to a leader, in place of :math:`1/d`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import softmax as segment_softmax

from ..checks import check_bool, check_int, check_number, prepare_pool_input
from ..ops import csr_crow, csr_tensor
from ..record import PoolOutput
from . import lapool_ops as ops
from .kmis import undirected
from .lapool_ops import candidate_pairs, segment_sparsemax

__all__ = ["LaPool", "LaPoolOutput", "candidate_pairs", "leader_mask", "segment_sparsemax", "signal_variation"]

#: The Laplacians the signal variation can use.
LAPLACIANS = ("combinatorial", "rw", "sym")
#: The normalisations of a node's similarities to its candidate leaders.
ATTENTIONS = ("sparsemax", "softmax")
#: How the pooled features are formed.
REDUCES = ("sum", "mean")
#: Why the edge weights must be ``>= 0`` (the checks' message).
NONNEGATIVE = "LaPool's Laplacian reads the weights as degrees"
#: Relative tolerance of the leader comparison ``V_i >= V_j``.
LEADER_RTOL = 1e-9


# ---------------------------------------------------------------------------
# leaders
# ---------------------------------------------------------------------------
def signal_variation(x: Tensor, edge_index: Tensor, weight: Tensor, laplacian: str = "combinatorial") -> Tensor:
    r"""``V = ‖(L X)_i‖₂`` ``[N]`` in float64 (detached), for the undirected weighted graph
    ``(edge_index, weight)`` (every edge in both directions, no self-loops)."""
    n = x.size(0)
    xd = x.detach().to(torch.float64)
    src, dst = edge_index[0], edge_index[1]
    w = weight.detach().to(torch.float64)
    deg = torch.zeros(n, dtype=torch.float64, device=x.device).index_add_(0, dst, w)
    if laplacian == "sym":
        dinv = deg.pow(-0.5)
        dinv = torch.where(torch.isinf(dinv), torch.zeros_like(dinv), dinv)
        w = dinv[src] * w * dinv[dst]
    # sum over the edges u -> i of w x_u: a CSR product (no [E, F] gather)
    order = torch.argsort(dst, stable=True)
    agg = torch.sparse.mm(csr_tensor(csr_crow(dst[order], n), src[order], w[order], (n, n)), xd)
    if laplacian == "combinatorial":
        lx = deg.unsqueeze(-1) * xd - agg
    elif laplacian == "rw":
        inv = torch.where(deg > 0, 1.0 / torch.where(deg > 0, deg, torch.ones_like(deg)), torch.zeros_like(deg))
        lx = xd - inv.unsqueeze(-1) * agg
    else:
        lx = xd - agg
    return lx.norm(dim=-1)


def leader_mask(variation: Tensor, edge_index: Tensor) -> Tensor:
    """The leaders: ``V_i >= V_j`` for every neighbour ``j`` (relative tolerance
    :data:`LEADER_RTOL`); ``edge_index`` holds every edge in both directions."""
    n = variation.numel()
    most = torch.full((n,), float("-inf"), dtype=variation.dtype, device=variation.device)
    most = most.scatter_reduce(0, edge_index[1], variation[edge_index[0]], reduce="amax", include_self=True)
    return variation >= most * (1.0 - LEADER_RTOL)


# ---------------------------------------------------------------------------
# the pooler
# ---------------------------------------------------------------------------
@dataclass(repr=False)
class LaPoolOutput(PoolOutput):
    """:class:`~hipool.record.PoolOutput` of :class:`LaPool`, with ``leaders`` (the leader of every
    output node ``[N']``) and ``variation`` (every input node's signal variation ``V`` ``[N]``,
    float64)."""

    leaders: Optional[Tensor] = None
    variation: Optional[Tensor] = None


class LaPool(torch.nn.Module):
    r"""LaPool (Noutahi et al., arXiv:1905.11577; see the module docstring for the equations).

    Args:
        in_channels: width of ``x``.
        laplacian: ``"combinatorial"`` (default, :math:`D - W`), ``"rw"`` or ``"sym"``.
        hops: an int ``>= 1``: candidate leaders within that many hops (nodes with none take
            their nearest); ``None`` (default): every leader of the node's component.
        attention: ``"sparsemax"`` (default, the paper's) or ``"softmax"``.
        tau: temperature dividing the logits, a finite number ``> 0``.  Default 1.
        distance_weight: multiply each logit by :math:`1/d(i, l)` (the paper's prior).
            Default ``True``.
        reduce: ``"sum"`` (default, :math:`S^\top X`) or ``"mean"``.
        keep_self_loops: keep the self-loops of :math:`S^\top A S`.  Default ``False``.

    No parameters: the pooling is a function of ``x`` and the graph.  Deterministic
    (permutation-equivariant) except where two candidate leaders of a node tie exactly
    (``cluster`` then takes the lower index).  Bad arguments raise ``ValueError`` naming them.
    """

    LOSSES: Tuple[str, ...] = ()

    def __init__(
        self,
        in_channels: int,
        *,
        laplacian: str = "combinatorial",
        hops: Optional[int] = None,
        attention: str = "sparsemax",
        tau: float = 1.0,
        distance_weight: bool = True,
        reduce: str = "sum",
        keep_self_loops: bool = False,
    ):
        super().__init__()
        where = "LaPool"
        self.in_channels = check_int(in_channels, where, "in_channels")
        for name, value, allowed in (
            ("laplacian", laplacian, LAPLACIANS),
            ("attention", attention, ATTENTIONS),
            ("reduce", reduce, REDUCES),
        ):
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"{where}: '{name}' must be one of {', '.join(allowed)}, got {value!r}")
        self.laplacian = laplacian
        self.attention = attention
        self.reduce = reduce
        self.hops = check_int(hops, where, "hops", allow_none=True)
        self.tau = check_number(tau, where, "tau", low=0, low_open=True)
        self.distance_weight = check_bool(distance_weight, where, "distance_weight")
        self.keep_self_loops = check_bool(keep_self_loops, where, "keep_self_loops")

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
    ) -> LaPoolOutput:
        where = "LaPool"
        x, batch = prepare_pool_input(
            x, edge_index, batch, edge_attr, edge_weight, where, self.in_channels, nonnegative_weights=NONNEGATIVE
        )
        n = x.size(0)
        und_ei, und_w = undirected(edge_index, edge_weight, n)
        variation = signal_variation(x, und_ei, und_w, self.laplacian)
        leaders = leader_mask(variation, und_ei)
        lead = leaders.nonzero().view(-1)
        norm = x.norm(dim=-1, keepdim=True)
        xn = torch.where(norm > 0, x / torch.where(norm > 0, norm, torch.ones_like(norm)), torch.zeros_like(x))
        w = x.new_ones(edge_index.size(1)) if edge_weight is None else edge_weight
        cols = [w.view(-1, 1)]
        tail: Tuple[int, ...] = ()
        if edge_attr is not None:
            tail = tuple(edge_attr.shape[1:])
            cols.append(edge_attr.reshape(edge_attr.size(0), math.prod(tail)).to(x.dtype))
        values = torch.cat(cols, 1)

        route = None
        if self.hops is None and n:
            route = ops.dense_route(
                x,
                xn,
                und_ei,
                leaders,
                batch,
                edge_index,
                values,
                attention=self.attention,
                tau=self.tau,
                distance_weight=self.distance_weight,
                sizes=self.reduce == "mean",
            )
        if route is None:
            route = self._pair_route(x, xn, und_ei, leaders, lead, batch, edge_index, values)
        s_idx, s_val, cluster, new_x, size, pairs, vals = route
        if self.reduce == "mean":
            new_x = new_x / size.unsqueeze(-1)
        if not self.keep_self_loops:
            off = pairs[0] != pairs[1]
            pairs, vals = pairs[:, off], vals[off]
        new_ea = vals[:, 1:].reshape(vals.size(0), *tail) if edge_attr is not None else None
        assignment = torch.sparse_coo_tensor(s_idx, s_val, (n, lead.numel()), is_coalesced=True, check_invariants=False)
        return LaPoolOutput(
            x=new_x,
            edge_index=pairs,
            edge_attr=new_ea,
            batch=batch[lead],
            perm=None,
            score=None,
            cluster=cluster,
            assignment=assignment,
            edge_weight=vals[:, 0],
            leaders=lead,
            variation=variation,
        )

    def _pair_route(
        self,
        x: Tensor,
        xn: Tensor,
        und_ei: Tensor,
        leaders: Tensor,
        lead: Tensor,
        batch: Tensor,
        edge_index: Tensor,
        values: Tensor,
    ) -> ops.DenseRoute:
        """The candidate pairs as sparse entries (:func:`~hipool.nn.lapool_ops.candidate_pairs` or,
        with ``hops=None``, the dense-block searches), their normalisation and ``Sᵀ A S`` (dense
        products or the sparse expansion): what :func:`~hipool.nn.lapool_ops.dense_route` declines."""
        n, k = x.size(0), lead.numel()
        sim_chunks = ops.dense_chunks(batch, lead, 1) if n else None
        found = None
        if self.hops is None and sim_chunks is not None:
            if self.distance_weight:
                found = ops.dense_candidate_pairs(und_ei, leaders, sim_chunks)
            else:
                found = ops.component_pairs(und_ei, leaders, sim_chunks)
        node, slot, dist = found if found is not None else ops.candidate_pairs(und_ei, leaders, self.hops)
        if sim_chunks is not None:
            z = ops.chunked_similarity(xn, lead, node, slot, sim_chunks)
        else:
            z = (xn[node] * xn[lead[slot]]).sum(-1)
        if self.distance_weight:
            z = z / dist.to(z.dtype)
        z = z / self.tau
        if self.attention == "sparsemax":
            if found is not None:
                p = ops.chunked_sparsemax(z, node, slot, sim_chunks)
            else:
                p = ops.segment_sparsemax(z, node, n)
            nz = p.detach() > 0
            node, slot, p = node[nz], slot[nz], p[nz]
        elif found is not None:
            p = ops.chunked_softmax(z, node, slot, sim_chunks)
        else:
            p = segment_softmax(z, node, num_nodes=n)
        s_row = torch.cat([lead, node])
        s_col = torch.cat([torch.arange(k, device=x.device), slot])
        s_val = torch.cat([x.new_ones(k), p])
        if found is not None:  # both parts already in (row, column) order: merge them
            order = ops.merge_order(lead * max(k, 1) + torch.arange(k, device=x.device), node * max(k, 1) + slot)
        else:
            order = torch.argsort(s_row * max(k, 1) + s_col)
        s_row, s_col, s_val = s_row[order], s_col[order], s_val[order]

        # Hard assignment: the strongest leader, ties to the lower slot.
        sv = s_val.detach()
        best = torch.full((n,), float("-inf"), dtype=sv.dtype, device=x.device)
        best = best.scatter_reduce(0, s_row, sv, reduce="amax", include_self=True)
        cluster = torch.full((n,), k, dtype=torch.long, device=x.device).scatter_reduce(
            0, s_row, torch.where(sv == best[s_row], s_col, k), reduce="amin", include_self=True
        )

        chunks = ops.dense_chunks(batch, lead, values.size(1)) if n else None
        possible = 0  # Σ n_g l_g: the entries S could have
        if n:
            per_graph = torch.bincount(batch[lead], minlength=int(batch[-1]) + 1)
            possible = int((torch.bincount(batch) * per_graph).sum())
        if chunks is not None and s_val.numel() >= ops.DENSE_FILL * possible:
            pairs, vals, new_x = ops.dense_quotient(edge_index, values, s_row, s_col, s_val, chunks, x)
        else:
            pairs, vals = ops.sparse_quotient(edge_index, values, s_row, s_col, s_val, n, k)
            new_x = x.new_zeros(k, x.size(1)).index_add(0, s_col, s_val.unsqueeze(-1) * x[s_row])
        size = x.new_zeros(k).index_add(0, s_col, s_val) if self.reduce == "mean" else x.new_zeros(0)
        return ops.DenseRoute(torch.stack([s_row, s_col]), s_val, cluster, new_x, size, pairs, vals)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, laplacian={self.laplacian!r}, hops={self.hops}, "
            f"attention={self.attention!r}, tau={self.tau})"
        )
