r"""k-MIS pooling: :class:`KMISPooling` (Bacciu, Conte & Landolfi, "Generalizing Downsampling
from Regular Data to Graphs", AAAI 2023).

The graph's ``k``-th power joins every two nodes at distance at most ``k``.  A maximal
independent set of it (a *k-MIS*) is a set of nodes pairwise more than ``k`` hops apart such
that every other node lies within ``k`` hops of one of them: the graph analogue of taking every
``(k+1)``-th sample of a signal.  Each selected node becomes the centre of a cluster, every other
node joins its closest centre, and the pooled graph is the quotient ``Sᵀ A S``.

**Selection.**  Nodes are ranked (:func:`kmis_rank`) by a score, best first: a learned
``sigmoid(w·x + b)`` (``scorer="linear"``, PyG's default), the weighted degree (``"degree"``),
no score (``"none"``: the rank heuristic alone), a score given to ``forward``
(``"given"``), or any callable ``(x, edge_index, edge_weight, batch) -> [N]``.  With
``score_heuristic="greedy"`` (default, as in the paper and PyG) the score is first divided by
``((A + I)^k 1)_i``, the walks of at most ``k`` steps from ``i``, which favours nodes whose
selection covers few others, so more nodes are kept.  The set is the one the sequential greedy
algorithm takes in rank order (the lexicographically first k-MIS), found in parallel rounds
(:func:`maximal_k_independent_set`: a node enters when it is the best of the not yet covered
nodes within ``k`` hops, Blelloch, Fineman & Shun 2012, generalised by Bacciu et al.): each
round is ``2k`` scatter reductions over the edges, ``O(k E)``; the number of rounds is
``O(log N)`` on random ranks (at most the size of the set).  No ``[N, N]`` matrix is built:
the ``k``-hop reach is ``k`` sparse min/max products with the adjacency, over the whole batch
at once (edges never join two graphs, so each graph gets its own set).

**Ties.**  Equal scores are ordered by a hash of each node's features (a fixed random
projection of ``x``), then by node index.  The rank, and so the pooling, is therefore the same
for any numbering of the nodes whenever tied nodes have different features; only nodes with
equal score *and* equal features are ordered by index (exact equivariance is impossible there:
two symmetric nodes with the same features cannot be told apart).

**Clusters.**  Every node joins the selected node closest to it (breadth first from the set,
``k`` rounds), ties to the better ranked one, as in the paper.  Output nodes are numbered by
their centre's index, so ``batch`` stays sorted.

**Features.**  ``reduce`` ``"sum"`` (default: ``Sᵀ X``), ``"mean"``, ``"max"`` over each
cluster, or ``"center"`` (the centre's own features, PyG's ``aggr_x=None``).  With the learned
scorer the features are first multiplied by the score (PyG's ``score_passthrough="before"``),
which is how the scorer gets a gradient.

**Edges.**  The pooled edges are the cluster pairs of the input edges (duplicates merged,
self-loops dropped unless ``keep_self_loops``); ``edge_weight`` is summed over the merged edges
(1 per edge when none is given: the entries of ``Sᵀ A S``, so the pooled graph is always
weighted), ``edge_attr`` of any width summed or averaged (``edge_reduce``).

The graph is read as undirected for the selection (an edge in either direction joins its
ends; self-loops are ignored); the pooled edges keep the input's directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.utils import coalesce, scatter

from ..checks import check_bool, check_int, check_sizes, param_device, param_dtype, prepare_pool_input
from ..record import PoolOutput

#: The scorers a config names (a callable is accepted too).
SCORERS = ("linear", "degree", "none", "given")
#: The score heuristics: ``None`` or ``"greedy"``.
HEURISTICS = (None, "greedy")
#: How a cluster's features are pooled.
REDUCES = ("sum", "mean", "max", "center")
#: How the ``edge_attr`` of merged edges is pooled.
EDGE_REDUCES = ("sum", "mean")

_Scorer = Callable[[Tensor, Tensor, Optional[Tensor], Tensor], Tensor]


# ---------------------------------------------------------------------------
# graph helpers (shared with :mod:`hipool.nn.ndp`)
# ---------------------------------------------------------------------------
def undirected(edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int) -> Tuple[Tensor, Tensor]:
    """The graph read as undirected and simple: self-loops dropped, repeated edges summed, then
    ``W = max(A, Aᵀ)`` (an edge given in one direction only counts in both).  Returns the edges in
    both directions, coalesced, and their weights (``edge_weight``'s dtype; ones when ``None``)."""
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), device=edge_index.device)
    off = edge_index[0] != edge_index[1]
    ei, w = edge_index[:, off], edge_weight[off]
    if ei.size(1) == 0:
        return ei, w
    both = _reverse_weights(ei, w, num_nodes)
    if both is not None:  # already coalesced and symmetric (PyG's usual storage): one sort, not two
        return ei, both
    ei, w = coalesce(ei, w, num_nodes=num_nodes, reduce="sum")
    return coalesce(torch.cat([ei, ei.flip(0)], 1), torch.cat([w, w]), num_nodes=num_nodes, reduce="max")


