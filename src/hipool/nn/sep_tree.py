r"""The structural-entropy encoding tree of :class:`~hipool.nn.sep.SEPPooling` (Wu, Chen, Xu & Li,
"Structural Entropy Guided Graph Hierarchical Pooling", ICML 2022): NumPy on the CPU, graph by graph.

**Structural entropy.**  For a weighted undirected graph with degrees :math:`d_i` and volume
:math:`V = \sum_i d_i`, an encoding tree :math:`T` (a root, the nodes of the graph as its leaves)
has the structural entropy

.. math::
    H^T(G) = -\sum_{\alpha \ne \mathrm{root}} \frac{g_\alpha}{V}
             \log_2 \frac{\mathrm{vol}(\alpha)}{\mathrm{vol}(\alpha^-)},

where :math:`\mathrm{vol}(\alpha)` is the summed degree of the leaves under :math:`\alpha`,
:math:`g_\alpha` the weight of the edges with exactly one end under it, and :math:`\alpha^-` the
parent of :math:`\alpha` (a term with :math:`g_\alpha = 0` is 0).  :func:`structural_entropy`
computes it for a tree given as nested partitions.  The graph is read undirected:
:math:`A = (W + W^\top)/2` with :math:`W_{ij}` the summed ``edge_weight`` of the edges ``i → j``
(so a PyG graph that stores both directions keeps its weights); a self-loop adds to its node's
degree (its volume) but to no cut.  That is what keeps entropies consistent across levels: a
graph pooled with ``keep_self_loops=True`` has the volumes of the original.

**The encoding tree** (:func:`sep_tree`) of height ``h`` is built greedily with the paper's
operators, level by level as the authors' code does (its default ``mode='v2'``):

1. *merge* (Li & Pan's operator: two sibling communities become one): from every node in a
   community of its own, merge the two adjacent communities whose merge lowers :math:`H^T` most,
   while one does.  Greedy merging gets stuck where a merge that helps early blocks better ones
   (two cliques' bridge nodes paired off), so rounds of merging alternate, until nothing
   changes (at most 8 rounds), with two refinements that each take only exact improvements:
   *moving* one node to an adjacent (or a new) community, and *dissolving* a community, its
   members moved to their best adjacent communities one by one (together they may gain where
   each alone would lose).  This gives a tree of height 2 (root, communities, nodes).
2. While the tree is lower than ``h``, it grows by one level where that lowers :math:`H^T` more:
   *on top* (the paper's *combine*: the root's children grouped under new nodes, by the same
   optimisation over the top communities as units) or *at the bottom* (the same optimisation
   over the nodes inside each bottom community: a level of sub-communities).  A level that no
   merge improves repeats the one next to it (the paper's *fill*, chains of single children);
   the tree never exceeds ``h``, so the paper's *compress* is not needed.

Every step uses the exact change of :math:`H^T`.  For a community :math:`C` of units (nodes, or
communities of the level below) under a parent of volume :math:`v_p`, :math:`H^T` holds
:math:`(2 I_C \log_2 \mathrm{vol}(C) + g_C \log_2 v_p) / V` plus terms of its units alone, with
:math:`I_C` the weight between its units; so merging :math:`a, b` with cut :math:`c` changes it by

.. math::
    \Delta = \frac{1}{V}\Big[2I_a\log_2\frac{v_a+v_b}{v_a}
        + 2I_b\log_2\frac{v_a+v_b}{v_b} - 2c\log_2\frac{v_p}{v_a+v_b}\Big],

(non-negative unless :math:`c > 0`, so only adjacent communities are candidates).  Ties are taken
in a canonical order: by each node's colour after weighted Weisfeiler-Leman refinement, then by
index.  So the tree is deterministic, and permutes with the nodes except where a tie joins nodes
that colour refinement (at most 32 rounds) cannot tell apart (the symmetric nodes of a ring, say),
where the lower index goes first.  Structural entropy favours balanced communities: of two unequal cliques the
larger may be split (never mixed with the other).

**Levels.**  Level ``l`` of a height-``h`` tree (``l = 1 .. h``) is the partition into the tree
nodes ``l`` steps above the leaves: level 1 the finest communities, level ``h`` the root (the
whole graph in one cluster).  Every level refines the next.  Cluster ids are numbered by their
smallest node (so a partition has one numbering, whatever the tree's internals).

**Cost.**  A merging pass is a heap over the adjacent community pairs, ``O((E + S) log E)`` with
``S`` the adjacency entries the merges touch (``<= N E``, about ``E log N`` on sparse graphs); a
move or dissolution pass is ``O(E)``; up to 8 rounds of the three per level, two optimisations per
level above the first (top and bottom).  Pure Python and NumPy on the CPU, graph by graph: about
1-2 s for a sparse graph of 3000 nodes and 16000 edges, 4 s for a random one of 3000 nodes and
24000 edges; milliseconds for a molecule.  Meant to be computed once per graph and cached
(:func:`sep_levels`).
"""

