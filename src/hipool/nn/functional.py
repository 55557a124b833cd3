r"""Clustering pooling as functions: dense forms with PyG's signatures, and sparse twins.

A clustering pooler assigns every node softly to ``C`` clusters,
``S = softmax(s)``, and coarsens features and adjacency as

.. math::
    X' = S^\top X, \qquad A' = S^\top A S .

Dense forms take padded ``[B, N, ·]`` tensors, exactly like PyG's
``dense_diff_pool``, ``dense_mincut_pool`` and ``DMoNPooling``:

* :func:`dense_diff_pool` ``(x, adj, s, mask=None, normalize=True) -> (out, out_adj, link_loss, ent_loss)``
* :func:`dense_mincut_pool` ``(x, adj, s, mask=None, temp=1.0) -> (out, out_adj, mincut_loss, ortho_loss)``
* :func:`dense_dmon_pool` ``(x, adj, s, mask=None) -> (out, out_adj, spectral_loss, ortho_loss, cluster_loss)``

The sparse twins :func:`diff_pool`, :func:`mincut_pool` and :func:`dmon_pool`
take ``(x, edge_index, s, batch, edge_weight=None)`` with ``s`` given per node
(``[N, C]``) and return the same values.  They never build a ``[B, N, N]``
tensor: ``AS`` is gathered over the edges and ``SᵀY`` is taken graph by graph,
so memory grows with ``edges × clusters`` and ``nodes × clusters``.

``s`` is always the *logits* of the assignment; the softmax is taken here (as in PyG).

**Methods.**  A method is a :class:`ClusterMethod`: its named losses (the functions of
:mod:`hipool.nn.losses`), how its pooled adjacency is formed from ``SᵀAS`` and the activation
of its pooled features.  :data:`MINCUT`, :data:`DMON` and :func:`diffpool_method` are PyG's
definitions; the poolers of :mod:`hipool.nn.clustering` pass their own options (DiffPool's
``link_norm``, ``entropy_norm`` and ``adj_norm``) and ``reduce="mean"``.  :func:`dense_core`
and :func:`sparse_core` run any method: a new one is a new :class:`ClusterMethod`.

**Auxiliary losses are per graph, then averaged over the graphs of the batch**
(graphs with no nodes are left out of the average).  The loss of a batch
therefore equals the mean of the losses of its graphs taken one at a time,
whatever the batch size or padding.  Where PyG already does this (MinCut's
two losses; DMoN's three) our values equal PyG's on any batch.  PyG's
``dense_diff_pool`` instead takes one Frobenius norm over the whole padded
batch divided by ``B·N_max²``, and an entropy averaged over padded rows; ours
equals PyG's for one unpadded graph, and for a batch it equals the mean of PyG's
values for each graph alone (PyG issue #8284 is this bug class).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, Mapping, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import check_graph, checks_enabled

# The kernels lived here before hipool.ops; kept importable from this module.
from ..ops import csr_crow, csr_tensor, gather_as, segment_gram, segment_mm, segment_sum, segment_tmm  # noqa: F401
from .cluster_core import LinearLogits
from .losses import (  # noqa: F401
    EPS,
    LINK_NORMS,
    Coarsening,
    DenseCoarsening,
    SparseCoarsening,
    diffpool_entropy_loss,
    diffpool_link_loss,
    dmon_cluster_loss,
    dmon_spectral_loss,
    mincut_loss,
    orthogonality_loss,
    safe_sqrt,
)

__all__ = [
    "dense_diff_pool",
    "dense_mincut_pool",
    "dense_dmon_pool",
    "diff_pool",
    "mincut_pool",
    "dmon_pool",
    "REDUCES",
    "ClusterMethod",
    "diffpool_method",
    "MINCUT",
    "DMON",
    "Pooled",
    "coarsen",
    "dense_core",
    "sparse_core",
]


# ---------------------------------------------------------------------------
# pooled features and adjacency
# ---------------------------------------------------------------------------
def graph_mean(values: Tensor, num_nodes: Tensor) -> Tensor:
    """Mean of per-graph ``values`` over the graphs that have nodes (0 if none); no host sync."""
    valid = num_nodes > 0
    return torch.where(valid, values, 0.0).sum() / valid.sum().clamp_min(1)


#: The pooled features, ``sum`` ``SᵀX`` (PyG) or ``mean`` ``SᵀX`` over the cluster's soft size.
REDUCES = ("sum", "mean")


def cluster_mean(out: Tensor, size: Tensor) -> Tensor:
    """``SᵀX`` ``[B, C, F]`` divided by each cluster's soft size ``Σ_i S_ic`` ``[B, C]``.

    A cluster a graph cannot use has size 0 and stays 0 (its gradient too).  A cluster whose
    size is below ``√tiny`` of its dtype (1e-19 in float32; the softmax gives such sizes when
    the logits saturate, e.g. with a small MinCut ``temp``) is divided by ``√tiny`` instead:
    its features shrink continuously to the 0 of an empty cluster.  Dividing by the size itself
    has the derivative ``−mean / size``, which overflows to inf for a denormal size (the true
    gradient at the logits is finite, but ``inf · 0`` is NaN in every parameter).  Where the
    size is at least ``√tiny`` values and gradients are the plain quotient's.
    """
    floor = torch.finfo(size.dtype).tiny ** 0.5
    den = torch.where(size > 0, size.clamp_min(floor), torch.ones_like(size))
    return out / den.unsqueeze(-1)


def sym_normalize(out_adj: Tensor) -> Tensor:
    """``D^-1/2 A' D^-1/2`` (DiffPool with ``adj_norm``, self-loops kept)."""
    d = safe_sqrt(out_adj.sum(-1))[:, None] + EPS
    return (out_adj / d) / d.transpose(1, 2)


