"""The candidate search, normalisation and pooled graph of :class:`~hipool.nn.lapool.LaPool`.

Three routes give the same result (``tests/nn/test_lapool.py`` runs each against the others):

* the dense route (:func:`~hipool.nn.lapool.dense_route`, with ``hops=None``): ``S`` as
  ``[nodes, w]`` per block of graphs (:func:`slot_blocks`, :func:`slot_distances`,
  ``_CandidateSoftmax``, :func:`_sparsemax_rows`, ``_Quotient``, :func:`component_reach`);
* the candidate pairs found in dense blocks of graphs (:func:`dense_chunks`,
  :func:`dense_candidate_pairs`, :func:`component_pairs`, :func:`chunked_similarity`,
  :func:`chunked_sparsemax`, :func:`dense_quotient`), for what the dense route declines;
* pair by pair (:func:`candidate_pairs`, :func:`segment_sparsemax`, :func:`sparse_quotient`), for
  any graph.

The module docstring of ``lapool`` says when each is used.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from ..ops import csr_mm, segment_tmm


def hop_distance(edge_index: Tensor, sources: Tensor, n: int) -> Tensor:
    """Hops from every node to the nearest of ``sources`` (a boolean mask), ``n`` (as infinity)
    where none is reachable."""
    src, dst = edge_index[0], edge_index[1]
    dist = torch.where(sources, 0, n).to(torch.long)
    while True:
        step = dist.scatter_reduce(0, dst, (dist[src] + 1).clamp(max=n), reduce="amin", include_self=True)
        if bool((step == dist).all()):
            return dist
        dist = step


def candidate_pairs(edge_index: Tensor, leaders: Tensor, hops: Optional[int]) -> Tuple[Tensor, Tensor, Tensor]:
    """The candidate leaders of every non-leader node: ``(node, slot, distance)``, ``slot`` the
    leader's position among the leaders (in index order), ``distance`` its hop distance.

    Within ``hops`` hops (``None``: any distance; paths may pass through other leaders), and for a
    node with no leader that close, its nearest leaders.  A breadth-first search that carries its
    source: frontier pairs ``(u, l)`` at distance ``t`` step to ``(v, l)`` along every edge
    ``u → v``; pairs seen before are dropped.  Past ``hops`` only the pairs of nodes whose nearest
    leader is exactly ``t`` hops away go on (the shortest paths from the nearest leaders).
    """
    n = leaders.numel()
    device = leaders.device
    lead = leaders.nonzero().view(-1)
    num_leaders = lead.numel()
    src, dst = edge_index[0], edge_index[1]
    order = torch.argsort(src, stable=True)
    src, dst = src[order], dst[order]
    deg = torch.bincount(src, minlength=n)
    ptr = torch.cumsum(deg, 0) - deg
    nearest = hop_distance(edge_index, leaders, n) if hops is not None else None

    f_node = lead
    f_slot = torch.arange(num_leaders, device=device)
    seen = f_node * max(num_leaders, 1) + f_slot
    # The pairs seen so far: a bitmap over every (node, slot) when it is small enough (no sort),
    # otherwise the sorted keys (``torch.unique``/``torch.isin``).
    bitmap = n * num_leaders <= BITMAP_LIMIT
    if bitmap:
        mark = torch.zeros(n * max(num_leaders, 1), dtype=torch.bool, device=device)
        mark[seen] = True
        stamp = torch.empty(n * max(num_leaders, 1), dtype=torch.long, device=device)
    out_node, out_slot, out_dist = [], [], []
    t = 0
    while f_node.numel():
        t += 1
        rep = deg[f_node]
        total = int(rep.sum())
        if total == 0:
            break
        pair = torch.repeat_interleave(torch.arange(f_node.numel(), device=device), rep, output_size=total)
        start = torch.cumsum(rep, 0) - rep
        offset = torch.arange(total, device=device) - torch.repeat_interleave(start, rep, output_size=total)
        v = dst[ptr[f_node[pair]] + offset]
        keys = v * max(num_leaders, 1) + f_slot[pair]
        if bitmap:
            # One copy of each key (the last written wins the stamp), in key order.
            stamp[keys] = torch.arange(keys.numel(), device=device)
            keys = keys[stamp[keys] == torch.arange(keys.numel(), device=device)]
            if hops is None or t <= hops:
                keys = keys[~mark[keys]]
                mark[keys] = True
            keys = torch.sort(keys).values
        else:
            keys = torch.unique(keys)
            if hops is None or t <= hops:
                keys = keys[~torch.isin(keys, seen)]
                seen = torch.cat([seen, keys])
        f_node = torch.div(keys, max(num_leaders, 1), rounding_mode="floor")
        f_slot = keys - f_node * max(num_leaders, 1)
        if hops is not None and t > hops:
            assert nearest is not None
            on_path = nearest[f_node] == t
            f_node, f_slot = f_node[on_path], f_slot[on_path]
        keep = ~leaders[f_node]
        out_node.append(f_node[keep])
        out_slot.append(f_slot[keep])
        out_dist.append(torch.full((int(keep.sum()),), t, dtype=torch.long, device=device))
        if hops is not None and t >= hops:
            assert nearest is not None
            if not bool(((nearest > t) & (nearest < n)).any()):
                break
    if not out_node:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, empty
    return torch.cat(out_node), torch.cat(out_slot), torch.cat(out_dist)


#: Largest ``nodes x leaders`` for which :func:`candidate_pairs` marks the pairs it has seen in a
#: bitmap (one byte each) rather than in a sorted list.
BITMAP_LIMIT = 1 << 27


# ---------------------------------------------------------------------------
# normalisation over the candidates
# ---------------------------------------------------------------------------
def segment_sparsemax(z: Tensor, row: Tensor, num_rows: int) -> Tensor:
    r"""Sparsemax (Martins & Astudillo, ICML 2016) of ``z`` within each ``row``:
    :math:`p = \max(z - \tau_r, 0)` with :math:`\tau_r` such that each row sums to 1.  Sorted
    cumulative sums are taken in float64; the result has ``z``'s dtype and its gradient is
    sparsemax's (autograd through the sort and the cumulative sum)."""
    if z.numel() == 0:
        return z
    zd = z.to(torch.float64)
    o1 = torch.argsort(zd.detach(), descending=True, stable=True)
    order = o1[torch.argsort(row[o1], stable=True)]
    zs, rs = zd[order], row[order]
    counts = torch.bincount(rs, minlength=num_rows)
    start = torch.cumsum(counts, 0) - counts
    pos = torch.arange(zs.numel(), device=z.device) - start[rs] + 1
    csum = torch.cumsum(zs, 0)
    base = (csum - zs)[start[rs]]
    csum = csum - base
    support = 1 + pos * zs.detach() > csum.detach()
    kstar = torch.zeros(num_rows, dtype=torch.long, device=z.device).scatter_reduce(
        0, rs, torch.where(support, pos, 0), reduce="amax", include_self=True
    )
    has = counts > 0
    last = torch.where(has, start + kstar - 1, 0)
    tau = (csum[last] - 1) / torch.where(has, kstar, 1).to(torch.float64)
    return (zd - tau[row]).clamp_min(0).to(z.dtype)