from __future__ import annotations

import heapq
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ..checks import check_edge_index_type, check_int

#: Why SEP needs ``edge_weight >= 0`` (the reason named in the error).
NONNEGATIVE = "structural entropy reads edge weights as volumes"

#: A merge must lower the entropy by more than this (bits) to be taken: float noise is no gain.
_TOL = 1e-12


# ---------------------------------------------------------------------------
# the graph, read undirected
# ---------------------------------------------------------------------------
def _check_graph(where: str, edge_index, num_nodes, edge_weight) -> Tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(row, col, value, n)``: :math:`A = (W + W^T)/2` as a symmetric COO (coalesced, the
    diagonal included), after checking the arguments."""
    check_int(num_nodes, where, "num_nodes", low=0)
    check_edge_index_type(edge_index, where)
    e = edge_index.size(1)
    if e and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"{where}: 'edge_index' refers to nodes outside [0, {num_nodes}) (num_nodes={num_nodes})")
    if edge_weight is None:
        w = np.ones(e, dtype=np.float64)
    else:
        if (
            not isinstance(edge_weight, Tensor)
            or edge_weight.dim() != 1
            or edge_weight.numel() != e
            or edge_weight.dtype == torch.bool
            or edge_weight.is_complex()
        ):
            got = (
                f"{edge_weight.dtype} {tuple(edge_weight.shape)}"
                if isinstance(edge_weight, Tensor)
                else type(edge_weight).__name__
            )
            raise ValueError(f"{where}: 'edge_weight' must be a real [E={e}] tensor, got {got}")
        w = edge_weight.detach().to("cpu", torch.float64).numpy()
        if e and not np.isfinite(w).all():
            raise ValueError(f"{where}: 'edge_weight' must be finite")
        if e and (w < 0).any():
            raise ValueError(f"{where}: 'edge_weight' must be >= 0 ({NONNEGATIVE})")
    ei = edge_index.detach().cpu().numpy()
    return _symmetric(ei[0], ei[1], w, num_nodes) + (num_nodes,)


def _symmetric(src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    row = np.concatenate([src, dst])
    col = np.concatenate([dst, src])
    key, inv = np.unique(row * max(n, 1) + col, return_inverse=True)
    val = np.zeros(key.size, dtype=np.float64)
    np.add.at(val, inv.reshape(-1), np.concatenate([w, w]) / 2.0)
    keep = val > 0
    key, val = key[keep], val[keep]
    return key // max(n, 1), key % max(n, 1), val


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Cluster ids renumbered ``0, 1, ...`` by the smallest node of each cluster."""
    if labels.size == 0:
        return labels.astype(np.int64)
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inv.reshape(-1)]


# ---------------------------------------------------------------------------
# the greedy merging
# ---------------------------------------------------------------------------
def _f(vol: float, internal: float, cut: float, pvol: float) -> float:
    """``V`` times a community's share of :math:`H^T`, up to a constant of its units: with ``I`` the
    cut between its units (``G - g = 2I``), ``2 I log2(vol) + g log2(vol_parent)``."""
    out = 0.0
    if internal > 0:
        out += 2.0 * internal * math.log2(vol)
    if cut > 0:
        out += cut * math.log2(pvol)
    return out