def normalize_cut(out_adj: Tensor) -> Tensor:
    """MinCut/DMoN: zero the diagonal, then ``D^-1/2 A' D^-1/2`` (as PyG)."""
    c = out_adj.size(-1)
    return sym_normalize(out_adj * (1 - torch.eye(c, dtype=out_adj.dtype, device=out_adj.device)))


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
def _check_s_finite(s: Tensor, where: str, batch: Optional[Tensor] = None) -> None:
    if not checks_enabled() or bool(torch.isfinite(s.sum())):
        return
    found = (~torch.isfinite(s)).nonzero()
    if found.numel() == 0:
        return  # a sum of large finite logits overflowed: nothing is wrong
    bad = found[0].tolist()
    if s.dim() == 3:
        g, i = bad[0], bad[1]
    else:
        i = bad[0]
        g = int(batch[i]) if batch is not None else 0
    raise ValueError(
        f"{where}: 's' (cluster assignment) contains NaN/inf, first at graph {g}, "
        f"node {i}; check the assignment network's input"
    )


def _dense_inputs(
    x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor], where: str, nonnegative: Optional[str] = None
):
    for name, t in (("x", x), ("adj", adj), ("s", s)):
        if not isinstance(t, Tensor) or t.dim() not in (2, 3):
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{where}: '{name}' must be a [B, N, ·] (or [N, ·]) tensor, got {shape}")
        if not t.is_floating_point():
            raise ValueError(f"{where}: '{name}' has dtype {t.dtype}; it must be floating point (call .float())")
    for name, t in (("adj", adj), ("s", s)):
        if t.dtype != x.dtype or t.device != x.device:
            raise ValueError(
                f"{where}: '{name}' is {t.dtype} on {t.device} but 'x' is {x.dtype} on {x.device}; "
                f"give them one dtype and device"
            )
    if isinstance(mask, Tensor) and mask.device != x.device:
        raise ValueError(f"{where}: 'mask' is on {mask.device} but 'x' is on {x.device}")
    x = x.unsqueeze(0) if x.dim() == 2 else x
    adj = adj.unsqueeze(0) if adj.dim() == 2 else adj
    s = s.unsqueeze(0) if s.dim() == 2 else s
    b, n, _ = x.shape
    if adj.shape != (b, n, n):
        raise ValueError(
            f"{where}: 'adj' must have shape [B, N, N] = {[b, n, n]} to match 'x' "
            f"{list(x.shape)}, got {list(adj.shape)}"
        )
    if s.shape[:2] != (b, n):
        raise ValueError(f"{where}: 's' must have shape [B, N, C] with B, N = {b}, {n} as 'x', got {list(s.shape)}")
    c = s.size(-1)
    if c < 1:
        raise ValueError(f"{where}: 's' has 0 clusters; the cluster count must be >= 1")
    if c > n:
        raise ValueError(
            f"{where}: 's' has {c} clusters but the graphs have at most {n} nodes; use at most {n} clusters"
        )
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.shape != (b, n):
            got = list(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"{where}: 'mask' must have shape [B, N] = {[b, n]}, got {got}")
        mask = mask.bool()
    if checks_enabled() and x.numel() > 0:
        _check_dense_values(x, adj, mask, where, nonnegative)
    _check_s_finite(s, where)
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
    return x, adj, s, mask