def _per_block(z: Tensor, node: Tensor, slot: Tensor, chunks, rows, dtype: torch.dtype) -> Tensor:
    """``rows`` (a row-wise normalisation of a dense matrix) applied to each block's logits laid out
    as ``[nodes, leaders]`` (absent pairs at a large negative value), read back at the pairs; the
    pairs in (node, slot) order, as :func:`dense_candidate_pairs` gives them."""
    if z.numel() == 0:
        return z
    cut = block_cuts(node, chunks)
    parts, start = [], 0
    for (a, b, p, q), stop in zip(chunks, cut):
        r, c = node[start:stop] - a, slot[start:stop] - p
        zd = torch.full((b - a, q - p), -1e30, dtype=dtype, device=z.device)
        parts.append(rows(zd.index_put((r, c), z[start:stop].to(dtype)))[r, c])
        start = stop
    return torch.cat(parts).to(z.dtype)


def _sparsemax_rows(zd: Tensor) -> Tensor:
    """Sparsemax of every row of ``zd`` (entries at -1e30 are never in the support).  The support is
    found among each row's :data:`SPARSEMAX_TOP` largest entries (``topk``, cheaper than sorting
    whole rows), widened fourfold while some row's support fills them."""
    w = zd.size(1)
    k = min(w, SPARSEMAX_TOP)
    while True:
        top = torch.topk(zd.detach(), k, dim=1)
        csum_d = torch.cumsum(top.values, 1)
        pos = torch.arange(1, k + 1, device=zd.device, dtype=zd.dtype)
        kstar = (1 + pos * top.values > csum_d).sum(1)
        if k == w or not bool((kstar == k).any()):
            break
        k = min(w, 4 * k)
    csum = torch.cumsum(zd.gather(1, top.indices), 1)
    kstar = kstar.clamp_min(1)
    tau = (csum.gather(1, (kstar - 1).unsqueeze(1)).squeeze(1) - 1) / kstar.to(zd.dtype)
    return (zd - tau.unsqueeze(1)).clamp_min(0)


