r"""Edge contraction: :class:`EdgePool` (learned) and :class:`Graclus` (not learned).

Both merge the two ends of the edges of a matching, so each graph shrinks to
between half and all of its nodes; unmatched nodes stay as they are.  The
matching is computed in parallel rounds (:mod:`hipool.nn.matching`), never in
a Python loop over edges.

The record (:class:`~hipool.record.PoolOutput`) maps every input node to its
merged node (``cluster``; nobody is dropped), and ``unpool`` copies a merged
node's features back to both members.  Output nodes are numbered graph by graph,
so the pooled ``batch`` stays sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union, cast

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn.pool.edge_pool import UnpoolInfo
from torch_geometric.utils import coalesce, softmax

from ..checks import (
    check_edge_index_type,
    check_int,
    check_number,
    check_sizes,
    is_int,
    is_one_graph_on_cpu,
    param_device,
    param_dtype,
    prepare_pool_input,
)
from ..record import PoolOutput
from .matching import clusters_from_matching, greedy_matching, limit_merges, rank_by_score


def _contract_edges(
    edge_index: Tensor,
    cluster: Tensor,
    num_clusters: int,
    edge_attr: Optional[Tensor],
    edge_weight: Optional[Tensor],
    keep_self_loops: bool,
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Edges between clusters, duplicates merged; their ``edge_attr``/``edge_weight`` summed."""
    ei = cluster.index_select(0, edge_index.reshape(-1)).view(2, -1)  # (index_select: 3x faster than [])
    if edge_attr is None and edge_weight is None and ei.size(1) > 0:
        # The distinct (row, col) in order, as coalesce gives them: one unique of 1-D keys, the
        # merged self-loops dropped from its (shorter) result (1.5 against 2.3 ms at 80k edges).
        key = torch.unique(ei[0] * num_clusters + ei[1])
        pairs = _decode(key, num_clusters)
        if keep_self_loops:
            return pairs, None, None
        off = pairs[0] != pairs[1]
        return (pairs if bool(off.all()) else pairs[:, off]), None, None
    if not keep_self_loops:
        mask = ei[0] != ei[1]
        ei = ei[:, mask]
        edge_attr = edge_attr[mask] if edge_attr is not None else None
        edge_weight = edge_weight[mask] if edge_weight is not None else None
    values = [v for v in (edge_attr, edge_weight) if v is not None]
    if ei.size(1) == 0:
        return ei, edge_attr, edge_weight
    ei, values = coalesce(ei, values, num_nodes=num_clusters, reduce="sum")
    values = list(values)
    edge_attr = values.pop(0) if edge_attr is not None else None
    edge_weight = values.pop(0) if edge_weight is not None else None
    return ei, edge_attr, edge_weight


# ---------------------------------------------------------------------------
# EdgePool
# ---------------------------------------------------------------------------
@dataclass(repr=False)
class EdgePoolOutput(PoolOutput):
    """:class:`~hipool.record.PoolOutput` of :class:`EdgePool`; unpacks like PyG's
    ``(x, edge_index, batch, unpool_info)``.  ``score`` is each merged node's edge score
    (1 for an unmatched node)."""

    unpool_info: Optional[UnpoolInfo] = None
    rounds: int = 0  # parallel matching rounds this call took

    _tuple_fields = ("x", "edge_index", "batch", "unpool_info")


_SCORE_METHODS = ("softmax", "tanh", "sigmoid")