def _check_dense_values(x: Tensor, adj: Tensor, mask: Optional[Tensor], where: str, nonnegative: Optional[str]) -> None:
    """Finite ``x`` and ``adj`` (``adj >= 0`` with ``nonnegative``, the reason), no edge at a padded
    node: one synchronisation, details only on failure."""
    x, adj = x.detach(), adj.detach()
    lo, hi = torch.aminmax(adj)  # NaN propagates to both
    flags = [torch.isfinite(x.sum()), torch.isfinite(lo) & torch.isfinite(hi)]
    if nonnegative is not None:
        flags.append(lo >= 0)
    stray = None
    if mask is not None:
        pad = ~mask
        stray = (adj != 0) & (pad.unsqueeze(2) | pad.unsqueeze(1))
        flags.append(~stray.any())
    if bool(torch.stack(flags).all()):
        return
    if not bool(torch.isfinite(x).all()):
        g, i = (~torch.isfinite(x)).any(-1).nonzero()[0].tolist()
        raise ValueError(f"{where}: 'x' contains NaN/inf, first at graph {g}, node {i}")
    bad = ~torch.isfinite(adj)
    if bool(bad.any()):
        g, i, j = bad.nonzero()[0].tolist()
        raise ValueError(f"{where}: 'adj' must be finite; graph {g} has {float(adj[g, i, j])} at edge ({i}, {j})")
    if nonnegative is not None and bool((adj < 0).any()):
        g, i, j = (adj < 0).nonzero()[0].tolist()
        raise ValueError(
            f"{where}: 'adj' must be >= 0 ({nonnegative}); graph {g} has {float(adj[g, i, j])} at edge ({i}, {j})"
        )
    if stray is not None and bool(stray.any()):
        g, i, j = stray.nonzero()[0].tolist()
        raise ValueError(
            f"{where}: 'mask' disagrees with 'adj': graph {g} has an edge ({i}, {j}) at a "
            f"node the mask marks as padding"
        )
    # Otherwise a sum of finite values overflowed: nothing is wrong.