#: How many of a row's largest entries :func:`_sparsemax_rows` looks at first.
SPARSEMAX_TOP = 32


def chunked_sparsemax(z: Tensor, node: Tensor, slot: Tensor, chunks) -> Tensor:
    """:func:`segment_sparsemax` of ``z`` within each ``node``, one block at a time (a row-wise sort
    of the block, cheaper than sorting all pairs at once; float64 like it)."""
    return _per_block(z, node, slot, chunks, _sparsemax_rows, torch.float64)


def chunked_softmax(z: Tensor, node: Tensor, slot: Tensor, chunks) -> Tensor:
    """The softmax of ``z`` within each ``node`` (``torch_geometric.utils.softmax``), one block at a
    time (absent pairs get no weight)."""
    return _per_block(z, node, slot, chunks, lambda zd: torch.softmax(zd, dim=1), z.dtype)


def merge_order(first: Tensor, second: Tensor) -> Tensor:
    """The permutation that sorts ``cat([first, second])`` when each is sorted and no key is in
    both: every key's place is its rank in its own part plus the number of smaller keys in the
    other (``O((a + b) log)`` by binary search, cheaper than sorting the whole)."""
    a, b = first.numel(), second.numel()
    place_first = torch.arange(a, device=first.device) + torch.searchsorted(second, first)
    place_second = torch.arange(b, device=first.device) + torch.searchsorted(first, second)
    order = torch.empty(a + b, dtype=torch.long, device=first.device)
    order[place_first] = torch.arange(a, device=first.device)
    order[place_second] = torch.arange(a, a + b, device=first.device)
    return order


# ---------------------------------------------------------------------------
# S^T A S over the sparse entries of S
# ---------------------------------------------------------------------------
def _expand(rows: Tensor, s_ptr: Tensor, s_cnt: Tensor) -> Tuple[Tensor, Tensor]:
    """For entries with row ``rows[e]``, every ``(e, j)`` with ``j`` an entry of ``S``'s row
    ``rows[e]``: returns ``(e, j)`` as two index vectors."""
    rep = s_cnt[rows]
    total = int(rep.sum())
    e = torch.repeat_interleave(torch.arange(rows.numel(), device=rows.device), rep, output_size=total)
    start = torch.cumsum(rep, 0) - rep
    j = (
        s_ptr[rows[e]]
        + torch.arange(total, device=rows.device)
        - torch.repeat_interleave(start, rep, output_size=total)
    )
    return e, j


def _coalesce(row: Tensor, col: Tensor, values: Tensor, num_cols: int) -> Tuple[Tensor, Tensor, Tensor]:
    key = row * max(num_cols, 1) + col
    uniq, inv = torch.unique(key, return_inverse=True)
    out = values.new_zeros(uniq.numel(), values.size(1)).index_add(0, inv, values)
    r = torch.div(uniq, max(num_cols, 1), rounding_mode="floor")
    return r, uniq - r * max(num_cols, 1), out


def sparse_quotient(
    edge_index: Tensor, values: Tensor, s_row: Tensor, s_col: Tensor, s_val: Tensor, n: int, k: int
) -> Tuple[Tensor, Tensor]:
    """``Sᵀ M_c S`` for every column ``c`` of ``values`` ``[E, C]`` (``M_c[i, j]`` the value of edge
    ``i → j``), ``S`` given by its entries ``(s_row, s_col, s_val)`` of shape ``[n, k]``: the pooled
    pairs ``[2, P]`` (sorted by row, then column) and their values ``[P, C]``.  Two expansions,
    ``AS`` then ``Sᵀ(AS)``; no ``[n, n]`` or ``[k, k]`` tensor."""
    order = torch.argsort(s_row, stable=True)
    r, c, v = s_row[order], s_col[order], s_val[order]
    cnt = torch.bincount(r, minlength=n)
    ptr = torch.cumsum(cnt, 0) - cnt
    # AS: edge u -> w times the entries of S's row w.
    e, j = _expand(edge_index[1], ptr, cnt)
    as_row, as_col, as_val = _coalesce(edge_index[0, e], c[j], values[e] * v[j].unsqueeze(-1), k)
    # Sᵀ(AS): the entries of S's row u times the entries of AS's row u.
    e2, j2 = _expand(as_row, ptr, cnt)
    a, b, val = _coalesce(c[j2], as_col[e2], as_val[e2] * v[j2].unsqueeze(-1), k)
    return torch.stack([a, b]), val