class _Communities:
    """Communities of units under their parents, optimised for :math:`H^T` (see
    :func:`_agglomerate`).  Units ``u``: volume, cut, parent volume and weighted neighbours
    (only units under one parent are neighbours); communities: volume, cut, the cut between
    their units, members and representative (their smallest unit, the tie-break)."""

    NEW = -1

    def __init__(self, vol, g, pvol, pairs, rank) -> None:
        m = len(vol)
        self.rank = [int(r) for r in rank]
        self.vol, self.g, self.pvol = [float(v) for v in vol], [float(v) for v in g], [float(v) for v in pvol]
        self.nbr: List[List[Tuple[int, float]]] = [[] for _ in range(m)]
        for a, b, c in zip(pairs[0].tolist(), pairs[1].tolist(), pairs[2].tolist()):
            self.nbr[a].append((b, c))
            self.nbr[b].append((a, c))
        self.label = list(range(m))
        self.cvol = {u: self.vol[u] for u in range(m)}
        self.cg = {u: self.g[u] for u in range(m)}
        self.cI = {u: 0.0 for u in range(m)}
        self.cp = {u: self.pvol[u] for u in range(m)}
        self.members: Dict[int, set] = {u: {u} for u in range(m)}
        self.rep = {u: self.rank[u] for u in range(m)}
        self.next_id = m

    def f(self, c: int) -> float:
        return _f(self.cvol[c], self.cI[c], self.cg[c], self.cp[c])

    # -- merging ---------------------------------------------------------------
    def merge_all(self, total: float) -> float:
        """Merge adjacent communities, the best merge first, while one lowers :math:`H^T`."""
        adj: Dict[int, Dict[int, float]] = {c: {} for c in self.members}
        for u, lst in enumerate(self.nbr):
            a = self.label[u]
            for v, c in lst:
                b = self.label[v]
                if a != b:
                    adj[a][b] = adj[a].get(b, 0.0) + c  # adj[b][a] from the other end
        version = {c: 0 for c in self.members}

        def delta(a: int, b: int, c: float) -> float:
            merged = _f(
                self.cvol[a] + self.cvol[b], self.cI[a] + self.cI[b] + c, self.cg[a] + self.cg[b] - 2 * c, self.cp[a]
            )
            # symmetric in a and b, to the last bit (ties must not depend on which is which)
            return (merged - (self.f(a) + self.f(b))) / total

        def entry(a: int, b: int, c: float):
            lo, hi = sorted((self.rep[a], self.rep[b]))
            return (delta(a, b, c), lo, hi, a, b, version[a], version[b])

        heap = [entry(a, b, c) for a in adj for b, c in adj[a].items() if a < b]
        heapq.heapify(heap)
        gain = 0.0
        while heap:
            d, _, _, a, b, va, vb = heapq.heappop(heap)
            if version.get(a) != va or version.get(b) != vb:
                continue
            if d >= -_TOL:
                break
            c = adj[a].pop(b)
            adj[b].pop(a)
            keep, gone = (a, b) if len(self.members[a]) >= len(self.members[b]) else (b, a)
            self.cvol[keep] = self.cvol[a] + self.cvol[b]
            self.cI[keep] = (self.cI[a] + self.cI[b]) + c
            self.cg[keep] = (self.cg[a] + self.cg[b]) - 2 * c
            self.rep[keep] = min(self.rep[keep], self.rep[gone])
            for u in self.members[gone]:
                self.label[u] = keep
            self.members[keep] |= self.members[gone]
            self._drop(gone)
            del version[gone]
            version[keep] += 1
            for x, cx in adj.pop(gone).items():
                adj[x].pop(gone)
                adj[keep][x] = adj[keep].get(x, 0.0) + cx
                adj[x][keep] = adj[keep][x]
            for x, cx in adj[keep].items():
                heapq.heappush(heap, entry(keep, x, cx) if keep < x else entry(x, keep, cx))
            gain += d
        return gain

    def _drop(self, c: int) -> None:
        for table in (self.cvol, self.cg, self.cI, self.cp, self.members, self.rep):
            del table[c]

    # -- moving single units -------------------------------------------------------
    def _cuts(self, u: int) -> Dict[int, float]:
        cu: Dict[int, float] = {}
        for v, c in self.nbr[u]:
            b = self.label[v]
            cu[b] = cu.get(b, 0.0) + c
        return cu

    def best_move(self, u: int, exclude: Optional[int] = None, alone: bool = True) -> Tuple[float, int]:
        """``(V * change of H^T, target)`` of the best move of ``u`` to an adjacent community (or, with
        ``alone``, to a new one of its own); ``(inf, u's community)`` when it has none."""
        a = self.label[u]
        cu = self._cuts(u)
        ca = cu.pop(a, 0.0)
        leave = _f(self.cvol[a] - self.vol[u], self.cI[a] - ca, self.cg[a] - self.g[u] + 2 * ca, self.cp[a]) - self.f(a)
        best, target, key = math.inf, a, math.inf
        for b, cb in cu.items():
            if b == exclude:
                continue
            d = leave + _f(self.cvol[b] + self.vol[u], self.cI[b] + cb, self.cg[b] + self.g[u] - 2 * cb, self.cp[b])
            d -= self.f(b)
            if (d, self.rep[b]) < (best, key):
                best, target, key = d, b, self.rep[b]
        if alone and len(self.members[a]) > 1:
            d = leave + _f(self.vol[u], 0.0, self.g[u], self.pvol[u])
            if (d, self.rank[u]) < (best, key):
                best, target = d, self.NEW
        return best, target

    def move(self, u: int, b: int) -> int:
        """Move ``u`` to community ``b`` (``NEW``: a new one); returns the community it left."""
        a = self.label[u]
        cu = self._cuts(u)
        ca = cu.get(a, 0.0)
        if b == self.NEW:
            b = self.next_id
            self.next_id += 1
            self.cvol[b], self.cg[b], self.cI[b], self.cp[b] = 0.0, 0.0, 0.0, self.pvol[u]
            self.members[b], self.rep[b] = set(), self.rank[u]
        cb = cu.get(b, 0.0)
        self.cvol[a] -= self.vol[u]
        self.cI[a] -= ca
        self.cg[a] += 2 * ca - self.g[u]
        self.members[a].discard(u)
        self.cvol[b] += self.vol[u]
        self.cI[b] += cb
        self.cg[b] += self.g[u] - 2 * cb
        self.members[b].add(u)
        self.rep[b] = min(self.rep[b], self.rank[u])
        self.label[u] = b
        if not self.members[a]:
            self._drop(a)
        elif self.rep[a] == self.rank[u]:
            self.rep[a] = min(self.rank[v] for v in self.members[a])
        return a

    def move_all(self, total: float) -> float:
        """Every unit's best improving move, the best first (each checked again before it is made)."""
        order = []
        for u in range(len(self.label)):
            d, _ = self.best_move(u)
            if d / total < -_TOL:
                order.append((d, self.rank[u], u))
        gain = 0.0
        for _, _, u in sorted(order):
            d, b = self.best_move(u)
            if d / total < -_TOL:
                self.move(u, b)
                gain += d / total
        return gain

    # -- dissolving communities ------------------------------------------------------
    def _dissolve(self, c: int) -> Tuple[float, List[Tuple[int, int]]]:
        """Move the members of ``c`` one by one to their best other adjacent community (the best
        first; uphill steps allowed): ``(V * change, undo log)``."""
        members = sorted((self.best_move(u, exclude=c, alone=False)[0], self.rank[u], u) for u in self.members[c])
        total, log = 0.0, []
        for _, _, u in members:
            d, b = self.best_move(u, exclude=c, alone=False)
            if b == c or d == math.inf:
                continue
            log.append((u, self.move(u, b)))
            total += d
            if c not in self.members:
                break
        return total, log

    def _undo(self, log: List[Tuple[int, int]]) -> None:
        for u, a in reversed(log):
            if a not in self.members:  # the dissolved community comes back
                self.cvol[a], self.cg[a], self.cI[a], self.cp[a] = 0.0, 0.0, 0.0, self.pvol[u]
                self.members[a], self.rep[a] = set(), self.rank[u]
            self.move(u, a)

    def dissolve_all(self, total: float) -> float:
        """Dissolve every community whose members, moved to their neighbours, lower :math:`H^T`
        together (a move of one alone may not: two bridge nodes paired off), the best first."""
        trials = []
        for c in sorted(self.members, key=lambda c: self.rep[c]):
            if len(self.members[c]) < 2:
                continue
            d, log = self._dissolve(c)
            self._undo(log)
            if d / total < -_TOL:
                trials.append((d, self.rep[c], c))
        gain = 0.0
        for _, _, c in sorted(trials):
            if c not in self.members:
                continue
            d, log = self._dissolve(c)
            if d / total < -_TOL:
                gain += d / total
            else:
                self._undo(log)
        return gain