def _reverse_weights(edge_index: Tensor, weight: Tensor, num_nodes: int) -> Optional[Tensor]:
    """``max(w_ij, w_ji)`` per edge when ``edge_index`` is coalesced (sorted by row, then column,
    no repeats) and holds every edge in both directions; ``None`` otherwise."""
    key = edge_index[0] * num_nodes + edge_index[1]
    if not bool((key[1:] > key[:-1]).all()):
        return None
    reverse, perm = torch.sort(edge_index[1] * num_nodes + edge_index[0])
    if not torch.equal(reverse, key):
        return None
    return torch.maximum(weight, weight[perm])  # edge perm[i] is edge i reversed


def feature_key(x: Tensor) -> Optional[Tensor]:
    """A per-node tie-break key from the features alone: ``x`` (float64) times a fixed random
    vector, so equal rows get equal keys and the key of a node does not depend on its index or
    on the other nodes (``None`` for ``x`` of width 0)."""
    if x.size(1) == 0:
        return None
    g = torch.Generator().manual_seed(0x6B6D6973)
    r = torch.randn(x.size(1), generator=g, dtype=torch.float64).to(x.device)
    return x.detach().to(torch.float64) @ r


def kmis_rank(score: Tensor, key: Optional[Tensor] = None) -> Tensor:
    """A strict order of the nodes, ``rank [N]`` (0 is best): descending ``score``, ties by
    descending ``key`` (when given), then by ascending index."""
    n = score.numel()
    order = torch.arange(n, device=score.device)
    if key is not None:
        order = torch.argsort(key, descending=True, stable=True)
    order = order[torch.argsort(score[order], descending=True, stable=True)]
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=score.device)
    return rank


def _spread_min(values: Tensor, src: Tensor, dst: Tensor, k: int) -> Tensor:
    """``k`` rounds of ``v_i <- min(v_i, min_{j -> i} v_j)``: the minimum over the ``k``-hop
    neighbourhood (a min-plus product with ``A + I``, ``k`` times)."""
    for _ in range(k):
        values = values.scatter_reduce(0, dst, values[src], reduce="amin", include_self=True)
    return values


def _spread_any(mask: Tensor, src: Tensor, dst: Tensor, k: int) -> Tensor:
    """``k`` rounds of ``m_i <- m_i or any_{j -> i} m_j``: the nodes within ``k`` hops of ``mask``
    (a boolean product with ``A + I``, ``k`` times)."""
    m = mask.to(torch.uint8)
    for _ in range(k):
        m = m.scatter_reduce(0, dst, m[src], reduce="amax", include_self=True)
    return m.bool()