# ---------------------------------------------------------------------------
# dense blocks: consecutive graphs whose nodes x leaders fit DENSE_BLOCK
# ---------------------------------------------------------------------------
#: Most entries of one dense block: padded entries ``nodes x w`` of the dense route
#: (:func:`slot_blocks`; a graph with more ``nodes x leaders`` takes the pair routes), and
#: ``nodes x leaders x channels`` of the pair routes' chunked products (:func:`dense_chunks`).
DENSE_BLOCK = 1 << 24
#: Cost of one pair of the sparse expansion of ``Sᵀ A S`` (an edge ``u → v`` pairs every entry of
#: ``S``'s row ``u`` with every entry of row ``v``) against one multiply-add of the dense product:
#: :func:`~hipool.nn.lapool.dense_route` expands when ``EXPANSION_COST Σ_e nnz(S_u) nnz(S_v) < nodes w²``.
EXPANSION_COST = 4096
#: Least share of the dense route's padded entries that are candidate pairs or leaders for it to
#: be taken (below: graphs of many components, left to the pair routes); in the pair routes, least
#: share of ``S``'s possible entries (its graphs' ``Σ n_g l_g``) that are non-zero for the pooled
#: graph to be formed by dense products rather than by expanding the sparse entries.
DENSE_FILL = 0.05


def block_cuts(sorted_nodes: Tensor, chunks) -> List[int]:
    """For node ids sorted ascending, the position where each block of ``chunks`` ends (its nodes
    ``a:b`` are ``sorted_nodes[previous cut : cut]``)."""
    ends = torch.tensor([c[1] for c in chunks], dtype=sorted_nodes.dtype, device=sorted_nodes.device)
    return torch.searchsorted(sorted_nodes, ends).tolist()


def dense_chunks(batch: Tensor, lead: Tensor, width: int) -> Optional[List[Tuple[int, int, int, int]]]:
    """Consecutive graphs grouped into blocks ``(a, b, p, q)`` (nodes ``a:b``, leader slots
    ``p:q``) of at most :data:`DENSE_BLOCK` ``(b - a) (q - p) width`` entries each, or ``None``
    when one graph alone is larger than that.  ``batch`` is sorted and every graph has a leader."""
    num_graphs = int(batch[-1]) + 1 if batch.numel() else 0
    nodes = torch.bincount(batch, minlength=num_graphs).tolist()
    leaders = torch.bincount(batch[lead], minlength=num_graphs).tolist()
    chunks: List[Tuple[int, int, int, int]] = []
    a = b = p = q = 0
    for n_g, l_g in zip(nodes, leaders):
        if n_g * l_g * width > DENSE_BLOCK:
            return None
        if (b - a + n_g) * (q - p + l_g) * width > DENSE_BLOCK:
            chunks.append((a, b, p, q))
            a, p = b, q
        b, q = b + n_g, q + l_g
    if b > a:
        chunks.append((a, b, p, q))
    return chunks


#: Most breadth-first steps of :func:`slot_distances` and :func:`dense_candidate_pairs` (each costs
#: ``E x leaders``) before the graph is left to the pair-by-pair search of :func:`candidate_pairs`.
DENSE_BFS_STEPS = 64


def component_pairs(edge_index: Tensor, leaders: Tensor, chunks) -> Tuple[Tensor, Tensor, Tensor]:
    """Every (non-leader node, leader of its connected component) pair, in (node, slot) order, with
    distance 1 for all: :func:`dense_candidate_pairs` when the distances are not used
    (``distance_weight=False``), from the component labels alone (no search)."""
    from .ndp import connected_components

    device = leaders.device
    comp = connected_components(edge_index, leaders.numel())
    lead = leaders.nonzero().view(-1)
    out_node, out_slot = [], []
    for a, b, p, q in chunks:
        keep = (comp[a:b].unsqueeze(1) == comp[lead[p:q]].unsqueeze(0)) & ~leaders[a:b].unsqueeze(1)
        r, c = keep.nonzero().unbind(1)
        out_node.append(r + a)
        out_slot.append(c + p)
    node = torch.cat(out_node) if out_node else torch.zeros(0, dtype=torch.long, device=device)
    slot = torch.cat(out_slot) if out_slot else torch.zeros(0, dtype=torch.long, device=device)
    return node, slot, torch.ones_like(node)


