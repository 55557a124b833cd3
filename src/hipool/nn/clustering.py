r"""Node-clustering poolers: :class:`DiffPool`, :class:`MinCutPool`, :class:`DMoNPool`.

An assignment network gives every node logits over ``C`` clusters,
``S = softmax(assign(x, A))``, and the graph is coarsened to
``X' = SᵀX``, ``A' = SᵀAS`` (see :mod:`hipool.nn.functional`).

All three take a sparse batch, ``(x, edge_index, edge_attr, batch, edge_weight=...)``,
like the selection poolers, and return a :class:`~hipool.record.PoolOutput`:

* ``x``: ``[Σ_g k_g, F]`` pooled features, ``k_g`` clusters for graph ``g``;
* ``edge_index``/``edge_weight``: the pooled adjacency as a weighted edge list
  (entries of ``A'``; optionally sparsified with ``edge_topk`` / ``edge_threshold``);
* ``edge_attr``: ``SᵀE_cS`` per channel ``c`` with ``pool_edge_attr=True``, else ``None``;
* ``cluster``: the hard assignment ``argmax S`` of every input node (for hierarchies);
* ``assignment``: the soft ``S`` per input node ``[N, C]``;
* ``aux_losses``: the method's losses by name (per graph, averaged over graphs): the
  functions of :mod:`hipool.nn.losses` that the pooler's :attr:`~ClusterPooling.method` names;
* ``mode``: ``"dense"`` or ``"sparse"``, the path this call took.

**Modes.**  ``mode="dense"`` pads the batch to ``[B, N_max, N_max]`` (fast for
small graphs); ``mode="sparse"`` never builds that tensor (memory grows with
edges × clusters and nodes × clusters); ``mode="auto"`` (default) is dense when the
largest graph of the batch has at most ``dense_max_nodes`` nodes, else sparse.
By default that threshold is ``clamp(32768 // C, 256, 1024)``: the crossover
measured by ``benchmarks/clustering_auto.py`` falls with the cluster count
(dense pays ``n²·C`` per graph, sparse ``n·C²`` plus a fixed overhead).
Both give the same values to float rounding.

**Small graphs.**  A graph with ``n_g < C`` nodes pools to ``k_g = n_g``
clusters: its assignment softmax runs over the first ``n_g`` clusters only, and
its orthogonality and cluster-size targets use ``k_g``.  Graphs with ``n_g ≥ C``
use all ``C``.  The clusters a graph cannot use have no edges; their pooled
degree is 0, and the normalisation ``D^-1/2 A' D^-1/2`` takes its gradient as 0
there (``torch.sqrt``'s would be NaN and poison every parameter).

**Scale.**  The defaults keep the pooled graph and the losses ``O(1)`` whatever the
graph and cluster sizes, so that they train: pooled features are cluster means
(``reduce="mean"``; PyG's ``SᵀX`` sums grow with the nodes per cluster, level after
level), and DiffPool's losses and pooled adjacency are normalised (see
:class:`DiffPool`).  ``reduce="sum"`` (and DiffPool's ``link_norm="nodes",
entropy_norm=False, adj_norm=False``) gives PyG's values exactly.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.nn import MLP
from torch_geometric.utils import to_dense_adj, to_dense_batch

from ..checks import check_bool, check_int, check_number, check_sizes, param_device, param_dtype, prepare_pool_input
from ..record import PoolOutput
from . import functional as Fn
from .cluster_core import LinearLogits
from .convs import CONV_NAMES, WEIGHTED_CONVS, degree_normalised, make_conv, run_conv

#: Assignment networks by name: a linear map, a 2-layer MLP, or a PyG conv.
ASSIGNERS = ("linear", "mlp") + CONV_NAMES
MODES = ("auto", "dense", "sparse")


def default_dense_max_nodes(num_clusters: int) -> int:
    """``mode="auto"``'s default: dense up to this many nodes in the largest graph."""
    return max(256, min(1024, 32768 // num_clusters))


class Assignment(torch.nn.Module):
    """Cluster logits ``[N, C]`` from node features (and, for a conv, the graph)."""

    def __init__(self, kind: str, in_channels: int, num_clusters: int, hidden: Optional[int] = None):
        super().__init__()
        if kind not in ASSIGNERS:
            raise ValueError(f"'assign' must be one of {', '.join(ASSIGNERS)}, got {kind!r}")
        self.kind = kind
        self.is_conv = kind in CONV_NAMES
        self.weighted = kind in WEIGHTED_CONVS
        if kind == "linear":
            self.net: torch.nn.Module = torch.nn.Linear(in_channels, num_clusters)
        elif kind == "mlp":
            self.net = MLP([in_channels, hidden or in_channels, num_clusters], norm=None)
        else:
            self.net = make_conv(kind, in_channels, num_clusters)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
        if self.is_conv:
            return run_conv(self.net, self.weighted, x, edge_index, edge_weight)
        return self.net(x)


def _one_of(value, name: str, allowed: Tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{where}: '{name}' must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _positive_int(value, name: str, where: str) -> int:
    hint = " (clustering poolers need an absolute cluster count, not a ratio)" if isinstance(value, float) else ""
    return check_int(value, where, name, hint=hint)


class ClusterPooling(torch.nn.Module):
    """Shared machinery of the clustering poolers (see the module docstring).

    Args:
        in_channels: width of ``x``.
        num_clusters: ``C``, clusters per graph (an int >= 1).
        assign: the assignment network: ``"linear"``, ``"mlp"`` or a conv
            (``"gcn"``, ``"graphconv"``, ``"sage"``, ``"gin"``).
        assign_hidden: hidden width of the ``"mlp"`` assignment (default ``in_channels``).
        mode: ``"auto"``, ``"dense"`` or ``"sparse"``.
        dense_max_nodes: the ``auto`` threshold on the largest graph's size
            (default :func:`default_dense_max_nodes`).
        dropout: dropout on the assignment logits (training only).
        edge_topk: keep only each pooled node's ``edge_topk`` strongest out-edges.
        edge_threshold: drop pooled edges with ``|weight| < edge_threshold`` (a finite number >= 0).
        pool_edge_attr: carry multi-dimensional ``edge_attr`` as ``SᵀE_cS`` per channel.
        reduce: pooled features: ``"mean"`` (default) ``SᵀX`` divided by each cluster's soft
            size ``Σ_i S_ic``, so their scale does not grow with the nodes per cluster (the
            DMoN authors' code pools so); ``"sum"`` is ``SᵀX`` as in PyG.

    Every argument is checked when the pooler is built (``ValueError`` naming it).  In
    ``forward``, ``edge_weight`` must be finite, and ``>= 0`` where the method reads the weights
    as degrees (MinCut, DMoN; DiffPool with ``adj_norm`` or a ``gcn`` assignment); ``edge_attr``
    must be finite.
    """

    kind: str = ""
    #: The names of the method's losses, the keys of ``aux_losses``.
    LOSSES: Tuple[str, ...] = ()
    keep_self_loops: bool = False

    def __init__(
        self,
        in_channels: int,
        num_clusters: int,
        *,
        assign: str = "linear",
        assign_hidden: Optional[int] = None,
        mode: str = "auto",
        dense_max_nodes: Optional[int] = None,
        dropout: float = 0.0,
        edge_topk: Optional[int] = None,
        edge_threshold: Optional[float] = None,
        pool_edge_attr: bool = False,
        reduce: str = "mean",
    ):
        super().__init__()
        where = type(self).__name__
        self.in_channels = _positive_int(in_channels, "in_channels", where)
        self.num_clusters = _positive_int(num_clusters, "num_clusters", where)
        if not isinstance(assign, str) or assign not in ASSIGNERS:
            raise ValueError(f"{where}: 'assign' must be one of {', '.join(ASSIGNERS)}, got {assign!r}")
        assign_hidden = check_int(assign_hidden, where, "assign_hidden", allow_none=True)
        self.mode = _one_of(mode, "mode", MODES, where)
        self.dense_max_nodes = (
            default_dense_max_nodes(self.num_clusters)
            if dense_max_nodes is None
            else _positive_int(dense_max_nodes, "dense_max_nodes", where)
        )
        self.dropout = check_number(dropout, where, "dropout", low=0, high=1, high_open=True)
        self.edge_topk = check_int(edge_topk, where, "edge_topk", allow_none=True)
        # inf would keep no pooled edge at all; NaN compares false with everything.
        self.edge_threshold = check_number(edge_threshold, where, "edge_threshold", low=0, allow_none=True)
        self.pool_edge_attr = check_bool(pool_edge_attr, where, "pool_edge_attr")
        self.reduce = _one_of(reduce, "reduce", Fn.REDUCES, where)
        self.assign = Assignment(assign, in_channels, num_clusters, assign_hidden)

    # -- subclass hooks ----------------------------------------------------
    @property
    def method(self) -> Fn.ClusterMethod:
        """The :class:`~hipool.nn.functional.ClusterMethod` this pooler runs, with its options
        (losses, pooled adjacency, activation of the pooled features)."""
        raise NotImplementedError(f"{type(self).__name__} must define 'method'")

    def _scaled(self, logits: Tensor) -> Tensor:
        """The logits the softmax reads (MinCut divides by its temperature).  Must be linear: a
        ``"linear"`` assignment on the sparse path applies it to the weight and the bias."""
        return logits

    def _nonnegative_weights(self) -> Optional[str]:
        """Why this pooler needs ``edge_weight >= 0``, or ``None`` when negative weights are fine."""
        if self.method.nonnegative is not None:
            return self.method.nonnegative
        if self.assign.weighted and degree_normalised(self.assign.net):
            return f"the {self.assign.kind!r} assignment normalises by weighted degrees"
        return None

    # -- forward -------------------------------------------------------------
    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> PoolOutput:
        """Pool a batch.  ``sizes`` ``[B]`` (``schedule: auto``, :mod:`hipool.nn.auto`): the most
        clusters each graph may use here, on top of ``num_clusters``; a graph that is no larger than
        both keeps its nodes: its assignment is the identity (no gradient through it)."""
        where = type(self).__name__
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            where,
            self.in_channels,
            dtype=param_dtype(self),
            device=param_device(self),
            nonnegative_weights=self._nonnegative_weights(),
        )
        n = x.size(0)
        if n == 0:
            return self._empty(x, edge_attr)
        sizes = check_sizes(sizes, batch, where)
        num_graphs = int(batch[-1]) + 1
        counts = torch.bincount(batch, minlength=num_graphs)
        C = self.num_clusters
        k = counts.clamp(max=C)  # clusters per graph: as many as the graph can use
        skip = None
        if sizes is not None:
            sizes = sizes[:num_graphs]
            skip = (counts <= sizes) & (counts <= C)  # graphs small enough to keep every node
            k = torch.minimum(k, sizes)
        cluster_mask = torch.arange(C, device=x.device) < k.view(-1, 1)  # [B, C]

        n_max = int(counts.max())
        mode = self.mode if self.mode != "auto" else ("dense" if n_max <= self.dense_max_nodes else "sparse")
        identity = skip if skip is not None and bool(skip.any()) else None
        if sizes is not None and int(k.max()) < C:
            # No graph of the batch uses the last columns (an auto level's cap is for the largest
            # graphs): drop them, so the dense [B, C, C] work is sized by this batch, not the cap.
            C = int(k.max())
            cluster_mask = cluster_mask[:, :C]
        small = bool((k < C).any())
        sparse = mode == "sparse" and identity is None
        if sparse and self.assign.kind == "linear" and not (self.dropout and self.training):
            # The core forms the logits, their softmax and its gradient a chunk of rows at a time:
            # no [N, C] tensor but S (_scaled is linear in the logits: it scales the weights).
            lin = self.assign.net
            assert isinstance(lin, torch.nn.Linear)
            bias = self._scaled(lin.bias[:C]) if lin.bias is not None else None
            head = LinearLogits(x, self._scaled(lin.weight[:C]), bias, cluster_mask if small else None)
            r = Fn.sparse_core(
                self.method, x, edge_index, edge_weight, head, batch, num_graphs, counts, cluster_mask,
                reduce=self.reduce,
            )  # fmt: skip
            S = r.S
            Fn._check_s_finite(S, where, batch)
        else:
            logits = self._scaled(self.assign(x, edge_index, edge_weight))[:, :C]
            Fn._check_s_finite(logits, where, batch)
            if self.dropout and self.training:
                logits = torch.nn.functional.dropout(logits, self.dropout)
            if small:
                logits = logits.masked_fill(~cluster_mask[batch], float("-inf"))
            if sparse:
                # The core takes the softmax in place: its backward needs one [N, C] tensor less.
                r = Fn.sparse_core(
                    self.method, x, edge_index, edge_weight, logits, batch, num_graphs, counts, cluster_mask,
                    reduce=self.reduce, logits=True,
                )  # fmt: skip
                S = r.S
            else:
                S = torch.softmax(logits, dim=-1)
                if identity is not None:
                    local = torch.arange(n, device=x.device) - (torch.cumsum(counts, 0) - counts)[batch]
                    eye = torch.nn.functional.one_hot(local.clamp(max=C - 1), C).to(S.dtype)
                    S = torch.where(identity[batch].view(-1, 1), eye, S)
                if mode == "dense":
                    xd, mask = to_dense_batch(x, batch, batch_size=num_graphs, max_num_nodes=n_max)
                    Sd, _ = to_dense_batch(S, batch, batch_size=num_graphs, max_num_nodes=n_max)
                    adj = to_dense_adj(edge_index, batch, edge_weight, max_num_nodes=n_max, batch_size=num_graphs)
                    r = Fn.dense_core(self.method, xd, adj.to(x.dtype), Sd, mask, cluster_mask, reduce=self.reduce)
                else:
                    r = Fn.sparse_core(
                        self.method, x, edge_index, edge_weight, S, batch, num_graphs, counts, cluster_mask,
                        reduce=self.reduce,
                    )  # fmt: skip
            del logits

        pooled_attr = None
        if self.pool_edge_attr and edge_attr is not None:
            pooled_attr = _pool_edge_attr(edge_index, edge_attr, S, batch, num_graphs, counts)

        # Hard assignment: input node -> global output node.
        offset = torch.cumsum(k, 0) - k
        cluster = offset[batch] + S.argmax(dim=-1)
        out_x = r.out[cluster_mask]
        out_batch = torch.repeat_interleave(torch.arange(num_graphs, device=x.device), k)
        ei, ew, ea = _pooled_edges(
            r.out_adj, pooled_attr, cluster_mask, offset, self.keep_self_loops, self.edge_topk, self.edge_threshold
        )
        return PoolOutput(
            x=out_x,
            edge_index=ei,
            edge_attr=ea,
            batch=out_batch,
            perm=None,
            score=None,
            cluster=cluster,
            assignment=S,
            aux_losses=dict(r.losses),
            edge_weight=ew,
            mode=mode,
        )

    def _empty(self, x: Tensor, edge_attr: Optional[Tensor]) -> PoolOutput:
        """The record of a batch with no nodes: no clusters, no edges, every loss 0 (the mean
        over no graphs, as :func:`~hipool.nn.functional.graph_mean` takes it)."""
        ea = None
        if self.pool_edge_attr and edge_attr is not None:
            width = 1 if edge_attr.dim() == 1 else edge_attr[0:0].flatten(1).size(1)
            ea = x.new_zeros(0, width)
        losses = {name: x.new_zeros(()) for name in self.LOSSES}
        return empty_record(x, ea, self.num_clusters, losses, "dense" if self.mode == "auto" else self.mode)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, num_clusters={self.num_clusters}, assign={self.assign.kind!r}, "
            f"mode={self.mode!r}, reduce={self.reduce!r}"
        )


def empty_record(
    x: Tensor,
    edge_attr: Optional[Tensor],
    num_clusters: int,
    aux_losses: dict,
    mode: str,
    cls: type = PoolOutput,
    **extra,
) -> PoolOutput:
    """The record (``cls``, with ``extra`` fields) a clustering pooler gives a batch with no nodes:
    no clusters and no edges; ``edge_attr`` the pooled edge features' empty tensor (or ``None``)."""
    none = x.new_zeros(0, dtype=torch.long)
    return cls(
        x=x.new_zeros(0, x.size(1)),
        edge_index=x.new_zeros(2, 0, dtype=torch.long),
        edge_attr=edge_attr,
        batch=none,
        perm=None,
        score=None,
        cluster=none,
        assignment=x.new_zeros(0, num_clusters),
        aux_losses=aux_losses,
        edge_weight=x.new_zeros(0),
        mode=mode,
        **extra,
    )


def _pool_edge_attr(
    edge_index: Tensor, edge_attr: Tensor, S: Tensor, batch: Tensor, num_graphs: int, counts: Tensor
) -> Tensor:
    """``SᵀE_cS`` for every channel ``c`` of ``edge_attr``: ``[B, C, C, D]``.

    One path for both modes: ``E_c S`` over the edges, then ``Sᵀ(E_c S)`` per graph
    (memory ``nodes × clusters × channels``; a padded ``[B, N, N, D]`` would only cost more).
    """
    ea = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr.flatten(1)
    ea = ea.to(S.dtype)
    N, C, D = S.size(0), S.size(1), ea.size(1)
    es = torch.stack([Fn.gather_as(edge_index, ea[:, d], S) for d in range(D)], 1)  # E_c S: [N, D, C]
    out = Fn.segment_tmm(S, es.view(N, D * C), batch, num_graphs, counts)  # [B, C, D*C]
    return out.view(num_graphs, C, D, C).permute(0, 1, 3, 2)


def _pooled_edges(
    out_adj: Tensor,
    pooled_attr: Optional[Tensor],
    cluster_mask: Tensor,
    offset: Tensor,
    keep_self_loops: bool,
    topk: Optional[int],
    threshold: Optional[float],
):
    """The pooled ``[B, C, C]`` adjacency as a weighted edge list over the valid clusters."""
    C = out_adj.size(-1)
    a = out_adj.detach()
    keep = cluster_mask.unsqueeze(2) & cluster_mask.unsqueeze(1) & (a != 0)
    if not keep_self_loops:
        keep &= ~torch.eye(C, dtype=torch.bool, device=a.device)
    if threshold is not None:
        keep &= a.abs() >= threshold
    if topk is not None and topk < C:
        strength = a.abs().masked_fill(~keep, -1.0)
        idx = strength.topk(topk, dim=-1).indices
        keep &= torch.zeros_like(keep).scatter_(-1, idx, True)
    b, i, j = keep.nonzero(as_tuple=True)
    edge_index = torch.stack([offset[b] + i, offset[b] + j])
    edge_attr = pooled_attr[b, i, j] if pooled_attr is not None else None
    return edge_index, out_adj[b, i, j], edge_attr


class DiffPool(ClusterPooling):
    r"""DiffPool (Ying et al., "Hierarchical Graph Representation Learning with Differentiable
    Pooling", NeurIPS 2018): ``X' = SᵀX`` (cluster means by default, see ``reduce``),
    ``A' = SᵀAS`` (self-loops kept).

    Losses: ``link`` ``‖A − SSᵀ‖_F`` (:func:`~hipool.nn.losses.diffpool_link_loss`) and
    ``entropy``, the mean row entropy of ``S`` (:func:`~hipool.nn.losses.diffpool_entropy_loss`).
    The paper's assignment is a GNN; the default here is ``assign="gcn"``
    (edge-weight aware, so it works on pooled graphs).

    The defaults keep every term of the training loss ``O(1)`` at every level, where
    PyG's do not (``reduce="sum", link_norm="nodes", entropy_norm=False,
    adj_norm=False`` is PyG's ``dense_diff_pool`` exactly):

    * ``link_norm="relative"``: ``‖A − SSᵀ‖_F / ‖A‖_F``, 1 for a uniform ``S``.  PyG's
      ``/ n²`` (``"nodes"``) is ~1e-3 at 200 nodes, too small to steer ``S``; undivided
      (``"none"``) it grows with the graph.
    * ``entropy_norm=True``: the entropy over its maximum ``log k``, in ``[0, 1]``
      (raw, it is ``log C`` ≈ 4.6 for a uniform ``S`` with 100 clusters).
    * ``adj_norm=True``: ``A'`` as ``D^-1/2 A' D^-1/2`` (self-loops kept).  Raw ``SᵀAS``
      weights grow with the square of the cluster size, level after level; the next
      level's link loss compares them with ``SSᵀ ∈ [0, 1]``, and a sum-aggregating conv
      (``graphconv``) multiplies the features by them.
    """

    kind = "diffpool"
    LOSSES = tuple(Fn.diffpool_method().losses)
    keep_self_loops = True

    def __init__(
        self,
        in_channels: int,
        num_clusters: int,
        *,
        assign: str = "gcn",
        link_norm: str = "relative",
        entropy_norm: bool = True,
        adj_norm: bool = True,
        **kwargs,
    ):
        super().__init__(in_channels, num_clusters, assign=assign, **kwargs)
        self.link_norm = _one_of(link_norm, "link_norm", Fn.LINK_NORMS, "DiffPool")
        self.entropy_norm = check_bool(entropy_norm, "DiffPool", "entropy_norm")
        self.adj_norm = check_bool(adj_norm, "DiffPool", "adj_norm")

    @property
    def method(self) -> Fn.ClusterMethod:
        return Fn.diffpool_method(self.link_norm, self.entropy_norm, self.adj_norm)


class MinCutPool(ClusterPooling):
    r"""MinCutPool (Bianchi et al., "Spectral Clustering with Graph Neural Networks for Graph
    Pooling", ICML 2020).

    Losses: ``mincut`` ``−tr(SᵀAS)/tr(SᵀDS)`` (:func:`~hipool.nn.losses.mincut_loss`) and ``ortho``
    ``‖SᵀS/‖SᵀS‖_F − I/√k‖_F`` (:func:`~hipool.nn.losses.orthogonality_loss`).  The pooled
    adjacency has a zero diagonal and is normalised ``D^-1/2 A' D^-1/2``.  Assignment:
    ``"linear"`` by default (the paper's MLP on top of the preceding conv); ``temp`` (a finite
    number > 0) divides the logits.  ``edge_weight`` must be ``>= 0``.
    """

    kind = "mincut"
    LOSSES = tuple(Fn.MINCUT.losses)
    method = Fn.MINCUT

    def __init__(self, in_channels: int, num_clusters: int, *, assign: str = "linear", temp: float = 1.0, **kwargs):
        super().__init__(in_channels, num_clusters, assign=assign, **kwargs)
        self.temp = check_number(temp, "MinCutPool", "temp", low=0, low_open=True)

    def _scaled(self, logits: Tensor) -> Tensor:
        return logits / self.temp if self.temp != 1.0 else logits


class DMoNPool(ClusterPooling):
    r"""DMoN (Tsitsulin et al., "Graph Clustering with Graph Neural Networks", JMLR 2023).

    ``X' = selu(SᵀX)`` (of the cluster means by default, as the authors' code; PyG's
    ``DMoNPooling`` sums: ``reduce="sum"``).  Losses: ``spectral`` (negative modularity,
    :func:`~hipool.nn.losses.dmon_spectral_loss`), ``ortho`` and ``cluster`` (collapse regulariser
    ``‖Σ_i S_i‖ √k / n − 1``, :func:`~hipool.nn.losses.dmon_cluster_loss`).  With
    ``assign="linear"`` (default) and ``dropout``, the assignment is PyG
    ``DMoNPooling``'s ``mlp``.  ``edge_weight`` must be ``>= 0``.
    """

    kind = "dmon"
    LOSSES = tuple(Fn.DMON.losses)
    method = Fn.DMON