def _sparse_inputs(
    x: Tensor,
    edge_index: Tensor,
    s: Tensor,
    batch: Optional[Tensor],
    edge_weight: Optional[Tensor],
    where: str,
    nonnegative: Optional[str] = None,
):
    x = x.view(-1, 1) if isinstance(x, Tensor) and x.dim() == 1 else x
    check_graph(x, edge_index, batch, None, where=where, edge_weight=edge_weight, nonnegative_weights=nonnegative)
    n = x.size(0)
    if not isinstance(s, Tensor) or s.dim() != 2 or s.size(0) != n:
        shape = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
        raise ValueError(f"{where}: 's' must have shape [num_nodes, C] = [{n}, C], got {shape}")
    if not s.is_floating_point() or s.dtype != x.dtype or s.device != x.device:
        raise ValueError(
            f"{where}: 's' is {s.dtype} on {s.device}; it must be floating point with the dtype and "
            f"device of 'x' ({x.dtype} on {x.device})"
        )
    if isinstance(edge_weight, Tensor) and edge_weight.dtype != x.dtype:
        raise ValueError(
            f"{where}: 'edge_weight' has dtype {edge_weight.dtype} but 'x' has {x.dtype}; give them "
            f"one dtype (edge_weight.to(x.dtype))"
        )
    if s.size(1) < 1:
        raise ValueError(f"{where}: 's' has 0 clusters; the cluster count must be >= 1")
    if n == 0:
        raise ValueError(f"{where}: the batch has no nodes")
    if batch is None:
        batch = edge_index.new_zeros(n)
    num_graphs = int(batch[-1]) + 1
    counts = torch.bincount(batch, minlength=num_graphs)
    if s.size(1) > int(counts.max()):
        raise ValueError(
            f"{where}: 's' has {s.size(1)} clusters but the largest graph has "
            f"{int(counts.max())} nodes; use at most that many clusters"
        )
    _check_s_finite(s, where, batch)
    return x, batch, num_graphs, counts


# ---------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------
def _unchanged(t: Tensor) -> Tensor:
    return t


#: Why MinCut and DMoN need non-negative edge weights (the checks' message).
MINCUT_WEIGHTS = "MinCut's cut loss and D^-1/2 A' D^-1/2 read the weights as degrees"
DMON_WEIGHTS = "DMoN's modularity and D^-1/2 A' D^-1/2 read the weights as degrees"
ADJ_NORM_WEIGHTS = "adj_norm=True normalises the pooled adjacency by D^-1/2, the weighted degrees"


@dataclass(frozen=True, eq=False)
class ClusterMethod:
    """What makes one clustering method, for :func:`dense_core` and :func:`sparse_core`.

    Args:
        losses: name → loss of a :class:`~hipool.nn.losses.Coarsening`, one value per graph
            ``[B]`` (the cores average it over the graphs).
        connect: the pooled adjacency ``A'`` from ``SᵀAS`` ``[B, C, C]`` (default: unchanged).
        activation: applied to the pooled features ``[B, C, F]`` (default: none).
        nonnegative: why the method needs ``edge_weight >= 0`` (the checks' message), or
            ``None`` when negative weights are fine.
    """

    losses: Mapping[str, Callable[[Coarsening], Tensor]]
    connect: Callable[[Tensor], Tensor] = _unchanged
    activation: Callable[[Tensor], Tensor] = _unchanged
    nonnegative: Optional[str] = None


def diffpool_method(link_norm: str = "nodes", entropy_norm: bool = False, adj_norm: bool = False) -> ClusterMethod:
    """DiffPool: losses ``link`` (:func:`~hipool.nn.losses.diffpool_link_loss` with ``link_norm``)
    and ``entropy`` (:func:`~hipool.nn.losses.diffpool_entropy_loss` with ``entropy_norm``);
    ``A' = SᵀAS``, or ``D^-1/2 A' D^-1/2`` with ``adj_norm`` (self-loops kept).  The defaults
    are PyG's ``dense_diff_pool``."""
    return ClusterMethod(
        losses={
            "link": partial(diffpool_link_loss, link_norm=link_norm),
            "entropy": partial(diffpool_entropy_loss, entropy_norm=entropy_norm),
        },
        connect=sym_normalize if adj_norm else _unchanged,
        nonnegative=ADJ_NORM_WEIGHTS if adj_norm else None,
    )


#: MinCutPool, with the losses ``mincut`` and ``ortho`` and ``A'`` with a zero diagonal,
#: ``D^-1/2 A' D^-1/2``.
MINCUT = ClusterMethod(
    losses={"mincut": mincut_loss, "ortho": orthogonality_loss}, connect=normalize_cut, nonnegative=MINCUT_WEIGHTS
)