def dense_candidate_pairs(
    edge_index: Tensor, leaders: Tensor, chunks, max_steps: int = DENSE_BFS_STEPS
) -> Optional[Tuple[Tensor, Tensor, Tensor]]:
    """:func:`candidate_pairs` with ``hops=None`` (every leader of the node's component, at its hop
    distance) by a breadth-first search from all the leaders of a block at once: a dense
    ``[nodes, leaders]`` frontier times the block's adjacency per step, ``O(steps · E · leaders)``,
    fast on graphs of small diameter.  ``None`` when a block needs more than ``max_steps`` steps
    (then the pair-by-pair search is cheaper).  Pairs in (node, slot) order."""
    device = leaders.device
    lead = leaders.nonzero().view(-1)
    e_order = torch.argsort(edge_index[0], stable=True)
    e_cut = block_cuts(edge_index[0, e_order], chunks)
    out_node, out_slot, out_dist = [], [], []
    e0 = 0
    for (a, b, p, q), e1 in zip(chunks, e_cut):
        nb, kq = b - a, q - p
        local = edge_index[:, e_order[e0:e1]] - a
        e0 = e1
        # adjacency with rows = targets: (A_in F)[v] = sum over edges u -> v of F[u]
        adj = torch.sparse_coo_tensor(
            local.flip(0), torch.ones(local.size(1), device=device), (nb, nb), check_invariants=False
        ).coalesce()
        dist = torch.full((nb, kq), -1, dtype=torch.long, device=device)
        rows = lead[p:q] - a
        cols = torch.arange(kq, device=device)
        dist[rows, cols] = 0
        frontier = torch.zeros(nb, kq, device=device)
        frontier[rows, cols] = 1.0
        t = 0
        while True:
            t += 1
            reached = (torch.sparse.mm(adj, frontier) > 0) & (dist < 0)
            if not bool(reached.any()):
                break
            if t > max_steps:
                return None
            dist[reached] = t
            frontier = reached.to(frontier.dtype)
        keep = (dist > 0) & ~leaders[a:b].unsqueeze(1)
        r, c = keep.nonzero().unbind(1)
        out_node.append(r + a)
        out_slot.append(c + p)
        out_dist.append(dist[r, c])
    if not out_node:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, empty
    return torch.cat(out_node), torch.cat(out_slot), torch.cat(out_dist)


def chunked_similarity(xn: Tensor, lead: Tensor, node: Tensor, slot: Tensor, chunks) -> Tensor:
    """``xn[node] · xn[lead[slot]]`` for every pair, through one ``[nodes, leaders]`` matrix
    product per block of ``chunks`` (no ``[pairs, F]`` gather)."""
    order = torch.argsort(node, stable=True)
    cut = block_cuts(node[order], chunks)
    parts, start = [], 0
    for (a, b, p, q), stop in zip(chunks, cut):
        idx = order[start:stop]
        gram = xn[a:b] @ xn[lead[p:q]].t()
        parts.append(gram[node[idx] - a, slot[idx] - p])
        start = stop
    z = xn.new_empty(node.numel())
    return z.index_put((order,), torch.cat(parts)) if parts else z


def dense_quotient(
    edge_index: Tensor, values: Tensor, s_row: Tensor, s_col: Tensor, s_val: Tensor, chunks, x: Tensor
) -> Tuple[Tensor, Tensor, Tensor]:
    """:func:`sparse_quotient` through dense products, one block of ``chunks`` at a time:
    ``S_b`` ``[nodes, leaders]`` dense, ``A_c S_b`` a sparse-dense product per channel, then
    ``S_bᵀ (A_c S_b)``.  The pooled pairs are those the sparse expansion reaches (the same product
    on the indicators of the entries), sorted by row, then column; ``s_row`` must be sorted.
    Also returns ``Sᵀ x`` ``[leaders, F]`` (``S_bᵀ x_b`` per block)."""
    device = values.device
    e_order = torch.argsort(edge_index[0], stable=True)
    e_src = edge_index[0, e_order]
    e_cut = block_cuts(e_src, chunks)
    s_cut = block_cuts(s_row, chunks)
    pairs, vals, pooled = [], [], []
    e0 = s0 = 0
    for (a, b, p, q), e1, s1 in zip(chunks, e_cut, s_cut):
        nb, kq = b - a, q - p
        S = s_val.new_zeros(nb, kq).index_put((s_row[s0:s1] - a, s_col[s0:s1] - p), s_val[s0:s1], accumulate=True)
        pooled.append(S.t() @ x[a:b])
        ind = torch.zeros(nb, kq, dtype=values.dtype, device=device)
        ind[s_row[s0:s1] - a, s_col[s0:s1] - p] = 1.0
        es = e_order[e0:e1]
        local = edge_index[:, es] - a
        ones = torch.sparse_coo_tensor(local, values.new_ones(es.numel()), (nb, nb), check_invariants=False)
        reach = (ind.t() @ torch.sparse.mm(ones, ind)) > 0
        r, c = reach.nonzero().unbind(1)
        cols = []
        for ch in range(values.size(1)):
            a_c = torch.sparse_coo_tensor(local, values[es, ch], (nb, nb), check_invariants=False)
            q_c = S.t() @ torch.sparse.mm(a_c, S)
            cols.append(q_c[r, c])
        pairs.append(torch.stack([r + p, c + p]))
        vals.append(torch.stack(cols, 1))
        e0, s0 = e1, s1
    return torch.cat(pairs, 1), torch.cat(vals), torch.cat(pooled)


