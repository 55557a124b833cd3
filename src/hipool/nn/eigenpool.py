r"""EigenPooling: :class:`EigenPool` of Ma, Wang, Aggarwal & Tang, "Graph Convolutional Networks with
EigenPooling" (KDD 2019, arXiv:1904.13107).  Not learned.

**Partition.**  Every graph is cut into ``k = min(num_clusters, n)`` subgraphs by spectral clustering
(the paper's choice) in the form of Ng, Jordan & Weiss: the graph is read undirected, ``W = (A + Aᵀ)/2``
with self-loops dropped and repeated edges summed (weights ``edge_weight``, default 1, must be
``>= 0``); the rows of the eigenvectors of the ``k`` smallest eigenvalues of the normalised Laplacian
``L = I - D^{-1/2} W D^{-1/2}`` (``D^{-1/2}`` is 0 at an isolated node), scaled to unit length, are
clustered by k-means.  The choices the paper leaves open are fixed so that the partition depends only
on the graph and its features:

* *embedding*: every eigenvector whose eigenvalue is within ``1e-8`` of the ``k``-th smallest is
  taken with it, so the embedding spans a subspace that does not depend on the eigensolver's basis
  (a degenerate eigenvalue at the cut would otherwise make it arbitrary).  Distances between rows,
  all that k-means reads, are then basis-independent: the sign and the rotation of the
  eigenvectors do not matter.
* *k-means*: farthest-first initialisation (the first centre is the node farthest from the mean of
  the embedding, every next one the node farthest from the centres taken), then Lloyd iterations
  (at most ``kmeans_iters``) until no node changes cluster.  A cluster left empty (fewer distinct
  embedded points than ``k``) takes the node farthest from its centre among the clusters with two
  nodes or more, so a graph always has exactly ``k`` non-empty subgraphs.
* *ties* (squared distances within ``1e-9``) go to the node first in the *tie order*: by a fixed
  random projection of its features (:func:`~hipool.nn.kmis.feature_key`), then by index; a node
  between two centres at equal distance joins the centre taken first.  So the partition permutes
  with the nodes whenever nodes that tie have different features (a graph with no edges, whose
  embedding puts every node at the same distance from every other, is split by its features).

Subgraphs are numbered, within their graph, by their smallest node.

**Pooling operators.**  For subgraph ``G^(k)`` (``n_k`` nodes, adjacency ``W_k`` its induced part of
``W``) with the combinatorial Laplacian ``L^(k) = D_k - W_k`` and eigenvectors ``u_1^(k), …`` by
increasing eigenvalue, the paper's ``l``-th pooling operator ``Θ_l ∈ R^{N×K}`` has column ``k`` equal
to ``u_l^(k)`` on the nodes of ``G^(k)`` and 0 elsewhere (0 everywhere when ``n_k < l``), and

.. math::
    X' = \big[\,Θ_1^\top X \;\big|\; Θ_2^\top X \;\big|\; \cdots \;\big|\; Θ_H^\top X\,\big]
    \in \mathbb{R}^{K \times H F},

the ``H = num_modes`` blocks side by side in that order (mode-major: columns ``(l-1)F … lF-1`` are
mode ``l``).  ``u_1^(k)`` is taken as the constant ``1/√n_k``, an eigenvector of eigenvalue 0 of every
Laplacian (on a connected subgraph the only one; on a disconnected one it is the canonical choice in
the degenerate null space), so with ``num_modes=1`` (the default) the pooled feature is
``Σ_{i∈G^(k)} x_i / √n_k`` and the width stays ``F``.  Modes ``l >= 2`` (``num_modes > 1``, the paper's
``H``) make the output ``H·F`` wide (:attr:`EigenPool.out_channels`): the next layer must be built for
that width.  Their signs are fixed so that the entry of largest magnitude is positive (ties: the first
in the tie order).  *Caveat*: where a subgraph's Laplacian has a repeated eigenvalue among the first
``H`` (a clique: every non-zero eigenvalue of ``K_m`` is ``m``; a symmetric star or cycle), the
eigenvectors of that eigenspace are any orthonormal basis of it, and the solver's choice depends on
the node order: modes ``>= 2`` are then not permutation-equivariant (mode 1 always is).

**Pooled graph.**  The paper's ``A_coar = Sᵀ A_ext S`` with ``S`` the hard assignment and ``A_ext`` the
input adjacency without the edges inside a subgraph: a pooled edge ``k -> k'`` (``k != k'``) has the
summed weight of the input edges ``i -> j`` with ``i ∈ G^(k)``, ``j ∈ G^(k')`` (1 per edge without
``edge_weight``; the stored direction is kept, so a graph with both directions pools to both), no
self-loops.  ``edge_attr`` of any width ``[E, *]`` is summed over the same edges (``Sᵀ E_c S`` off the
diagonal, per channel, with the hard ``S``).  ``cluster`` is the hard assignment; there is no soft
``assignment`` (``None``).

**Cost and limits.**  Dense, float64, on the device of the input: graphs are grouped by size
rounded up to a power of two (each batched call padded to its largest graph, at most ``2**22``
padded entries per call) and each group is one batched ``torch.linalg.eigh`` (``O(n³)`` per
graph) and one batched k-means
(``O(iterations · n · k · m)``, ``m >= k`` embedding columns); with ``num_modes > 1`` the subgraphs
are grouped by size the same way for their own eigendecompositions (``O(Σ_k n_k³)``).  A graph of more
than ``dense_limit`` nodes (default 2000: a 2000-node eigendecomposition takes seconds on a CPU) takes
a partial eigensolver instead (:func:`hipool.nn.spectral.partial_embedding`: per connected component,
scipy's ARPACK for the ``k`` smallest eigenpairs and their ties, with a check for copies of a repeated
eigenvalue the Krylov solver missed; on the host, needs scipy): the same subspace as the dense path,
so the same partition up to float rounding, in ``O(n k)`` memory (10,000 nodes, ``k = 256``: the
whole pooler 12.4 s forward and backward on one core in ``benchmarks/poolers.py``; dense, over 400 s).
With ``num_modes > 1`` a subgraph of more than
``dense_limit`` nodes is refused with a ``ValueError``.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from ..checks import check_int, check_sizes, prepare_pool_input
from ..record import PoolOutput
from .kmis import feature_key
from .spectral import partial_embedding

__all__ = ["EigenPool", "spectral_partition", "subgraph_modes"]

#: Why EigenPool needs ``edge_weight >= 0`` (the reason named in the error).
_NONNEGATIVE = "spectral clustering reads edge weights as affinities"
#: Eigenvalues this close to the k-th smallest join the embedding.
_EIG_TOL = 1e-8
#: Squared distances (of unit vectors) and magnitudes this close tie.
_TIE_TOL = 1e-9
#: The diagonal of the padding of a normalised Laplacian: above its spectrum, [0, 2].
_PAD = 3.0
#: Padded matrix entries per batched eigendecomposition.
_CHUNK = 2**22


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _buckets(sizes: List[int]) -> Dict[int, List[int]]:
    """Indices grouped by ``sizes`` rounded up to a power of two."""
    out: Dict[int, List[int]] = {}
    for i, n in enumerate(sizes):
        out.setdefault(1 << max(0, (n - 1).bit_length()), []).append(i)
    return out


def _chunks(ids: List[int], m: int) -> List[List[int]]:
    """``ids`` in runs of at most ``_CHUNK / m²`` (at least one)."""
    step = max(1, _CHUNK // (m * m))
    return [ids[i : i + step] for i in range(0, len(ids), step)]


def _pick(crit: Tensor, rank: Tensor, eligible: Tensor) -> Tensor:
    """Per row, the index of the largest ``crit`` among ``eligible`` entries, values within
    :data:`_TIE_TOL` of the largest tying, ties to the lowest ``rank``."""
    crit = crit.masked_fill(~eligible, float("-inf"))
    best = crit.max(dim=1, keepdim=True).values
    cand = eligible & (crit >= best - _TIE_TOL)
    return rank.masked_fill(~cand, torch.iinfo(rank.dtype).max).argmin(dim=1)


def _tie_rank(x: Tensor, batch: Tensor, ptr: Tensor) -> Tensor:
    """The tie order of every node within its graph (0 first): descending feature key, then index."""
    n = x.size(0)
    key = feature_key(x)
    order = torch.arange(n, device=x.device)
    if key is not None:
        order = torch.argsort(key, descending=True, stable=True)
    order = order[torch.argsort(batch[order], stable=True)]  # graph by graph, key order inside
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=x.device) - ptr[batch[order]]
    return rank


def _dense_block(
    edge_index: Tensor, weight: Tensor, group: Tensor, local: Tensor, gids: Tensor, num_groups: int, m: int
) -> Tensor:
    """``W = (A + Aᵀ)/2`` without self-loops, float64 ``[len(gids), m, m]``, for the node groups ``gids``
    (graphs, or subgraphs): the edges with both ends in one of them, at the ends' ``local`` positions."""
    slot = torch.full((num_groups,), -1, dtype=torch.long, device=group.device)
    slot[gids] = torch.arange(gids.numel(), device=group.device)
    src, dst = edge_index
    g = group[src]
    s = slot[g]
    keep = (s >= 0) & (src != dst) & (group[dst] == g)
    W = torch.zeros(gids.numel(), m, m, dtype=torch.float64, device=group.device)
    if bool(keep.any()):
        W.index_put_((s[keep], local[src[keep]], local[dst[keep]]), weight[keep], accumulate=True)
    return (W + W.transpose(1, 2)) / 2