def maximal_k_independent_set(edge_index: Tensor, rank: Tensor, k: int = 1) -> Tuple[Tensor, int]:
    """The k-MIS that the sequential greedy algorithm takes in ``rank`` order (lowest first).

    ``edge_index`` must hold every edge in both directions (:func:`undirected`); ``rank`` is a
    permutation of ``0 .. N - 1``.  Each round takes every not yet covered node whose rank is the
    lowest among the uncovered nodes within ``k`` hops (paths may pass through covered nodes), then
    covers everything within ``k`` hops of the set.  Returns ``(mis, rounds)``: a boolean mask
    ``[N]`` and the number of rounds.
    """
    n = rank.numel()
    src, dst = edge_index[0], edge_index[1]
    mis = torch.zeros(n, dtype=torch.bool, device=rank.device)
    covered = torch.zeros_like(mis)
    rounds = 0
    while n and not bool(covered.all()):
        rounds += 1
        best = _spread_min(torch.where(covered, n, rank), src, dst, k)
        new = (~covered) & (best == rank)
        mis |= new
        covered |= _spread_any(new, src, dst, k)
    return mis, rounds


def kmis_clusters(edge_index: Tensor, rank: Tensor, mis: Tensor, k: int) -> Tensor:
    """For every node, the node of ``mis`` closest to it, ties to the lower ``rank``.

    Breadth first from the set, one hop a round: a node first reached in round ``t`` (so at
    distance ``t``) takes the best-ranked owner among its neighbours reached in round ``t - 1``,
    which is the best-ranked of its closest set nodes.  ``k`` rounds reach every node of a
    maximal k-independent set's graph.  Returns ``owner [N]`` (node ids).
    """
    n = rank.numel()
    src, dst = edge_index[0], edge_index[1]
    owner_rank = torch.where(mis, rank, n)
    for _ in range(k):
        reached = owner_rank < n
        cand = torch.full_like(owner_rank, n).scatter_reduce(
            0, dst, torch.where(reached[src], owner_rank[src], n), reduce="amin", include_self=True
        )
        owner_rank = torch.where(reached, owner_rank, cand)
    node_of_rank = torch.empty_like(rank)
    node_of_rank[rank] = torch.arange(n, device=rank.device)
    if n and bool((owner_rank >= n).any()):  # cannot happen for a maximal set: a bug if it does
        raise RuntimeError("kmis_clusters: a node is farther than k hops from the set")
    return node_of_rank[owner_rank.clamp(max=max(n - 1, 0))]


def _pool_edges(
    edge_index: Tensor,
    cluster: Tensor,
    num_clusters: int,
    edge_attr: Optional[Tensor],
    edge_weight: Optional[Tensor],
    keep_self_loops: bool,
    edge_reduce: str,
    dtype: torch.dtype,
) -> Tuple[Tensor, Optional[Tensor], Tensor]:
    """``Sᵀ A S``: the cluster pairs of the edges, merged; weights (1 per edge by default) summed,
    ``edge_attr`` summed or averaged over the merged edges."""
    ei = cluster[edge_index]
    w = edge_weight if edge_weight is not None else torch.ones(ei.size(1), dtype=dtype, device=ei.device)
    if not keep_self_loops:
        mask = ei[0] != ei[1]
        ei, w = ei[:, mask], w[mask]
        edge_attr = edge_attr[mask] if edge_attr is not None else None
    if ei.size(1) == 0:
        return ei, edge_attr, w
    if edge_attr is None:
        ei, w = coalesce(ei, w, num_nodes=num_clusters, reduce="sum")
        return ei, None, w
    count = torch.ones(ei.size(1), dtype=dtype, device=ei.device)
    ei, (attr, w, count) = coalesce(ei, [edge_attr, w, count], num_nodes=num_clusters, reduce="sum")
    if edge_reduce == "mean":
        attr = attr / count.view(-1, *([1] * (attr.dim() - 1))).to(attr.dtype)
    return ei, attr, w


@dataclass(repr=False)
class KMISPoolOutput(PoolOutput):
    """:class:`~hipool.record.PoolOutput` of :class:`KMISPooling`, with ``centers`` (the selected
    input node of every output node ``[N']``) and ``rounds`` (the parallel rounds the set took)."""

    centers: Optional[Tensor] = None
    rounds: int = 0