# ---------------------------------------------------------------------------
# the dense route: S as [nodes, leaders of the node's graph], one block of graphs at a time
# ---------------------------------------------------------------------------
class SlotBlock(NamedTuple):
    """Graphs ``g0:g1`` (nodes ``a:b``, leader slots ``p:q``), laid out as ``[b - a, w]``: row ``i``
    holds node ``a + i``'s entries for the ``w`` (most leaders of one graph) slots of its graph."""

    g0: int
    g1: int
    a: int
    b: int
    p: int
    q: int
    w: int


def slot_blocks(nodes: List[int], leaders: List[int]) -> Optional[List[SlotBlock]]:
    """Consecutive graphs (``nodes[g]`` nodes, ``leaders[g]`` leaders each) grouped into blocks of at
    most :data:`DENSE_BLOCK` padded entries ``(b - a) w``, or ``None`` when one graph alone has more."""
    blocks: List[SlotBlock] = []
    g0 = a = b = p = q = w = 0
    for g, (n_g, l_g) in enumerate(zip(nodes, leaders)):
        if n_g * l_g > DENSE_BLOCK:
            return None
        if b > a and (b - a + n_g) * max(w, l_g) > DENSE_BLOCK:
            blocks.append(SlotBlock(g0, g, a, b, p, q, w))
            g0, a, p, w = g, b, q, 0
        b, q, w = b + n_g, q + l_g, max(w, l_g)
    if b > a:
        blocks.append(SlotBlock(g0, len(nodes), a, b, p, q, w))
    return blocks


class _Layout(NamedTuple):
    """One block's leaders in its ``[nodes, w]`` layout (all block-local)."""

    batch: Tensor  # [nodes] graph of each node, 0..G-1
    lead: Tensor  # [leaders] node of each leader
    graph: Tensor  # [leaders] graph of each leader
    slot: Tensor  # [leaders] the leader's column (its rank among its graph's leaders)
    start: Tensor  # [G] first leader of each graph (block-local slot)
    pos: Tensor  # [leaders] graph * w + slot: the leader's place in a [G, w] layout


def _layout(batch: Tensor, lead: Tensor, blk: SlotBlock) -> _Layout:
    ll = lead[blk.p : blk.q] - blk.a if blk.a else lead[blk.p : blk.q]
    slot = torch.arange(ll.numel(), device=ll.device)
    if blk.g1 - blk.g0 == 1:  # one graph: the leaders in slot order, no padding
        zero = slot.new_zeros(1)
        return _Layout(zero.expand(blk.b - blk.a), ll, zero.expand(ll.numel()), slot, zero, slot)
    bl = batch[blk.a : blk.b] - blk.g0
    lg = bl[ll]
    count = torch.bincount(lg, minlength=blk.g1 - blk.g0)
    start = torch.cumsum(count, 0) - count
    slot = slot - start[lg]
    return _Layout(bl, ll, lg, slot, start, lg * blk.w + slot)


def _padded(values: Tensor, lay: _Layout, blk: SlotBlock, fill) -> Tensor:
    """``values`` (one per leader, ``[leaders, *]``) laid out as ``[G, w, *]`` (``fill`` elsewhere)."""
    G = blk.g1 - blk.g0
    if G == 1:
        return values.unsqueeze(0)
    out = values.new_full((G * blk.w, *values.shape[1:]), fill)
    return out.index_copy(0, lay.pos, values).view(G, blk.w, *values.shape[1:])