# ---------------------------------------------------------------------------
# the partition
# ---------------------------------------------------------------------------
def _embedding(W: Tensor, n: Tensor, k: Tensor) -> Tensor:
    """The unit rows of the normalised Laplacian's eigenvectors of the ``k`` smallest eigenvalues
    (with every eigenvalue tying the ``k``-th), zero columns elsewhere: ``[b, m, w]``, ``w`` the
    most columns a graph of the batch uses."""
    b, m, _ = W.shape
    node = torch.arange(m, device=W.device) < n.view(-1, 1)  # [b, m]
    d = W.sum(-1)
    dinv = torch.where(d > 0, d.clamp_min(1e-300).rsqrt(), torch.zeros_like(d))
    eye = torch.eye(m, dtype=W.dtype, device=W.device)
    L = eye - dinv.unsqueeze(2) * W * dinv.unsqueeze(1)
    pad = (~node).to(W.dtype) * (_PAD - 1.0)  # padded nodes: isolated, eigenvalue _PAD
    L = L + torch.diag_embed(pad)
    evals, evecs = torch.linalg.eigh(L)
    kth = evals.gather(1, (k - 1).view(-1, 1))
    cols = evals <= kth + _EIG_TOL  # [b, m], a prefix of each row; never a padded eigenvalue (_PAD > 2 >= kth)
    width = int(cols.sum(1).max())  # only the columns some graph uses (k-means works on [b, m, width])
    cols, evecs = cols[:, :width], evecs[:, :, :width]
    Y = evecs * cols.unsqueeze(1).to(W.dtype) * node.unsqueeze(2).to(W.dtype)
    return _unit_rows(Y)