class KMISPooling(torch.nn.Module):
    r"""k-MIS pooling of Bacciu, Conte & Landolfi, AAAI 2023 (see the module docstring).

    Args:
        in_channels: width of ``x``.
        k: the hop distance, an int ``>= 1``: centres are more than ``k`` hops apart and every
            node is within ``k`` hops of one (``k = 1``: a maximal independent set).  Graphs
            shrink faster as ``k`` grows (a path keeps about one node in ``k + 1``).
        scorer: ``"linear"`` (default: learned ``sigmoid(w·x + b)``), ``"degree"`` (weighted
            degree of the undirected graph), ``"none"`` (no score), ``"given"`` (``forward``'s
            ``score``) or a callable ``(x, edge_index, edge_weight, batch) -> [N]``.
        score_heuristic: ``"greedy"`` (default: divide the score by ``((A + I)^k 1)_i``) or
            ``None`` (rank by the score alone).
        reduce: the pooled features of a cluster: ``"sum"`` (default), ``"mean"``, ``"max"`` or
            ``"center"`` (the centre's).  With ``scorer="linear"`` the features are multiplied by
            the score first.
        edge_reduce: ``"sum"`` (default) or ``"mean"``, for the ``edge_attr`` of merged edges.
        keep_self_loops: keep the self-loops that merging makes (default ``False``).

    Deterministic: the same graph gives the same pooling in any node order, except among nodes
    of equal score and equal features (ordered by index).  Bad arguments raise ``ValueError``
    naming them.
    """

    def __init__(
        self,
        in_channels: int,
        k: int = 1,
        *,
        scorer: Union[str, _Scorer] = "linear",
        score_heuristic: Optional[str] = "greedy",
        reduce: str = "sum",
        edge_reduce: str = "sum",
        keep_self_loops: bool = False,
    ):
        super().__init__()
        check_int(in_channels, "KMISPooling", "in_channels")
        check_int(k, "KMISPooling", "k")
        if not callable(scorer) and (not isinstance(scorer, str) or scorer not in SCORERS):
            raise ValueError(f"KMISPooling: 'scorer' must be one of {', '.join(SCORERS)} or a callable, got {scorer!r}")
        if not (score_heuristic is None or (isinstance(score_heuristic, str) and score_heuristic in HEURISTICS)):
            raise ValueError(f"KMISPooling: 'score_heuristic' must be None or 'greedy', got {score_heuristic!r}")
        if not isinstance(reduce, str) or reduce not in REDUCES:
            raise ValueError(f"KMISPooling: 'reduce' must be one of {', '.join(REDUCES)}, got {reduce!r}")
        if not isinstance(edge_reduce, str) or edge_reduce not in EDGE_REDUCES:
            raise ValueError(
                f"KMISPooling: 'edge_reduce' must be one of {', '.join(EDGE_REDUCES)}, got {edge_reduce!r}"
            )
        check_bool(keep_self_loops, "KMISPooling", "keep_self_loops")
        self.in_channels = in_channels
        self.k = k
        self.scorer = scorer
        self.score_heuristic = score_heuristic
        self.reduce = reduce
        self.edge_reduce = edge_reduce
        self.keep_self_loops = keep_self_loops
        self.lin = torch.nn.Linear(in_channels, 1) if scorer == "linear" else None

    def reset_parameters(self) -> None:
        if self.lin is not None:
            self.lin.reset_parameters()

    # -- scores ----------------------------------------------------------------
    def node_score(
        self,
        x: Tensor,
        edge_index: Tensor,
        und: Tuple[Tensor, Tensor],
        edge_weight: Optional[Tensor],
        batch: Tensor,
        score: Optional[Tensor],
    ) -> Optional[Tensor]:
        """The raw score of every node ``[N]`` (``None`` for ``scorer="none"``)."""
        n = x.size(0)
        if self.scorer == "linear":
            assert self.lin is not None
            return torch.sigmoid(self.lin(x)).view(-1)
        if self.scorer == "degree":
            ei, w = und
            return torch.zeros(n, dtype=x.dtype, device=x.device).index_add_(0, ei[1], w.to(x.dtype))
        if self.scorer == "none":
            return None
        if self.scorer == "given":
            if score is None:
                raise ValueError("KMISPooling: scorer='given' needs forward(..., score=<[N] tensor>)")
            out = score
        else:
            out = self.scorer(x, edge_index, edge_weight, batch)  # type: ignore[operator]
        if not isinstance(out, Tensor) or out.numel() != n or out.is_complex() or out.dtype == torch.bool:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"KMISPooling: the score must be a real tensor with one value per node ({n}), got {shape}")
        out = out.reshape(-1)
        if n and not bool(torch.isfinite(out.detach()).all()):
            raise ValueError("KMISPooling: the score must be finite")
        return out

    def _ranking_score(self, score: Optional[Tensor], und: Tuple[Tensor, Tensor], n: int, device) -> Tensor:
        s = torch.ones(n, dtype=torch.float64, device=device) if score is None else score.detach().to(torch.float64)
        if self.score_heuristic == "greedy":
            ei = und[0]
            walks = torch.ones(n, dtype=torch.float64, device=device)
            for _ in range(self.k):
                walks = walks + torch.zeros_like(walks).index_add_(0, ei[1], walks[ei[0]])
            s = s / walks
        return s

    # -- forward ---------------------------------------------------------------
    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        score: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> KMISPoolOutput:
        """Pool a batch (``score``: the node scores for ``scorer="given"``).  ``sizes`` ``[B]``
        (``schedule: auto``, :mod:`hipool.nn.auto`): a graph of at most ``sizes[g]`` nodes skips the
        level, every node its own cluster (features still gated by a learned score); k-MIS cannot
        aim at a size, so a larger graph is pooled as usual."""
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "KMISPooling",
            self.in_channels,
            dtype=param_dtype(self),
            device=param_device(self),
        )
        sizes = check_sizes(sizes, batch, "KMISPooling")
        if score is not None and self.scorer != "given":
            raise ValueError(f"KMISPooling: a 'score' was given but the scorer is {self.scorer!r}, not 'given'")
        n = x.size(0)
        und = undirected(edge_index, edge_weight, n)
        s = self.node_score(x, edge_index, und, edge_weight, batch, score)
        rank = kmis_rank(self._ranking_score(s, und, n, x.device), feature_key(x))
        mis, rounds = maximal_k_independent_set(und[0], rank, self.k)
        owner = kmis_clusters(und[0], rank, mis, self.k)
        if sizes is not None and n:
            skip = (torch.bincount(batch, minlength=sizes.numel()) <= sizes)[batch]
            mis = mis | skip
            owner = torch.where(skip, torch.arange(n, device=x.device), owner)
        centers = mis.nonzero().view(-1)
        num_clusters = centers.numel()
        out_id = torch.empty(n, dtype=torch.long, device=x.device)
        out_id[centers] = torch.arange(num_clusters, device=x.device)
        cluster = out_id[owner]

        xs = x * s.view(-1, 1) if self.scorer == "linear" and s is not None else x
        if self.reduce == "center":
            new_x = xs[centers]
        else:
            new_x = scatter(xs, cluster, dim=0, dim_size=num_clusters, reduce=self.reduce)
        new_ei, new_ea, new_ew = _pool_edges(
            edge_index, cluster, num_clusters, edge_attr, edge_weight, self.keep_self_loops, self.edge_reduce, x.dtype
        )
        return KMISPoolOutput(
            x=new_x,
            edge_index=new_ei,
            edge_attr=new_ea,
            batch=batch[centers],
            perm=centers if self.reduce == "center" else None,
            score=None if s is None else s[centers],
            cluster=cluster,
            edge_weight=new_ew,
            centers=centers,
            rounds=rounds,
        )

    def __repr__(self) -> str:
        scorer = self.scorer if isinstance(self.scorer, str) else getattr(self.scorer, "__name__", "callable")
        return f"{type(self).__name__}({self.in_channels}, k={self.k}, scorer={scorer!r}, reduce={self.reduce!r})"