def _agglomerate(
    vol: np.ndarray,
    g: np.ndarray,
    parent_vol: np.ndarray,
    pairs: Tuple[np.ndarray, np.ndarray, np.ndarray],
    total: float,
    rank: np.ndarray,
    max_rounds: int = 8,
) -> Tuple[np.ndarray, float]:
    """Group units into communities under their parents, lowering :math:`H^T` (module docstring).

    ``vol``, ``g``: each unit's volume and cut; ``parent_vol``: the volume of the tree node its
    community hangs under (pairs only join units under one parent); ``pairs``: ``(a, b, c)``
    with ``a < b`` and cut ``c > 0``; ``total``: the graph's volume; ``rank``: each unit's
    place in the tie-break order (:func:`_wl_rank`; distinct).  Rounds of: every improving
    merge (the best first), every improving move of a single unit, every improving dissolution
    of a community, until a round moves nothing.  Returns every unit's community (numbered by
    its smallest unit) and the change of :math:`H^T`, ``<= 0``.
    """
    comm = _Communities(vol, g, parent_vol, pairs, rank)
    gain = 0.0
    for _ in range(max_rounds):
        gain += comm.merge_all(total)
        moved = comm.move_all(total) + comm.dissolve_all(total)
        gain += moved
        if moved >= -_TOL:
            break
    return _canonical(np.asarray(comm.label, dtype=np.int64)), gain