def _unit_rows(Y: Tensor) -> Tensor:
    """Every row of ``Y`` scaled to unit length (a row of norm below 1e-12 becomes 0)."""
    norm = Y.norm(dim=-1, keepdim=True)
    return torch.where(norm > 1e-12, Y / norm.clamp_min(1e-300), torch.zeros_like(Y))


def _kmeans(Y: Tensor, node: Tensor, k: Tensor, rank: Tensor, iters: int) -> Tensor:
    """Batched deterministic k-means (module docstring): labels ``[b, m]`` in ``[0, k)`` (padding 0).

    Every ``[b, m, ·]`` temporary of the loops is written into one of three buffers allocated once:
    hundreds of fresh 20 MB tensors (a 10,000-node graph, 256 clusters) fragmented glibc's heap to
    gigabytes of resident memory."""
    b, m, _ = Y.shape
    K = int(k.max())
    rows = torch.arange(b, device=Y.device)
    valid = torch.arange(K, device=Y.device) < k.view(-1, 1)  # [b, K]
    nodef = node.to(Y.dtype)
    buf = torch.empty_like(Y)

    def sqdist(c: Tensor) -> Tensor:  # [b, m]: every row's squared distance to c [b, F]
        torch.sub(Y, c.unsqueeze(1), out=buf)
        return buf.mul_(buf).sum(-1)

    mean = (Y * nodef.unsqueeze(2)).sum(1) / nodef.sum(1, keepdim=True).clamp_min(1)
    first = _pick(sqdist(mean), rank, node)
    centres = [Y[rows, first]]
    mind = sqdist(centres[0])
    for _ in range(1, K):
        c = Y[rows, _pick(mind, rank, node)]
        centres.append(c)
        torch.minimum(mind, sqdist(c), out=mind)
    C = torch.stack(centres, 1)  # [b, K, F]
    y2 = (Y * Y).sum(-1)
    D = Y.new_empty(b, m, K)
    onehot = Y.new_zeros(b, m, K)

    def assign(C: Tensor) -> Tuple[Tensor, Tensor]:
        torch.bmm(Y, C.transpose(1, 2), out=D)
        D.mul_(-2).add_(y2.unsqueeze(2)).add_((C * C).sum(-1).unsqueeze(1)).clamp_min_(0)  # [b, m, K]
        D.masked_fill_(~valid.unsqueeze(1), float("inf"))
        near = D <= D.min(-1, keepdim=True).values + _TIE_TOL
        return near.to(torch.int8).argmax(-1), D  # the first centre within tolerance

    labels, D = assign(C)
    for _ in range(iters):
        onehot.zero_().scatter_(2, labels.unsqueeze(2), nodef.unsqueeze(2))
        count = onehot.sum(1)  # [b, K]
        new = onehot.transpose(1, 2) @ Y / count.clamp_min(1).unsqueeze(2)
        C = torch.where((count > 0).unsqueeze(2), new, C)
        new_labels, D = assign(C)
        if torch.equal(new_labels.masked_fill(~node, 0), labels.masked_fill(~node, 0)):
            break
        labels = new_labels
    del onehot
    # refill empty clusters: the node farthest from its centre, among clusters of two nodes or more
    for _ in range(K):
        count = torch.zeros(b, K, dtype=torch.long, device=Y.device).scatter_add_(1, labels, node.long())
        empty = valid & (count == 0)
        if not bool(empty.any()):
            break
        own = D.gather(2, labels.unsqueeze(2)).squeeze(2)
        eligible = node & (count.gather(1, labels) >= 2)
        donor = _pick(own, rank, eligible)
        has = empty.any(1)
        target = empty.to(torch.int8).argmax(1)
        labels[rows[has], donor[has]] = target[has]
        D[rows[has], donor[has], target[has]] = 0.0
    return labels.masked_fill(~node, 0)