def _per_node(padded: Tensor, lay: _Layout) -> Tensor:
    """A ``[G, w]`` layout read per node: ``[nodes, w]`` (a broadcast view for one graph)."""
    return padded if padded.size(0) == 1 else padded[lay.batch]


def slot_distances(
    edge_index: Tensor, leaders: Tensor, lay: _Layout, blk: SlotBlock, max_steps: int
) -> Optional[Tensor]:
    """Hop distance ``[nodes, w]`` (int16; -1 where unreachable or padding) from every node of the
    block to each leader of its graph: :func:`dense_candidate_pairs`'s breadth-first search in the
    ``[nodes, w]`` layout (``edge_index``: the block's edges, block-local).  ``None`` past
    ``max_steps`` steps."""
    from ..ops import csr_crow, csr_tensor

    nb = blk.b - blk.a
    device = leaders.device
    order = torch.argsort(edge_index[1], stable=True)  # rows of the product are targets
    adj = csr_tensor(
        csr_crow(edge_index[1, order], nb),
        edge_index[0, order],
        torch.ones(order.numel(), device=device),
        (nb, nb),
    )
    dist = torch.full((nb, blk.w), -1, dtype=torch.int16, device=device)
    dist[lay.lead, lay.slot] = 0
    seen = dist == 0
    frontier = seen.to(torch.float32)
    t = 0
    while True:
        t += 1
        reached = csr_mm(adj, frontier) > 0
        reached &= ~seen
        if not bool(reached.any()):
            return dist
        if t > max_steps:
            return None
        dist.masked_fill_(reached, t)
        seen |= reached
        frontier = reached.to(torch.float32)


class _CandidateSoftmax(torch.autograd.Function):
    """The softmax along the rows of the logits ``z`` ``[nodes, w]`` over the candidates ``cand``
    (the other pairs at -1e30), a leader's row one-hot on its column (``rows``, ``cols``: 0 there,
    -1e30 elsewhere), written over ``z`` (marked dirty; on the CPU in place, which saves a
    ``[nodes, w]`` allocation: the kernel reads each element before it writes it; the backward
    pass likewise over its gradient).  The backward pass is the softmax's alone: it is already 0
    wherever the masks wrote (``S`` is 0 there, or a leader's one-hot row), so the masks cost no
    pass and no copy of the gradient."""

    @staticmethod
    def forward(ctx, z: Tensor, cand: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        z.masked_fill_(~cand, -1e30).index_put_((rows, cols), z.new_zeros(()))
        if z.device.type == "cpu":
            torch.ops.aten._softmax.out(z, 1, False, out=z)
        else:
            z.copy_(torch.softmax(z, dim=1))
        ctx.mark_dirty(z)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, grad: Tensor):
        (S,) = ctx.saved_tensors
        if grad.device.type == "cpu" and not grad.requires_grad and grad.is_contiguous() and grad.shape == S.shape:
            # in place: S's gradient is a fresh tensor of the route's own products (S^T x, the
            # entries' gather, S^T A S), read by nothing else; the kernel reduces a row first
            torch.ops.aten._softmax_backward_data.out(grad, S, 1, S.dtype, grad_input=grad)
            return grad, None, None, None
        return torch._softmax_backward_data(grad, S, 1, S.dtype), None, None, None


def component_reach(edge_index: Tensor, leaders: Tensor, comp: Tensor, lay: _Layout, blk: SlotBlock) -> Tensor:
    """Which pooled pairs ``Sᵀ A S`` reaches ``[G, w, w]`` when ``S``'s entries are every (follower,
    leader of its component) pair and the leaders' own, from the components (``O(E + G w²)``, no
    product).  An edge ``u → v`` joins every leader of ``u``'s component (``u`` itself if it leads)
    to every leader of ``v``'s (``v`` if it leads): leader ``l``'s row reaches all of its component
    when an edge into a follower leaves ``l`` or a follower of the component, its column when an
    edge from a follower enters ``l`` or a follower of the component.  Block-local ``edge_index``,
    ``leaders`` and ``comp`` (component labels in ``0:nodes``)."""
    nb, device = leaders.numel(), leaders.device
    u, v = edge_index[0], edge_index[1]
    fu, fv = ~leaders[u], ~leaders[v]
    out_f = torch.zeros(nb, dtype=torch.bool, device=device).index_fill_(0, u[fv], True)  # -> a follower
    in_f = torch.zeros(nb, dtype=torch.bool, device=device).index_fill_(0, v[fu], True)  # <- a follower
    full = torch.zeros(nb, dtype=torch.bool, device=device).index_fill_(0, comp[out_f & ~leaders], True)
    cl = comp[lay.lead]
    c_pad = _padded(cl, lay, blk, -1)
    row = _padded(full[cl] | out_f[lay.lead], lay, blk, False)
    col = _padded(full[cl] | in_f[lay.lead], lay, blk, False)
    reach = (c_pad.unsqueeze(2) == c_pad.unsqueeze(1)) & (row.unsqueeze(2) | col.unsqueeze(1))
    both = ~(fu | fv)
    if bool(both.any()):  # an edge between two leaders
        slot_of = torch.empty(nb, dtype=torch.long, device=device)
        slot_of[lay.lead] = torch.arange(lay.lead.numel(), device=device)
        su, sv = slot_of[u[both]], slot_of[v[both]]
        reach[lay.graph[su], lay.slot[su], lay.slot[sv]] = True
    return reach