def _unit_stats(
    labels: np.ndarray, k: int, deg: np.ndarray, graph: Tuple[np.ndarray, np.ndarray, np.ndarray]
) -> Tuple[np.ndarray, np.ndarray, Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Volume, cut and the between-cluster cuts ``(a, b, c)``, ``a < b``, of a partition."""
    row, col, val = graph
    vol = np.bincount(labels, weights=deg, minlength=k)
    la, lb = labels[row], labels[col]
    inside = la == lb
    internal = np.bincount(la[inside], weights=val[inside], minlength=k)
    cross = la < lb
    key, inv = np.unique(la[cross] * k + lb[cross], return_inverse=True)
    cut = np.zeros(key.size, dtype=np.float64)
    np.add.at(cut, inv.reshape(-1), val[cross])
    return vol, vol - internal, (key // max(k, 1), key % max(k, 1), cut)


def _wl_rank(n: int, graph: Tuple[np.ndarray, np.ndarray, np.ndarray], rounds: int = 32) -> np.ndarray:
    """Every node's place in the tie-break order: by its colour after (at most ``rounds`` rounds of)
    weighted Weisfeiler-Leman refinement, then by index.  The colours are ranks of sorted
    signatures, so they do not depend on the node order: ties between merges are taken in an
    order that permutes with the nodes, except between nodes WL cannot tell apart."""
    row, col, val = graph
    color = np.zeros(n, dtype=np.int64)
    nbrs: List[List[Tuple[int, float]]] = [[] for _ in range(n)]
    for r, c, v in zip(row.tolist(), col.tolist(), val.tolist()):
        nbrs[r].append((c, v))
    classes = 1 if n else 0
    for _ in range(rounds):
        sig = [(int(color[u]), tuple(sorted((int(color[v]), w) for v, w in nbrs[u]))) for u in range(n)]
        order = sorted(set(sig))
        index = {s: i for i, s in enumerate(order)}
        color = np.array([index[s] for s in sig], dtype=np.int64)
        if len(order) == classes:
            break
        classes = len(order)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), color))] = np.arange(n)
    return rank


def _tree_levels(graph: Tuple[np.ndarray, np.ndarray, np.ndarray], n: int, height: int) -> List[np.ndarray]:
    """The levels ``1 .. height - 1`` of the encoding tree (finest first; the root is not listed)."""
    row, col, val = graph
    deg = np.bincount(row, weights=val, minlength=n)
    total = float(deg.sum())
    levels: List[np.ndarray] = []
    if height < 2:
        return levels
    if total <= 0:  # no edges: every level all singletons
        return [np.arange(n, dtype=np.int64) for _ in range(height - 1)]
    leaves = np.arange(n, dtype=np.int64)
    rank = _wl_rank(n, graph)
    while len(levels) < height - 1:
        # on top: merge the top communities under the root
        top = levels[-1] if levels else leaves
        k = int(top.max()) + 1 if n else 0
        vol, g, pairs = _unit_stats(top, k, deg, graph)
        top_rank = np.full(k, n, dtype=np.int64)
        np.minimum.at(top_rank, top, rank)
        groups, top_gain = _agglomerate(vol, g, np.full(k, total), pairs, total, top_rank)
        if not levels:
            levels.append(groups[top])
            continue
        # at the bottom: merge the nodes inside each bottom community
        bottom = levels[0]
        bvol = np.bincount(bottom, weights=deg)
        vol, g, pairs = _unit_stats(leaves, n, deg, graph)
        same = bottom[pairs[0]] == bottom[pairs[1]]
        pairs = (pairs[0][same], pairs[1][same], pairs[2][same])
        sub, bottom_gain = _agglomerate(vol, g, bvol[bottom], pairs, total, rank)
        if top_gain < bottom_gain:
            levels.append(groups[top])
        else:
            # sub-communities never straddle two bottom communities (pairs stay inside one)
            levels.insert(0, sub)
    return levels


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------
def sep_tree(edge_index: Tensor, num_nodes: int, height: int = 3, edge_weight: Optional[Tensor] = None) -> List[Tensor]:
    """The encoding tree of one graph by structural-entropy minimisation (module docstring), as
    its levels: ``height`` cluster maps ``[num_nodes]`` (int64, on ``edge_index``'s device), level
    1 (finest) first, the last (the root) all zeros.  Every level refines the next.

    Args:
        edge_index: the graph's edges ``[2, E]`` (read undirected; parallel edges add up).
        num_nodes: its number of nodes ``N`` (isolated nodes included).
        height: the tree's height ``h >= 1``.  Default ``3``.
        edge_weight: non-negative weights ``[E]`` (default 1 per edge).

    Bad arguments raise ``ValueError`` naming them.  Cost: see the module docstring.
    """
    check_int(height, "sep_tree", "height")
    graph = _check_graph("sep_tree", edge_index, num_nodes, edge_weight)
    levels = _tree_levels(graph[:3], graph[3], height)
    levels.append(np.zeros(num_nodes, dtype=np.int64))
    return [torch.from_numpy(_canonical(lv)).to(edge_index.device) for lv in levels]


def sep_levels(
    edge_index: Tensor,
    num_nodes: int,
    height: int = 3,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
) -> Tensor:
    """Every level's clusters at once: ``[num_nodes, height]`` int64, column ``l - 1`` each node's
    level-``l`` cluster id *within its graph* (numbered by its smallest node, from 0): the layout
    of hipool's ``level_labels`` (``pool: given`` pools along it).  With ``batch`` (sorted graph
    ids ``[N]``) every graph gets its own tree; the edges must stay inside their graphs."""
    where = "sep_levels"
    check_int(height, where, "height")
    graph = _check_graph(where, edge_index, num_nodes, edge_weight)
    row, col, val = graph[:3]
    batch_np = _check_batch(where, batch, num_nodes)
    out = np.zeros((num_nodes, height), dtype=np.int64)
    if batch_np is None:
        for lv, labels in enumerate(_tree_levels((row, col, val), num_nodes, height)):
            out[:, lv] = _canonical(labels)
        return torch.from_numpy(out).to(edge_index.device)
    if row.size and (batch_np[row] != batch_np[col]).any():
        raise ValueError(f"{where}: an edge joins two graphs of 'batch'")
    for lo, hi, (r, c, v) in _graphs(batch_np, row, col, val):
        for lv, labels in enumerate(_tree_levels((r, c, v), hi - lo, height)):
            out[lo:hi, lv] = _canonical(labels)
    return torch.from_numpy(out).to(edge_index.device)


def structural_entropy(
    edge_index: Tensor, num_nodes: int, levels: Sequence[Tensor], edge_weight: Optional[Tensor] = None
) -> float:
    r""":math:`H^T(G)` (module docstring) of the tree given by nested partitions ``levels`` (cluster
    maps ``[num_nodes]``, finest first; a root above the last is implied when it has more than one
    cluster, and ``[]`` is the tree of height 1).  0 for a graph without edges.  A partition that
    does not refine the next raises ``ValueError``."""
    where = "structural_entropy"
    row, col, val, n = _check_graph(where, edge_index, num_nodes, edge_weight)
    maps = [np.arange(n, dtype=np.int64)]
    for i, lv in enumerate(levels):
        if not isinstance(lv, Tensor) or lv.dim() != 1 or lv.numel() != n or lv.is_floating_point():
            raise ValueError(f"{where}: 'levels[{i}]' must be an integer cluster map [{n}]")
        maps.append(_canonical(lv.detach().cpu().numpy().astype(np.int64)))
    if n and (len(maps) == 1 or maps[-1].max() > 0):
        maps.append(np.zeros(n, dtype=np.int64))
    deg = np.bincount(row, weights=val, minlength=n)
    total = float(deg.sum())
    if total <= 0:
        return 0.0
    h = 0.0
    for depth in range(len(maps) - 1):
        child, parent = maps[depth], maps[depth + 1]
        k = int(child.max()) + 1
        up = np.full(k, -1, dtype=np.int64)
        up[child] = parent
        if (up[child] != parent).any():
            raise ValueError(f"{where}: 'levels' must be nested (level {depth} does not refine level {depth + 1})")
        vol, g, _ = _unit_stats(child, k, deg, (row, col, val))
        pvol = np.bincount(parent, weights=deg)[up]
        ok = g > 0
        h -= float(np.sum(g[ok] / total * np.log2(vol[ok] / pvol[ok])))
    return h


def _check_batch(where: str, batch: Optional[Tensor], n: int) -> Optional[np.ndarray]:
    if batch is None:
        return None
    if not isinstance(batch, Tensor) or batch.dim() != 1 or batch.numel() != n or batch.dtype != torch.long:
        raise ValueError(f"{where}: 'batch' must be an int64 [{n}] tensor of graph ids")
    b = batch.detach().cpu().numpy()
    if b.size and ((b[1:] < b[:-1]).any() or b[0] < 0):
        raise ValueError(f"{where}: 'batch' must be sorted and >= 0")
    return b


def _graphs(batch: np.ndarray, row: np.ndarray, col: np.ndarray, val: np.ndarray):
    """``(lo, hi, local graph)`` for every graph with nodes (nodes ``lo .. hi - 1``)."""
    if batch.size == 0:
        return
    counts = np.bincount(batch)
    ends = np.cumsum(counts)
    order = np.argsort(batch[row], kind="stable")
    row, col, val = row[order], col[order], val[order]
    edge_ends = np.searchsorted(batch[row], np.arange(counts.size), side="right")
    start_e = 0
    for gid in range(counts.size):
        hi, end_e = int(ends[gid]), int(edge_ends[gid])
        lo = hi - int(counts[gid])
        if hi > lo:
            yield lo, hi, (row[start_e:end_e] - lo, col[start_e:end_e] - lo, val[start_e:end_e])
        start_e = end_e


def level_clusters(
    where: str, edge_index: Tensor, batch: Tensor, level: int, height: int, edge_weight: Optional[Tensor] = None
) -> Tuple[np.ndarray, int]:
    """``(cluster [N], number of clusters)``: every graph's level-``level`` partition of its
    height-``height`` tree (the root level without building one), numbered graph by graph (within
    a graph by the smallest node).  ``where`` names the caller in errors."""
    n = batch.numel()
    row, col, val, _ = _check_graph(where, edge_index, n, edge_weight)
    b = batch.detach().cpu().numpy()
    cluster = np.zeros(n, dtype=np.int64)
    offset = 0
    for lo, hi, local in _graphs(b, row, col, val):
        if level == height:
            labels = np.zeros(hi - lo, dtype=np.int64)
        else:
            labels = _canonical(_tree_levels(local, hi - lo, height)[level - 1])
        cluster[lo:hi] = labels + offset
        offset += int(labels.max()) + 1
    return cluster, offset