def _by_smallest_node(labels: Tensor, node: Tensor, k: Tensor) -> Tensor:
    """Renumber each row's clusters by their smallest node (local index)."""
    b, m = labels.shape
    K = int(k.max())
    idx = torch.arange(m, device=labels.device).expand(b, m)
    first = torch.full((b, K), m, dtype=torch.long, device=labels.device)
    first = first.scatter_reduce(1, labels, idx.masked_fill(~node, m), reduce="amin")
    new = torch.empty_like(first)
    new.scatter_(1, torch.argsort(first, dim=1), torch.arange(K, device=labels.device).expand(b, K))
    return new.gather(1, labels).masked_fill(~node, 0)


def spectral_partition(
    edge_index: Tensor,
    batch: Tensor,
    k: Tensor,
    x: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
    kmeans_iters: int = 100,
    dense_limit: Optional[int] = None,
) -> Tensor:
    """EigenPool's partition (module docstring): the local cluster ``[N]`` of every node, in
    ``[0, k_g)`` for its graph ``g``, numbered by smallest node.  ``k`` ``[B]`` holds each graph's
    number of clusters (``1 <= k_g <= n_g`` for a graph with nodes); ``x`` (features, optional) breaks
    ties.  Float64; a graph of more than ``dense_limit`` nodes (default: none) takes the partial
    eigensolver of :func:`~hipool.nn.spectral.partial_embedding`, the others a dense one."""
    n_all = batch.numel()
    labels = torch.zeros(n_all, dtype=torch.long, device=batch.device)
    if n_all == 0:
        return labels
    num_graphs = k.numel()
    counts = torch.bincount(batch, minlength=num_graphs)
    ptr = torch.cumsum(counts, 0) - counts
    local = torch.arange(n_all, device=batch.device) - ptr[batch]
    whole = (k >= counts)[batch]  # every node its own cluster
    labels = torch.where(whole, local, labels)
    hard = ((k >= 2) & (k < counts)).nonzero().view(-1).tolist()
    if not hard:
        return labels
    weight = (
        torch.ones(edge_index.size(1), dtype=torch.float64, device=batch.device)
        if edge_weight is None
        else edge_weight.detach().to(torch.float64)
    )
    rank = _tie_rank(x if x is not None else torch.zeros(n_all, 0, device=batch.device), batch, ptr)
    sizes = counts.tolist()
    if dense_limit is not None:
        for g in [g for g in hard if sizes[g] > dense_limit]:
            size, start = sizes[g], int(ptr[g])
            mine = (batch[edge_index[0]] == g) & (batch[edge_index[1]] == g)
            Y = _unit_rows(partial_embedding(edge_index[:, mine] - start, weight[mine], size, int(k[g]), _EIG_TOL))
            one = torch.ones(1, size, dtype=torch.bool, device=batch.device)
            lab = _kmeans(Y.unsqueeze(0), one, k[g : g + 1], rank[start : start + size].view(1, size), kmeans_iters)
            labels[start : start + size] = _by_smallest_node(lab, one, k[g : g + 1])[0]
        hard = [g for g in hard if sizes[g] <= dense_limit]
    for bucket, group in _buckets([sizes[g] for g in hard]).items():
        for chunk in _chunks([hard[i] for i in group], bucket):
            m = max(sizes[g] for g in chunk)  # padded to the chunk's largest graph, not the bucket's bound
            gids = torch.tensor(chunk, dtype=torch.long, device=batch.device)
            W = _dense_block(edge_index, weight, batch, local, gids, num_graphs, m)
            n, kk = counts[gids], k[gids]
            node = torch.arange(m, device=batch.device) < n.view(-1, 1)
            pos = ptr[gids].view(-1, 1) + torch.arange(m, device=batch.device)
            pos = torch.where(node, pos, torch.zeros_like(pos))
            r = torch.where(node, rank[pos], torch.full_like(pos, m))
            lab = _kmeans(_embedding(W, n, kk), node, kk, r, kmeans_iters)
            labels[pos[node]] = _by_smallest_node(lab, node, kk)[node]
    return labels