#: DMoN, with the losses ``spectral``, ``ortho`` and ``cluster``, MinCut's ``A'`` and ``selu`` on
#: the pooled features.
DMON = ClusterMethod(
    losses={"spectral": dmon_spectral_loss, "ortho": orthogonality_loss, "cluster": dmon_cluster_loss},
    connect=normalize_cut,
    activation=F.selu,
    nonnegative=DMON_WEIGHTS,
)


# ---------------------------------------------------------------------------
# cores: probabilities S in, per-graph losses out
# ---------------------------------------------------------------------------
class Pooled:
    """What a core returns: ``out [B, C, F]``, ``out_adj [B, C, C]``, named scalar losses and the
    assignment probabilities ``S`` it coarsened with (laid out as the core's input)."""

    __slots__ = ("out", "out_adj", "losses", "S")

    def __init__(self, out: Tensor, out_adj: Tensor, losses: Dict[str, Tensor], S: Tensor):
        self.out, self.out_adj, self.losses, self.S = out, out_adj, losses, S


def coarsen(method: ClusterMethod, c: Coarsening, reduce: str = "sum") -> Pooled:
    """``method`` on the coarsening ``c`` (built with its node features ``x``): ``SᵀX`` (over each
    cluster's soft size with ``reduce="mean"``, see :data:`REDUCES`), the pooled adjacency and
    every loss averaged over the graphs."""
    out = c.pooled_x
    if reduce == "mean":
        out = cluster_mean(out, c.cluster_size)
    losses = {name: graph_mean(loss(c), c.num_nodes) for name, loss in method.losses.items()}
    return Pooled(method.activation(out), method.connect(c.pooled_adj), losses, c.S)


def dense_core(
    method: ClusterMethod, x: Tensor, adj: Tensor, S: Tensor, mask: Tensor, cluster_mask: Tensor, *, reduce: str = "sum"
) -> Pooled:
    """Dense coarsening and losses.  ``S`` holds probabilities; padded rows (``mask``) are zeroed.

    ``cluster_mask [B, C]`` marks the clusters each graph may use; ``reduce`` is one of
    :data:`REDUCES` (default PyG's ``sum``).
    """
    x = x * mask.unsqueeze(-1).to(x.dtype)
    return coarsen(method, DenseCoarsening(adj, S, mask, cluster_mask, x), reduce)


def sparse_core(
    method: ClusterMethod,
    x: Tensor,
    edge_index: Tensor,
    edge_weight: Optional[Tensor],
    S: Union[Tensor, LinearLogits],
    batch: Tensor,
    num_graphs: int,
    counts: Tensor,
    cluster_mask: Tensor,
    *,
    reduce: str = "sum",
    logits: bool = False,
) -> Pooled:
    """Sparse coarsening and losses: no ``[B, N, N]`` tensor.  ``S`` holds probabilities ``[N, C]``,
    or with ``logits=True`` logits that are overwritten by their softmax, or is a
    :class:`~hipool.nn.cluster_core.LinearLogits` (see
    :func:`~hipool.nn.cluster_core.sparse_products`; the result's ``S`` holds the probabilities).
    ``reduce`` and ``cluster_mask`` are :func:`dense_core`'s."""
    c = SparseCoarsening(
        edge_index, edge_weight, S, batch, cluster_mask, num_graphs=num_graphs, counts=counts, x=x, logits=logits
    )
    return coarsen(method, c, reduce)


# ---------------------------------------------------------------------------
# public dense forms (PyG signatures)
# ---------------------------------------------------------------------------
def _all_clusters(b: int, c: int, device) -> Tensor:
    return torch.ones(b, c, dtype=torch.bool, device=device)


def _pyg_diffpool(normalize: bool) -> ClusterMethod:
    """PyG's ``dense_diff_pool``: the link loss over ``n²`` with ``normalize``, else undivided."""
    return diffpool_method(link_norm="nodes" if normalize else "none")


