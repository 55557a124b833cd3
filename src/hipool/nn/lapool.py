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
   of the input edges it merges.  Both are formed as :math:`S^\top (AS)` (dense per graph, or
   over the sparse entries of :math:`S`), never as ``[N, N]`` matrices; the pooled edges are the
   pairs those products reach.

The record's ``cluster`` is each node's strongest leader (ties to the lower leader index),
``assignment`` is ``S``: from the dense route in the clustering poolers' slot layout, ``[N, w]``
(column ``c`` of node ``i``: the ``c``-th leader of ``i``'s graph, ``w`` the most leaders of a graph;
:meth:`~hipool.record.PoolOutput.assignment_matrix` spreads it to ``[N, N']``), from the pair routes
the sparse ``[N, N']``; output nodes are numbered by their leader's index, so ``batch`` stays
sorted.  Gradients reach ``x`` through the cosine similarities and :math:`S^\top X`, and
``edge_weight``/``edge_attr`` through :math:`S^\top A S`; the leaders are discrete.
``edge_weight`` must be ``>= 0`` (degrees).

Cost: :math:`V` is ``O(E F)``.  With ``hops=None`` the rest takes the *dense route*
(:func:`dense_route`), one block of consecutive graphs at a time (at most ``DENSE_BLOCK``, 2^24,
padded entries): ``S`` is held as ``[nodes, w]``, each node against the ``w`` leaders of its graph
(``w`` the most of one graph in the block), so a graph of ``n`` nodes and ``l`` leaders costs
``n l`` entries; the similarities are one matrix product, the hop distances one breadth-first
search from all the leaders at once (``O(diameter · E · l)``; none with
``distance_weight=False``, where the components suffice), the softmax or sparsemax runs along the
rows, ``Sᵀ X`` and ``Sᵀ A_c S`` are per-graph dense products (``O(n l (F + l))``; ``Sᵀ A_c S`` by
expanding ``S``'s entries instead when that is cheaper, ``EXPANSION_COST``), and the pooled pairs
are where ``Sᵀ A S > 0`` (from the components when a term could underflow or a weight is 0).  It
declines, for the pair routes (the same record, tested), a dtype other than float32/float64, a
graph of more than ``DENSE_BLOCK`` nodes x leaders, candidate pairs and leaders filling less than
``DENSE_FILL`` (5 %) of the padded entries (graphs of many components), and a diameter above
``DENSE_BFS_STEPS`` (64).  The pair routes (also for ``hops`` set) find the pairs by a
breadth-first search that carries its source leader, ``O(P · deg)`` for ``P`` pairs, and form
``Sᵀ A S`` by expanding ``S``'s sparse entries, ``O(Σ_e nnz(S_v) + Σ_u nnz(S_u) nnz((AS)_u))``, or
by dense products in blocks when ``S`` fills at least ``DENSE_FILL`` of its graphs' entries.  On
a 10,000-node random graph of degree 8 (476 leaders, 4.5 M entries of ``S``) a forward and
backward pass on one core takes about 0.26 s with ``distance_weight=False, attention="softmax"``
(what tgp's ``LaPooling`` computes, in about as long; 1.3 s before the dense route) and 0.8 s
with the defaults (2.4 s before; ``benchmarks/poolers.py``, ``benchmarks/README.md``).  About a
quarter of the 0.26 s was a sparse ``assignment`` built from ``S``'s entries (``[2, 4.5 M]`` int64
indices and a gather of the values); the dense route now hands ``S`` itself to the record (0.19 s).

What the authors' code adds and this does not: a GNN and a feature-update layer inside the pooler
(here the model's convs do that), their leader filter (a leader whose neighbours are all leaders
is dropped), their link-prediction/entropy losses, and their ``hop`` mask (the number of walk
lengths up to ``hop`` that join a node to a leader, in place of :math:`1/d`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import softmax as segment_softmax

from ..checks import check_bool, check_int, check_number, prepare_pool_input
from ..ops import csr_crow, csr_mm, csr_tensor
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
    ``(edge_index, weight)`` (every edge in both directions with the same weight, no self-loops;
    :func:`~hipool.nn.kmis.undirected` gives it so, sorted by source)."""
    n = x.size(0)
    xd = x.detach().to(torch.float64)
    src, dst = edge_index[0], edge_index[1]
    w = weight.detach().to(torch.float64)
    deg = torch.zeros(n, dtype=torch.float64, device=x.device).index_add_(0, dst, w)
    if laplacian == "sym":
        dinv = deg.pow(-0.5)
        dinv = torch.where(torch.isinf(dinv), torch.zeros_like(dinv), dinv)
        w = dinv[src] * w * dinv[dst]
    # the sum over the edges j -> i of w x_j, or (the same weights both ways) over i -> j: a CSR
    # product with rows `src` (no [E, F] gather)
    if src.numel() > 1 and not bool((src[1:] >= src[:-1]).all()):
        order = torch.argsort(src, stable=True)
        src, dst, w = src[order], dst[order], w[order]
    agg = csr_mm(csr_tensor(csr_crow(src, n), dst, w, (n, n)), xd)
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
# the dense route
# ---------------------------------------------------------------------------
class Route(NamedTuple):
    """A route's result: the record's ``assignment`` (the dense route: ``S`` as ``[N, w]`` over the
    leader slots of each node's graph, ``w`` the most leaders of a graph; the pair routes: a sparse
    ``[N, K]``), ``cluster`` ``[N]``, ``Sᵀ x`` ``[K, F]``, ``S``'s column sums ``[K]`` (empty unless
    asked for) and the pooled pairs ``[2, P]`` (sorted) with their values ``[P, C]``."""

    assignment: Tensor
    cluster: Tensor
    pooled: Tensor
    size: Tensor
    pairs: Tensor
    vals: Tensor


def dense_route(
    x: Tensor,
    xn: Tensor,
    und_ei: Tensor,
    leaders: Tensor,
    lead: Tensor,
    batch: Tensor,
    edge_index: Tensor,
    values: Tensor,
    *,
    attention: str,
    tau: float,
    distance_weight: bool,
    sizes: bool,
) -> Optional[Route]:
    """The assignment and pooled graph with ``hops=None`` in dense blocks of graphs
    (:func:`~hipool.nn.lapool_ops.slot_blocks`), ``S`` as ``[nodes, w]``: each node against the
    leaders of its graph.  ``None`` (the pair routes then) for ``x`` not float32/float64, a graph of
    more than ``DENSE_BLOCK`` nodes x leaders, candidate pairs and leaders filling less than
    ``DENSE_FILL`` of the blocks' entries, or a search deeper than ``DENSE_BFS_STEPS``.  ``xn``: the
    unit-norm features; ``values`` ``[E, C]``: the edge channels, weights first; ``sizes``: return
    ``S``'s column sums too."""
    from ..ops import segment_mm, segment_sum, segment_tmm
    from .ndp import connected_components

    if x.dtype not in (torch.float32, torch.float64):
        return None
    n, device = x.size(0), x.device
    num_graphs = int(batch[-1]) + 1
    if num_graphs == 1:
        blocks = ops.slot_blocks([n], [lead.numel()])
    else:
        per_graph = torch.bincount(batch[lead], minlength=num_graphs)
        blocks = ops.slot_blocks(torch.bincount(batch, minlength=num_graphs).tolist(), per_graph.tolist())
    if blocks is None:
        return None
    comp = connected_components(und_ei, n)
    # S's entries per row when every candidate is one: a follower's component's leaders, a leader
    row_nnz = torch.where(leaders, 1, torch.bincount(comp[lead], minlength=n)[comp])
    if int(row_nnz.sum()) < ops.DENSE_FILL * sum((blk.b - blk.a) * blk.w for blk in blocks):
        return None
    lays = [ops._layout(batch, lead, blk) for blk in blocks]
    und_b, e_b = _block_edges(und_ei, blocks), _block_edges(edge_index, blocks)
    dists: List[Optional[Tensor]] = [None] * len(blocks)
    if distance_weight:
        for i, (blk, lay) in enumerate(zip(blocks, lays)):
            dists[i] = ops.slot_distances(und_b[i][0], leaders[blk.a : blk.b], lay, blk, ops.DENSE_BFS_STEPS)
            if dists[i] is None:
                return None
    parts: List[List[Tensor]] = [[] for _ in range(6)]
    for blk, lay, dist, (ei_b, sel) in zip(blocks, lays, dists, e_b):
        G, a, b, p, w = blk.g1 - blk.g0, blk.a, blk.b, blk.p, blk.w
        lead_b = leaders[a:b]
        # The logits, in place in the similarity matrix: cosine (over d) over tau; -1e30 for the
        # pairs that are not candidates, a leader's row 0 on its own column (then one-hot).
        xl = ops._padded(xn[lead[p : blk.q]], lay, blk, 0.0)  # [G, w, F]
        z = xn[a:b] @ xl[0].t() if G == 1 else segment_mm(xn[a:b], xl.transpose(1, 2), lay.batch, G)
        if dist is not None:
            cand = dist > 0
        else:
            cand = comp[a:b].unsqueeze(1) == ops._per_node(ops._padded(comp[lead[p : blk.q]], lay, blk, -1), lay)
        cand &= ~lead_b.unsqueeze(1)
        if dist is not None:
            z.div_(torch.where(cand, dist, 1).to(z.dtype))
        if tau != 1:
            z.div_(tau)
        own = (lay.lead, lay.slot)
        if attention == "softmax":
            S = ops._CandidateSoftmax.apply(z, cand, *own)
            ent = cand.index_put_(own, torch.ones((), dtype=torch.bool, device=device))
        else:
            z = z.to(torch.float64)
            z.masked_fill_(~cand, -1e30).index_put_(own, z.new_zeros(()))
            S = ops._sparsemax_rows(z).to(x.dtype)
            ent = S.detach() > 0
        del z, cand
        # S itself is the record's assignment (its [N, w] slot layout); the strongest leader of
        # each node (the first of equals), S^T x
        cluster = S.detach().argmax(1)
        if G > 1:
            off = p + lay.start[lay.batch]
            parts[1].append(cluster + off)
            parts[2].append(segment_tmm(S, x[a:b], lay.batch, G).flatten(0, 1)[lay.pos])
        else:
            parts[1].append(cluster + p if p else cluster)
            parts[2].append(S.t() @ x[a:b])
        parts[0].append(S)
        if sizes:
            parts[3].append(S.sum(0) if G == 1 else segment_sum(S, lay.batch, G).view(-1)[lay.pos])
        # S^T A_c S by the sparse expansion when S is sparse enough, else by dense products
        val_b = values if sel is None else values[sel]
        cnt = row_nnz[a:b] if attention == "softmax" else ent.sum(1)
        if ops.EXPANSION_COST * int((cnt[ei_b[0]] * cnt[ei_b[1]]).sum()) < (b - a) * w * w:
            # S's entries (nonzero() is column-major: its transpose is a contiguous [2, nnz])
            local = ent.nonzero().t()
            col = local[1] if G == 1 else local[1] + lay.start[lay.batch[local[0]]]
            s_val = S[local[0], local[1]]
            pairs, vals = ops.sparse_quotient(ei_b, val_b, local[0], col, s_val, b - a, blk.q - p)
            parts[4].append(pairs + p)
            parts[5].append(vals)
            continue
        # The pooled pairs: where S^T A_weights S > 0 when no term of it can underflow to 0
        # (weights > 0, S's entries > 0, their products above the dtype's tiny); else structural.
        reach = None
        least = float(S.detach().masked_fill(~ent, float("inf")).amin()) if ei_b.size(1) else 1.0
        low = least**2 * float(val_b[:, 0].detach().min()) if ei_b.size(1) else 1.0
        if not low > 4 * torch.finfo(x.dtype).tiny:
            if attention == "softmax":
                reach = ops.component_reach(ei_b, lead_b, comp[a:b] - a, lay, blk)
            else:
                reach = ops.indicator_reach(ent, ei_b, lay, blk)
        vals, reach = ops._Quotient.apply(S, val_b, ei_b, lay.batch, G, reach)
        g, ri, ci = reach.nonzero().unbind(1)
        base = p + lay.start[g]
        parts[4].append(torch.stack([base + ri, base + ci]))
        parts[5].append(vals)
    width = max(blk.w for blk in blocks)
    pad = [S if S.size(1) == width else torch.nn.functional.pad(S, (0, width - S.size(1))) for S in parts[0]]
    parts[0] = [pad[0] if len(pad) == 1 else torch.cat(pad, 0)]
    joined = [
        (part[0] if len(part) == 1 else torch.cat(part, -1 if k == 4 else 0)) if part else x.new_zeros(0)
        for k, part in enumerate(parts)
    ]
    return Route(*joined)


def _block_edges(edge_index: Tensor, blocks: List[ops.SlotBlock]) -> List[Tuple[Tensor, Optional[Tensor]]]:
    """Each block's edges (those whose source is among its nodes), block-local, and their
    positions in ``edge_index`` (``None``: all of them, for one block)."""
    if len(blocks) == 1:
        return [(edge_index - blocks[0].a if blocks[0].a else edge_index, None)]
    order = torch.argsort(edge_index[0], stable=True)
    cut = ops.block_cuts(edge_index[0, order], [(blk.a, blk.b) for blk in blocks])
    return [(edge_index[:, order[lo:hi]] - blk.a, order[lo:hi]) for blk, lo, hi in zip(blocks, [0] + cut[:-1], cut)]


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
            route = dense_route(
                x,
                xn,
                und_ei,
                leaders,
                lead,
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
        assignment, cluster, new_x, size, pairs, vals = route
        if self.reduce == "mean":
            new_x = new_x / size.unsqueeze(-1)
        if not self.keep_self_loops:
            off = pairs[0] != pairs[1]
            pairs, vals = pairs[:, off], vals[off]
        new_ea = vals[:, 1:].reshape(vals.size(0), *tail) if edge_attr is not None else None
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
    ) -> Route:
        """The candidate pairs as sparse entries (:func:`~hipool.nn.lapool_ops.candidate_pairs` or,
        with ``hops=None``, the dense-block searches), their normalisation and ``Sᵀ A S`` (dense
        products or the sparse expansion): what :func:`dense_route` declines."""
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
        assignment = torch.sparse_coo_tensor(
            torch.stack([s_row, s_col]), s_val, (n, lead.numel()), is_coalesced=True, check_invariants=False
        )
        return Route(assignment, cluster, new_x, size, pairs, vals)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, laplacian={self.laplacian!r}, hops={self.hops}, "
            f"attention={self.attention!r}, tau={self.tau})"
        )