class EdgePool(torch.nn.Module):
    r"""Edge pooling of Diehl, "Edge Contraction Pooling for Graph Neural Networks" (2019).

    Every edge :math:`(i, j)` gets a score
    :math:`s_{ij} = \phi(w^\top [x_i \,\|\, x_j] + b) + c`, with :math:`\phi` a softmax over
    the edges into :math:`j`, :math:`\tanh` or the sigmoid, and :math:`c` =
    ``add_to_edge_score``.  Edges are taken greedily by descending score while
    neither end is taken yet (a maximal matching); a merged pair becomes one node
    with :math:`x' = s_{ij}(x_i + x_j)`, an unmatched node is kept as it is.

    Keyword- and ``state_dict``-compatible with PyG's ``EdgePooling``, and called
    the same way, ``pool(x, edge_index, batch)``.  The matching is the one PyG's
    Python loop computes whenever no two scores tie, found in parallel rounds
    (:func:`~hipool.nn.matching.greedy_matching`); tied scores are taken in edge
    order (PyG's order within a tie is whatever its unstable sort gives).
    Output nodes are numbered per graph (pairs by score, then unmatched nodes by
    index); PyG numbers them over the whole batch, which leaves its pooled
    ``batch`` unsorted.

    Args:
        in_channels: width of ``x``.
        edge_score_method: ``"softmax"`` (default), ``"tanh"``, ``"sigmoid"``, or a
            callable ``(raw_score, edge_index, num_nodes) -> score`` such as PyG's
            ``EdgePooling.compute_edge_score_tanh``.
        dropout: dropout on the raw edge scores while training, in [0, 1).  Default ``0``.
        add_to_edge_score: the constant :math:`c`, a finite number.  Default ``0.5`` (PyG's).

    ``forward`` also takes ``edge_attr`` and ``edge_weight``: edges that become
    parallel after merging are joined and their attributes and weights summed.
    Self-loops made by merging are kept (as PyG does).
    """

    def __init__(
        self,
        in_channels: int,
        edge_score_method: Union[str, Callable, None] = None,
        dropout: float = 0.0,
        add_to_edge_score: float = 0.5,
    ):
        super().__init__()
        check_int(in_channels, "EdgePool", "in_channels")
        if edge_score_method is None:
            edge_score_method = "softmax"
        if isinstance(edge_score_method, str):
            if edge_score_method not in _SCORE_METHODS:
                raise ValueError(
                    f"EdgePool: 'edge_score_method' must be one of "
                    f"{', '.join(_SCORE_METHODS)} or a callable, got {edge_score_method!r}"
                )
            edge_score_method = getattr(self, f"compute_edge_score_{edge_score_method}")
        elif not callable(edge_score_method):
            raise ValueError(f"EdgePool: 'edge_score_method' must be a name or a callable, got {edge_score_method!r}")
        self.in_channels = in_channels
        self.compute_edge_score = cast(Callable[..., Tensor], edge_score_method)
        self.dropout = check_number(dropout, "EdgePool", "dropout", low=0, high=1, high_open=True)
        self.add_to_edge_score = check_number(add_to_edge_score, "EdgePool", "add_to_edge_score")
        self.lin = torch.nn.Linear(2 * in_channels, 1)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    @staticmethod
    def compute_edge_score_softmax(raw_edge_score: Tensor, edge_index: Tensor, num_nodes: int) -> Tensor:
        """Softmax over the edges into each node."""
        return softmax(raw_edge_score, edge_index[1], num_nodes=num_nodes)

    @staticmethod
    def compute_edge_score_tanh(
        raw_edge_score: Tensor, edge_index: Optional[Tensor] = None, num_nodes: Optional[int] = None
    ) -> Tensor:
        return torch.tanh(raw_edge_score)

    @staticmethod
    def compute_edge_score_sigmoid(
        raw_edge_score: Tensor, edge_index: Optional[Tensor] = None, num_nodes: Optional[int] = None
    ) -> Tensor:
        return torch.sigmoid(raw_edge_score)

    def edge_score(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The score of every edge (before matching)."""
        # lin([x_i || x_j]) = x_i·w_a + x_j·w_b + b: project the nodes, then gather two
        # scalars per edge instead of an [E, 2F] concatenation (same value, 2F times less work).
        w = self.lin.weight.view(2, -1)
        proj = x @ w.t()
        e = proj[edge_index[0], 0] + proj[edge_index[1], 1] + self.lin.bias
        e = F.dropout(e, p=self.dropout, training=self.training)
        return self.compute_edge_score(e, edge_index, x.size(0)) + self.add_to_edge_score

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> EdgePoolOutput:
        """Pool a batch.  ``sizes`` ``[B]`` (``schedule: auto``, :mod:`hipool.nn.auto`): the fewest
        nodes each graph is merged down to; a graph merges at most ``n - sizes`` of its matched
        pairs, the best-scored first."""
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "EdgePool",
            self.in_channels,
            dtype=param_dtype(self),
            device=param_device(self),
        )
        sizes = check_sizes(sizes, batch, "EdgePool")
        n = x.size(0)
        score = self.edge_score(x, edge_index)

        rank = rank_by_score(score)
        taken, rounds = greedy_matching(edge_index, rank, n)
        if sizes is not None:
            taken = limit_merges(taken, rank, edge_index, batch, _merge_budget(batch, sizes))
        cluster, pair, batch_out = clusters_from_matching(edge_index, taken, batch, n)
        num_clusters = pair.numel()
        is_pair = pair >= 0
        if score.numel():
            new_score = torch.where(is_pair, score[pair.clamp(min=0)], score.new_ones(()))
        else:  # no edges: every node stays as it is
            new_score = x.new_ones(num_clusters)
        new_x = x.new_zeros(num_clusters, x.size(1)).index_add_(0, cluster, x) * new_score.view(-1, 1)
        new_ei, new_ea, new_ew = _contract_edges(
            edge_index, cluster, num_clusters, edge_attr, edge_weight, keep_self_loops=True
        )
        info = UnpoolInfo(edge_index=edge_index, cluster=cluster, batch=batch, new_edge_score=new_score)
        return EdgePoolOutput(
            x=new_x,
            edge_index=new_ei,
            edge_attr=new_ea,
            batch=batch_out,
            perm=None,
            score=new_score,
            cluster=cluster,
            edge_weight=new_ew,
            unpool_info=info,
            rounds=rounds,
        )

    def unpool(self, x: Tensor, unpool_info: UnpoolInfo) -> Tuple[Tensor, Tensor, Tensor]:
        """PyG's unpooling: divide by the merge score and copy to both members.
        Returns ``(x, edge_index, batch)`` of the input graph."""
        new_x = (x / unpool_info.new_edge_score.view(-1, 1))[unpool_info.cluster]
        return new_x, unpool_info.edge_index, unpool_info.batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels})"


#: PyG's name, for drop-in use.
EdgePooling = EdgePool


# ---------------------------------------------------------------------------
# Graclus
# ---------------------------------------------------------------------------
def _hash32(x: Tensor) -> Tensor:
    """A bijection of the int64 values ``0 .. 2**32 - 1`` that scatters neighbours (integer hash of
    xor-shifts and odd multiplications mod 2**32; no product leaves int64)."""
    for _ in range(3):
        x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return x


def _tiebreak(pairs: Tensor, batch: Optional[Tensor], seed: Optional[int]) -> Tensor:
    """A random order of the pairs drawn from ``seed``, each pair's key a function of the seed and of
    its position among its own graph's pairs only: a graph gets the same ties broken the same way
    alone and in any batch."""
    position = torch.arange(pairs.size(1), device=pairs.device)
    if is_one_graph_on_cpu(batch):
        batch = None  # every pair's place among its graph's is its place
    if batch is not None:
        graph = batch[pairs[0]]  # pairs are sorted, so each graph's pairs are contiguous
        counts = torch.bincount(graph)
        position = position - (torch.cumsum(counts, 0) - counts)[graph]
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)))
    s = int(seed) % 2**64
    salt = int(_hash32(torch.tensor((s ^ (s >> 32)) & 0xFFFFFFFF)))
    return _hash32((position & 0xFFFFFFFF) ^ salt)


def graclus(
    edge_index: Tensor,
    edge_weight: Optional[Tensor] = None,
    num_nodes: Optional[int] = None,
    *,
    seed: Optional[int] = 0,
    batch: Optional[Tensor] = None,
) -> Tensor:
    r"""Normalized-cut heavy-edge matching (Dhillon, Guan & Kulis, TPAMI 2007), in plain torch.

    The graph is read as undirected, :math:`W = (A + A^\top)/2` without self-loops
    (weights ``edge_weight``, default 1, must be ≥ 0), with degrees :math:`d = W\mathbf{1}`.
    Pairs are matched greedily by the normalized-cut weight
    :math:`W_{uv}(1/d_u + 1/d_v)`, heaviest first: the greedy matching, which is
    maximal and at least half as heavy as the heaviest one.  Graclus and Metis
    visit nodes in random order instead, each taking its heaviest free
    neighbour; that has no such bound and cannot be done in parallel rounds.

    The weights are compared in float32: values within about 1e-7 of each other tie (mostly one
    fraction that float64 rounding reached in two ways).
    Ties are broken by a random order drawn from ``seed``, in which a pair's place depends on
    the seed and its place among its graph's pairs only: the same graph and seed always give
    the same matching, alone or in any batch (``batch``: the graph of every node, sorted, as PyG
    makes it; ``None``: one graph).  ``seed=None`` draws the seed from torch's global RNG.

    Returns ``cluster [N]``: for every node, the smallest node index of its pair
    (itself when unmatched) — the convention of PyG's ``graclus``, so the result
    can go to PyG's ``max_pool``/``avg_pool``.
    """
    check_edge_index_type(edge_index, "graclus")
    lo, hi = (int(v) for v in torch.aminmax(edge_index)) if edge_index.numel() else (0, -1)
    if num_nodes is None:
        num_nodes = hi + 1
    if not is_int(num_nodes) or num_nodes < hi + 1 or lo < 0:
        raise ValueError(
            f"graclus: 'num_nodes' must be an int above every node of 'edge_index' "
            f"(which ranges over [{lo}, {hi}]), got {num_nodes!r}"
        )
    if seed is not None and (not is_int(seed)):
        raise ValueError(f"graclus: 'seed' must be an int or None, got {seed!r}")
    if batch is not None and (
        not isinstance(batch, Tensor) or batch.dtype != torch.long or batch.shape != (num_nodes,)
    ):
        got = f"{batch.dtype} {tuple(batch.shape)}" if isinstance(batch, Tensor) else type(batch).__name__
        raise ValueError(f"graclus: 'batch' must be an int64 tensor [num_nodes={num_nodes}], got {got}")
    device = edge_index.device
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), device=device)
    elif (
        not isinstance(edge_weight, Tensor)
        or edge_weight.dim() != 1
        or edge_weight.numel() != edge_index.size(1)
        or edge_weight.is_complex()
        or edge_weight.dtype == torch.bool
    ):
        got = (
            f"{edge_weight.dtype} {list(edge_weight.shape)}"
            if isinstance(edge_weight, Tensor)
            else type(edge_weight).__name__
        )
        raise ValueError(f"graclus: 'edge_weight' must be a real tensor of shape [{edge_index.size(1)}], got {got}")
    for name, t in (("edge_weight", edge_weight), ("batch", batch)):
        if t is not None and t.device != device:
            raise ValueError(f"graclus: 'edge_index' is on {device} but '{name}' is on {t.device}")
    return _graclus(edge_index, edge_weight, num_nodes, seed, batch)


def _merge_budget(batch: Tensor, sizes: Tensor) -> Tensor:
    """Merges each graph may make to keep at least ``sizes`` of its nodes: ``n - sizes``, at least 0."""
    counts = torch.bincount(batch, minlength=sizes.numel())
    return (counts - sizes).clamp(min=0)


def _graclus(
    edge_index: Tensor,
    edge_weight: Optional[Tensor],
    num_nodes: int,
    seed: Optional[int],
    batch: Optional[Tensor],
    budget: Optional[Tensor] = None,
) -> Tensor:
    """:func:`graclus` after its argument checks (the :class:`Graclus` pooler's input checks did them)."""
    device = edge_index.device
    if edge_weight is None:
        w = torch.full((edge_index.size(1),), 0.5, dtype=torch.float64, device=device)
    else:
        w = edge_weight.detach().to(torch.float64)
        bad = ~torch.isfinite(w) | (w < 0)
        if bool(bad.any()):
            e = int(bad.nonzero()[0])
            raise ValueError(f"graclus: 'edge_weight' must be finite and >= 0; edge {e} has {float(w[e])}")
        w = w / 2
    src, dst = edge_index
    off = src != dst
    if not bool(off.all()):  # (masks cost a nonzero each: skipped when there is nothing to drop)
        src, dst, w = src[off], dst[off], w[off]
    deg = torch.zeros(num_nodes, dtype=torch.float64, device=device)
    deg.index_add_(0, src, w).index_add_(0, dst, w)
    pairs, pw = _undirected_pairs(src, dst, w, num_nodes)
    keep = pw > 0
    if not bool(keep.all()):
        pairs, pw = pairs[:, keep], pw[keep]
    cluster = torch.arange(num_nodes, device=device)
    if pairs.size(1) == 0:
        return cluster
    ncut = pw * (1.0 / deg[pairs[0]] + 1.0 / deg[pairs[1]])
    rank = _ncut_rank(ncut, _tiebreak(pairs, batch, seed))
    limited = budget is not None and batch is not None
    taken, _ = greedy_matching(pairs, rank, num_nodes, ordered=limited)  # (only the limit reads the order)
    if budget is not None and batch is not None:  # (= limited, spelled out for the type checker)
        taken = limit_merges(taken, rank, pairs, batch, budget)
    cluster[pairs[1, taken]] = pairs[0, taken]
    return cluster


def _undirected_pairs(src: Tensor, dst: Tensor, w: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    """The distinct pairs ``(min, max)`` of the edges ``src -> dst``, sorted, and the sum of ``w`` over
    each pair's edges (PyG's ``coalesce`` of the pairs, with one int64 sort and no gathers of the
    edges: 1.9 against 2.8 ms at 80k edges)."""
    key, perm = torch.sort(torch.minimum(src, dst) * num_nodes + torch.maximum(src, dst))
    first = torch.ones_like(key, dtype=torch.bool)
    first[1:] = key[1:] != key[:-1]
    slot = torch.cumsum(first, 0) - 1
    key = key.index_select(0, first.nonzero().view(-1))
    pw = torch.zeros(key.numel(), dtype=w.dtype, device=w.device)
    pw.index_add_(0, slot, w.index_select(0, perm))
    return _decode(key, num_nodes), pw


def _decode(key: Tensor, n: int) -> Tensor:
    """``[2, K]`` pairs ``(key // n, key % n)`` (a product and a difference instead of the slower
    remainder)."""
    row = torch.div(key, n, rounding_mode="floor")
    return torch.stack([row, key - row * n])


def _ncut_rank(ncut: Tensor, tiebreak: Tensor) -> Tensor:
    """The matching keys of :func:`_graclus`, lower for better: ``ncut`` rounded to float32,
    descending, ties by ascending ``tiebreak`` (values in ``[0, 2**32)``), packed into one int64
    (the float's bits, which order positive floats as their values, times ``2**32`` plus the
    tiebreak): no sort.  Rounding to float32 makes values within about 1e-7 of each other ties for
    the seed to decide, mostly one fraction reached by float rounding in two ways (``1/2 + 1/12``
    and ``1/3 + 1/4``, which float64 tells apart by its last bit).  Two edges get the same key
    only when value and tiebreak both tie; the tiebreak is distinct among a graph's pairs, so
    those are pairs of different graphs, which share no node and never compete in the matching."""
    bits = ncut.to(torch.float32).view(torch.int32).long()  # ncut > 0: bits increase with it
    return (2**31 - 1 - bits) * 2**32 + tiebreak


_REDUCES = ("max", "mean", "sum")


class _PairMax(torch.autograd.Function):
    """``max(x[a], x[b])`` row by row, its gradient split evenly between equal entries (as
    ``scatter_reduce``'s ``amax`` splits it).  torch's own ``maximum`` backward gives the same
    gradient 4x slower (two masked fills of the full width), ``scatter(reduce="max")`` 5x."""

    @staticmethod
    def forward(ctx, x: Tensor, a: Tensor, b: Tensor) -> Tensor:
        xa, xb = x.index_select(0, a), x.index_select(0, b)
        # a's share of the gradient: 1, 1/2 at a tie, 0 (sign: 5x cheaper than two compares and casts)
        share_a = torch.sign(xa - xb).mul_(0.5).add_(0.5)
        ctx.save_for_backward(a, b, share_a)
        ctx.num_rows = x.size(0)
        return torch.maximum(xa, xb)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b, share_a = ctx.saved_tensors
        to_a = grad * share_a
        out = grad.new_zeros((ctx.num_rows,) + tuple(grad.shape[1:]))
        out.index_add_(0, a, to_a).index_add_(0, b, grad - to_a)
        return out, None, None


def _pair_reduce(x: Tensor, a: Tensor, b: Tensor, reduce: str) -> Tensor:
    """Rows ``x[a]`` and ``x[b]`` reduced (``b == a`` for a node alone: its own row)."""
    if reduce == "max":
        return _PairMax.apply(x, a, b) if x.requires_grad else torch.maximum(x.index_select(0, a), x.index_select(0, b))
    xa, xb = x.index_select(0, a), x.index_select(0, b)
    if reduce == "mean":  # (x_a + x_a) / 2 = x_a for a node alone
        return (xa + xb) * 0.5
    return xa + torch.where((a != b).unsqueeze(1), xb, 0.0)


class Graclus(torch.nn.Module):
    r"""Graclus pooling: merge the pairs of :func:`graclus` (no parameters).

    A merged node's features are the ``reduce`` (``"max"`` as in PyG's
    ``max_pool``, ``"mean"`` as in ``avg_pool``, or ``"sum"``) of its members'.
    Edges that become parallel are joined and their ``edge_attr``/``edge_weight``
    summed; self-loops made by merging are removed (as PyG's ``pool_edge`` does).
    Output nodes are ordered by their smallest member, as PyG's
    ``consecutive_cluster`` orders them.  With ``edge_weight`` the matching uses
    the weights.

    Args:
        in_channels: for a uniform pooler signature: when given, ``x`` must have that
            many columns (a check; the pooling works for any width).
        reduce: ``"max"`` (default), ``"mean"`` or ``"sum"``.
        seed: tie-breaking seed of :func:`graclus` (default 0: deterministic).
    """

    def __init__(self, in_channels: Optional[int] = None, reduce: str = "max", *, seed: Optional[int] = 0):
        super().__init__()
        check_int(in_channels, "Graclus", "in_channels", allow_none=True)
        if reduce not in _REDUCES:
            raise ValueError(f"Graclus: 'reduce' must be one of {', '.join(_REDUCES)}, got {reduce!r}")
        if seed is not None and (not is_int(seed) or not -(2**63) <= seed < 2**64):
            raise ValueError(f"Graclus: 'seed' must be an int in [-2**63, 2**64) or None, got {seed!r}")
        self.in_channels = in_channels
        self.reduce = reduce
        self.seed = seed

    def reset_parameters(self) -> None:
        pass

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> PoolOutput:
        """Pool a batch; ``sizes`` as in :meth:`EdgePool.forward` (the heaviest pairs merge first)."""
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "Graclus",
            self.in_channels,
            nonnegative_weights="the normalized cut divides by weighted degrees",
        )
        sizes = check_sizes(sizes, batch, "Graclus")
        n = x.size(0)
        budget = None if sizes is None else _merge_budget(batch, sizes)
        raw = _graclus(edge_index, edge_weight, n, self.seed, batch, budget)
        # raw[i] is the smallest member of i's pair (i itself when unmatched or the smaller one):
        # the pairs' smaller members `first` number the output nodes in order.
        second = (raw != torch.arange(n, device=x.device)).nonzero().view(-1)
        is_first = torch.ones(n, dtype=torch.bool, device=x.device)
        is_first[second] = False
        first = is_first.nonzero().view(-1)
        cluster = torch.cumsum(is_first, 0) - 1
        cluster[second] = cluster[raw[second]]
        partner = torch.arange(n, device=x.device)  # of every first member: its pair's other member
        partner[raw[second]] = second
        new_x = _pair_reduce(x, first, partner[first], self.reduce)
        new_ei, new_ea, new_ew = _contract_edges(
            edge_index, cluster, first.numel(), edge_attr, edge_weight, keep_self_loops=False
        )
        return PoolOutput(
            x=new_x,
            edge_index=new_ei,
            edge_attr=new_ea,
            batch=batch[first],
            perm=None,
            score=None,
            cluster=cluster,
            edge_weight=new_ew,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduce={self.reduce!r}, seed={self.seed})"