# ---------------------------------------------------------------------------
# the pooling operators
# ---------------------------------------------------------------------------
def subgraph_modes(
    edge_index: Tensor,
    cluster: Tensor,
    num_clusters: int,
    num_modes: int,
    rank: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
) -> Tensor:
    """``θ [N, H]``: node ``i``'s entry of the first ``H = num_modes`` eigenvectors of the
    combinatorial Laplacian of its subgraph (``cluster`` ``[N]``, global ids in
    ``[0, num_clusters)``), mode 1 the constant ``1/√n_k``, signs with the largest entry positive
    (ties to the lowest ``rank``, default the index), 0 where the subgraph has fewer than ``l``
    nodes: ``Θ_l[i, cluster[i]] = θ[i, l-1]``.  Float64.  The graph is read as for the partition
    (``W = (A + Aᵀ)/2``, no self-loops); ``edge_weight`` defaults to 1."""
    n_all = cluster.numel()
    dev = cluster.device
    size = torch.bincount(cluster, minlength=num_clusters)
    theta = torch.zeros(n_all, num_modes, dtype=torch.float64, device=dev)
    if n_all == 0:
        return theta
    theta[:, 0] = size[cluster].to(torch.float64).rsqrt()
    if num_modes == 1:
        return theta
    weight = (
        torch.ones(edge_index.size(1), dtype=torch.float64, device=dev)
        if edge_weight is None
        else edge_weight.detach().to(torch.float64)
    )
    if rank is None:
        rank = torch.arange(n_all, device=dev)
    order = torch.argsort(cluster, stable=True)  # members of every cluster, in node order
    start = torch.cumsum(size, 0) - size
    local = torch.empty_like(order)
    local[order] = torch.arange(n_all, device=dev) - start[cluster[order]]
    big = (size >= 2).nonzero().view(-1).tolist()
    sizes = size.tolist()
    for bucket, group in _buckets([sizes[c] for c in big]).items():
        for chunk in _chunks([big[i] for i in group], bucket):
            m = max(sizes[c] for c in chunk)
            cids = torch.tensor(chunk, dtype=torch.long, device=dev)
            W = _dense_block(edge_index, weight, cluster, local, cids, num_clusters, m)  # intra-subgraph edges
            nk = size[cids]
            member = torch.arange(m, device=dev) < nk.view(-1, 1)
            memf = member.to(W.dtype)
            L = torch.diag_embed(W.sum(-1)) - W
            bound = (1.0 + 2.0 * W.sum(-1).amax(-1)).view(-1, 1, 1)  # above the spectrum of D - W
            # The constant vector (mode 1) moved above the spectrum, with the padding: the lowest
            # eigenvectors are then the modes 2, 3, ... orthogonal to it, even on a disconnected subgraph.
            L = L + bound * (memf.unsqueeze(2) * memf.unsqueeze(1) / nk.view(-1, 1, 1).to(W.dtype))
            L = L + torch.diag_embed((1.0 - memf) * bound.view(-1, 1))
            _, U = torch.linalg.eigh(L)
            pos = start[cids].view(-1, 1) + torch.arange(m, device=dev)
            pos = torch.where(member, pos, torch.zeros_like(pos))
            nodes = order[pos]  # [c, m] global node of each member slot
            r = torch.where(member, rank[nodes], torch.full_like(nodes, torch.iinfo(torch.long).max))
            for mode in range(1, min(num_modes, m)):
                u = U[:, :, mode - 1] * memf
                top = _pick(u.abs(), r, member)
                sign = torch.where(u.gather(1, top.view(-1, 1)) < 0, -1.0, 1.0).to(u.dtype)
                u = u * sign
                has = member & (nk.view(-1, 1) > mode)
                theta[nodes[has], mode] = u[has]
    return theta