def indicator_reach(ent: Tensor, edge_index: Tensor, lay: _Layout, blk: SlotBlock) -> Tensor:
    """Which pooled pairs ``Sᵀ A S`` reaches ``[G, w, w]``, ``S``'s entries given by ``ent``
    ``[nodes, w]``: the same product on their indicator (float32, block-local ``edge_index``)."""
    from ..ops import gather_as

    ind = ent.to(torch.float32)
    return segment_tmm(ind, gather_as(edge_index, None, ind), lay.batch, blk.g1 - blk.g0) > 0


class _Quotient(torch.autograd.Function):
    """``S_gᵀ A_c S_g`` per graph ``g`` (``batch``, ``num_graphs``) and channel ``c`` (``A_c``: the
    edges with the values ``values[:, c]``), read at the pooled pairs ``reach`` ``[G, w, w]``: the values
    ``[pairs, C]`` and ``reach``.  ``reach=None``: the pairs where the first channel (the weights) is
    positive, for a caller that knows no term of it underflows.  The backward pass recomputes
    ``A_c S`` (a sparse product) instead of keeping one ``[nodes, w]`` tensor per channel alive."""

    @staticmethod
    def forward(ctx, S: Tensor, values: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int, reach):
        from ..ops import csr_crow, csr_tensor

        src, dst, vals = edge_index[0], edge_index[1], values
        if src.numel() > 1 and not bool((src[1:] >= src[:-1]).all()):
            order = torch.argsort(src, stable=True)
            src, dst, vals = src[order], dst[order], vals[order]
        crow = csr_crow(src, S.size(0))
        cols = []
        for c in range(values.size(1)):
            q = segment_tmm(
                S,
                csr_mm(csr_tensor(crow, dst, vals[:, c].contiguous(), (S.size(0),) * 2), S),
                batch,
                num_graphs,
            )
            if reach is None:
                reach = q > 0
            cols.append(q[reach])
        ctx.mark_non_differentiable(reach)
        ctx.save_for_backward(S, values, edge_index, batch, reach)
        return torch.stack(cols, 1), reach

    @staticmethod
    def backward(ctx, grad: Tensor, _unused: Optional[Tensor]):
        from ..ops import gather_as, segment_mm

        S, values, edge_index, batch, reach = ctx.saved_tensors
        num_graphs = reach.size(0)
        grad_s = torch.zeros_like(S) if ctx.needs_input_grad[0] else None
        grad_v = torch.zeros_like(values) if ctx.needs_input_grad[1] else None
        where = reach.nonzero().unbind(1)
        for c in range(values.size(1)):
            dq = S.new_zeros(reach.shape).index_put_(where, grad[:, c])
            with torch.enable_grad():
                s_ = S.detach().requires_grad_(grad_s is not None)
                v_ = values[:, c].detach().requires_grad_(grad_v is not None)
                m = gather_as(edge_index, v_, s_)
            # Q = Sᵀ M: dS = M dQᵀ (here) + the part through M = A S, with dM = S dQ (autograd)
            wanted = [t for t in (s_, v_) if t.requires_grad]
            got = iter(torch.autograd.grad(m, wanted, segment_mm(S, dq, batch, num_graphs)))
            if grad_s is not None:
                grad_s += segment_mm(m.detach(), dq.transpose(1, 2), batch, num_graphs) + next(got)
            if grad_v is not None:
                grad_v[:, c] = next(got)
        return grad_s, grad_v, None, None, None, None