def dense_diff_pool(
    x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, normalize: bool = True
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""DiffPool (Ying et al., NeurIPS 2018) on padded tensors.

    Returns ``(SᵀX, SᵀAS, link_loss, entropy_loss)``: per graph
    ``‖A − SSᵀ‖_F / n²`` (``/ n²`` only with ``normalize``) and the mean entropy
    of the node assignments, averaged over graphs.
    """
    x, adj, s, mask = _dense_inputs(x, adj, s, mask, "dense_diff_pool")
    r = dense_core(
        _pyg_diffpool(normalize), x, adj, torch.softmax(s, -1), mask, _all_clusters(x.size(0), s.size(-1), x.device)
    )
    return r.out, r.out_adj, r.losses["link"], r.losses["entropy"]


def dense_mincut_pool(
    x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, temp: float = 1.0
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""MinCutPool (Bianchi et al., ICML 2020) on padded tensors.

    Returns ``(SᵀX, Â', mincut_loss, ortho_loss)`` where ``Â'`` is ``SᵀAS`` with a
    zero diagonal, symmetrically degree-normalised (as PyG).  ``temp`` divides
    the logits before the softmax (PyG's argument).
    """
    x, adj, s, mask = _dense_inputs(x, adj, s, mask, "dense_mincut_pool", MINCUT.nonnegative)
    S = torch.softmax(s / temp if temp != 1.0 else s, -1)
    r = dense_core(MINCUT, x, adj, S, mask, _all_clusters(x.size(0), s.size(-1), x.device))
    return r.out, r.out_adj, r.losses["mincut"], r.losses["ortho"]


def dense_dmon_pool(
    x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    r"""DMoN (Tsitsulin et al., JMLR 2023) on padded tensors: the pooling of PyG's ``DMoNPooling``
    given its assignment logits.

    Returns ``(selu(SᵀX), Â', spectral_loss, ortho_loss, cluster_loss)``.
    """
    x, adj, s, mask = _dense_inputs(x, adj, s, mask, "dense_dmon_pool", DMON.nonnegative)
    r = dense_core(DMON, x, adj, torch.softmax(s, -1), mask, _all_clusters(x.size(0), s.size(-1), x.device))
    return r.out, r.out_adj, r.losses["spectral"], r.losses["ortho"], r.losses["cluster"]


# ---------------------------------------------------------------------------
# public sparse twins
# ---------------------------------------------------------------------------
def _sparse(method: ClusterMethod, where: str, x, edge_index, s, batch, edge_weight) -> Pooled:
    x, batch, num_graphs, counts = _sparse_inputs(x, edge_index, s, batch, edge_weight, where, method.nonnegative)
    S = torch.softmax(s, -1)
    return sparse_core(
        method, x, edge_index, edge_weight, S, batch, num_graphs, counts, _all_clusters(num_graphs, s.size(1), x.device)
    )


def diff_pool(
    x: Tensor,
    edge_index: Tensor,
    s: Tensor,
    batch: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
    normalize: bool = True,
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Sparse twin of :func:`dense_diff_pool`; ``s`` is ``[N, C]``.  Same return values."""
    r = _sparse(_pyg_diffpool(normalize), "diff_pool", x, edge_index, s, batch, edge_weight)
    return r.out, r.out_adj, r.losses["link"], r.losses["entropy"]


def mincut_pool(
    x: Tensor, edge_index: Tensor, s: Tensor, batch: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Sparse twin of :func:`dense_mincut_pool`; ``s`` is ``[N, C]``.  Same return values."""
    r = _sparse(MINCUT, "mincut_pool", x, edge_index, s, batch, edge_weight)
    return r.out, r.out_adj, r.losses["mincut"], r.losses["ortho"]


def dmon_pool(
    x: Tensor, edge_index: Tensor, s: Tensor, batch: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Sparse twin of :func:`dense_dmon_pool`; ``s`` is ``[N, C]``.  Same return values."""
    r = _sparse(DMON, "dmon_pool", x, edge_index, s, batch, edge_weight)
    return r.out, r.out_adj, r.losses["spectral"], r.losses["ortho"], r.losses["cluster"]