# ---------------------------------------------------------------------------
# the pooler
# ---------------------------------------------------------------------------
class EigenPool(torch.nn.Module):
    r"""EigenPooling (Ma et al., KDD 2019): spectral clustering into ``num_clusters`` subgraphs per
    graph, pooled features ``[Θ_1ᵀX | … | Θ_Hᵀ X]`` from the subgraphs' Laplacian eigenvectors, pooled
    edges the summed weights between subgraphs (see the module docstring for every equation and the
    choices made).  Not learned.

    Args:
        in_channels: width ``F`` of ``x`` (checked).
        num_clusters: ``K``, subgraphs per graph (an int >= 1); a graph of ``n < K`` nodes keeps its
            ``n`` nodes (each its own subgraph).
        num_modes: ``H``, eigenvectors per subgraph (default 1: the pooled width stays ``F``; ``H > 1``
            makes it ``H·F``, :attr:`out_channels`).
        kmeans_iters: most Lloyd iterations of the k-means (default 100).
        dense_limit: largest graph (nodes) whose partition takes a dense eigendecomposition (default
            2000); a larger graph takes the partial eigensolver of :mod:`hipool.nn.spectral` (scipy).
            With ``num_modes > 1``, a subgraph larger than this is refused.

    ``forward(x, edge_index, edge_attr=None, batch=None, edge_weight=None, sizes=None)`` returns a
    :class:`~hipool.record.PoolOutput`; ``sizes`` ``[B]`` (``schedule: auto``) caps each graph's
    subgraphs further (``k_g = min(K, n_g, sizes_g)``).
    """

    def __init__(
        self,
        in_channels: int,
        num_clusters: int,
        *,
        num_modes: int = 1,
        kmeans_iters: int = 100,
        dense_limit: int = 2000,
    ):
        super().__init__()
        where = type(self).__name__
        hint = " (EigenPool needs an absolute cluster count, not a ratio)" if isinstance(num_clusters, float) else ""
        self.in_channels = check_int(in_channels, where, "in_channels")
        self.num_clusters = check_int(num_clusters, where, "num_clusters", hint=hint)
        self.num_modes = check_int(num_modes, where, "num_modes")
        self.kmeans_iters = check_int(kmeans_iters, where, "kmeans_iters", low=0)
        self.dense_limit = check_int(dense_limit, where, "dense_limit")

    @property
    def out_channels(self) -> int:
        """Width of the pooled features: ``num_modes · in_channels``."""
        return self.num_modes * self.in_channels

    def reset_parameters(self) -> None:
        pass

    def clusters(
        self,
        edge_index: Tensor,
        batch: Tensor,
        x: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tensor]:
        """``(cluster [N] global ids, k [B] subgraphs per graph)``: the partition of every graph."""
        n = batch.numel()
        num_graphs = int(batch[-1]) + 1 if n else 0
        counts = torch.bincount(batch, minlength=num_graphs)
        k = counts.clamp(max=self.num_clusters)
        if sizes is not None:
            k = torch.minimum(k, sizes[:num_graphs])
        local = spectral_partition(edge_index, batch, k, x, edge_weight, self.kmeans_iters, self.dense_limit)
        offset = torch.cumsum(k, 0) - k
        return offset[batch] + local if n else local, k

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> PoolOutput:
        where = type(self).__name__
        x, batch = prepare_pool_input(
            x, edge_index, batch, edge_attr, edge_weight, where, self.in_channels, nonnegative_weights=_NONNEGATIVE
        )
        n = x.size(0)
        sizes = check_sizes(sizes, batch, where)
        cluster, k = self.clusters(edge_index, batch, x, edge_weight, sizes)
        total = int(k.sum()) if n else 0
        if n and self.num_modes > 1:
            size = torch.bincount(cluster, minlength=total)
            largest = int(size.max())
            if largest > self.dense_limit:
                c = int(size.argmax())
                g = int(batch[cluster == c][0])
                raise ValueError(
                    f"{where}: a subgraph of graph {g} has {largest} nodes, more than dense_limit="
                    f"{self.dense_limit}; with num_modes={self.num_modes} every subgraph takes a dense O(n^3) "
                    f"eigendecomposition (raise dense_limit, use more clusters, or num_modes=1)"
                )
        theta = subgraph_modes(
            edge_index,
            cluster,
            total,
            self.num_modes,
            rank=_tie_rank(x, batch, torch.cumsum(torch.bincount(batch), 0) - torch.bincount(batch)) if n else None,
            edge_weight=edge_weight,
        ).to(x.dtype)
        pooled = x.new_zeros(total, self.num_modes, x.size(1))
        pooled = pooled.index_add(0, cluster, theta.unsqueeze(2) * x.unsqueeze(1))
        new_x = pooled.reshape(total, self.num_modes * x.size(1))
        new_batch = torch.repeat_interleave(torch.arange(k.numel(), device=x.device), k)
        ei, ew, ea = _coarse_edges(edge_index, cluster, total, x, edge_attr, edge_weight)
        return PoolOutput(
            x=new_x,
            edge_index=ei,
            edge_attr=ea,
            batch=new_batch,
            perm=None,
            score=None,
            cluster=cluster,
            edge_weight=ew,
        )

    def extra_repr(self) -> str:
        return f"{self.in_channels}, num_clusters={self.num_clusters}, num_modes={self.num_modes}"


def _coarse_edges(
    edge_index: Tensor,
    cluster: Tensor,
    total: int,
    x: Tensor,
    edge_attr: Optional[Tensor],
    edge_weight: Optional[Tensor],
) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """``A_coar``: edges between different subgraphs, weights and ``edge_attr`` summed per pair."""
    weight = edge_weight if edge_weight is not None else x.new_ones(edge_index.size(1))
    ce = cluster[edge_index]
    keep = ce[0] != ce[1]
    ce, weight = ce[:, keep], weight[keep]
    size = max(total, 1)
    key, inv = torch.unique(ce[0] * size + ce[1], return_inverse=True)
    new_w = weight.new_zeros(key.numel()).index_add(0, inv, weight)
    new_attr = None
    if edge_attr is not None:
        attr = edge_attr[keep]
        flat = attr.reshape(attr.size(0), math.prod(attr.shape[1:]))
        summed = flat.new_zeros(key.numel(), flat.size(1)).index_add(0, inv, flat)
        new_attr = summed.view(key.numel(), *edge_attr.shape[1:])
    src = torch.div(key, size, rounding_mode="floor")
    return torch.stack([src, key - src * size]), new_w, new_attr
