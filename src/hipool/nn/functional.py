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
The public functions compute PyG's definitions; the cores also take the options the
poolers of :mod:`hipool.nn.clustering` use by default (``reduce="mean"``, DiffPool's
``link_norm``, ``entropy_norm`` and ``adj_norm``).

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

import warnings
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import coalesce, scatter, to_dense_batch

from ..checks import check_graph, checks_enabled

EPS = 1e-15

__all__ = [
    "dense_diff_pool", "dense_mincut_pool", "dense_dmon_pool",
    "diff_pool", "mincut_pool", "dmon_pool",
]


# ---------------------------------------------------------------------------
# small per-graph helpers
# ---------------------------------------------------------------------------
def graph_mean(values: Tensor, num_nodes: Tensor) -> Tensor:
    """Mean of per-graph ``values`` over the graphs that have nodes (0 if none); no host sync."""
    valid = num_nodes > 0
    return torch.where(valid, values, 0.0).sum() / valid.sum().clamp_min(1)


def segment_sum(y: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Per-graph sums of the rows of ``y``: ``[B, *y.shape[1:]]``."""
    return scatter(y, batch, dim=0, dim_size=num_graphs, reduce="sum")


def _graph_slices(batch: Tensor, num_graphs: int, rows: int, counts: Optional[Tensor]):
    """How to run a per-graph product: ``(n_max, None)`` to pad all graphs to ``n_max``
    (padding at most doubles the work), else ``(None, [(start, end), ...])`` per graph."""
    if counts is None:
        counts = torch.bincount(batch, minlength=num_graphs)
    n_max = int(counts.max()) if counts.numel() else 0
    if num_graphs * n_max <= 2 * rows + 64:
        return n_max, None
    ends = torch.cumsum(counts, 0).tolist()
    return None, list(zip([0] + ends[:-1], ends))


def segment_tmm(a: Tensor, b: Tensor, batch: Tensor, num_graphs: int,
                counts: Optional[Tensor] = None) -> Tensor:
    """``a_gᵀ b_g`` for every graph ``g``: ``[B, a.size(1), b.size(1)]`` (``batch`` sorted).

    Graphs of similar size go through one padded batched matmul; batches with
    very uneven sizes are done graph by graph, so memory stays ``nodes × columns``.
    """
    if num_graphs == 1:
        return (a.t() @ b).unsqueeze(0)
    n_max, slices = _graph_slices(batch, num_graphs, a.size(0), counts)
    if slices is None:
        ad, _ = to_dense_batch(a, batch, batch_size=num_graphs, max_num_nodes=n_max)
        bd, _ = to_dense_batch(b, batch, batch_size=num_graphs, max_num_nodes=n_max)
        return ad.transpose(1, 2) @ bd
    return torch.stack([a[s:e].t() @ b[s:e] for s, e in slices])


def segment_mm(a: Tensor, m: Tensor, batch: Tensor, num_graphs: int,
               counts: Optional[Tensor] = None) -> Tensor:
    """``a_i @ m[batch[i]]`` for every row ``i``: ``[N, m.size(-1)]`` (``batch`` sorted)."""
    if num_graphs == 1:
        return a @ m[0]
    n_max, slices = _graph_slices(batch, num_graphs, a.size(0), counts)
    if slices is None:
        ad, mask = to_dense_batch(a, batch, batch_size=num_graphs, max_num_nodes=n_max)
        return (ad @ m)[mask]
    return torch.cat([a[s:e] @ m[g] for g, (s, e) in enumerate(slices)])


class _SegmentGram(torch.autograd.Function):
    """Per-graph ``SᵀS`` whose backward is one product ``S (G + Gᵀ)`` (autograd's takes two)."""

    @staticmethod
    def forward(ctx, S: Tensor, batch: Tensor, num_graphs: int, counts: Tensor) -> Tensor:
        ctx.save_for_backward(S, batch, counts)
        ctx.num_graphs = num_graphs
        return segment_tmm(S, S, batch, num_graphs, counts)

    @staticmethod
    def backward(ctx, grad: Tensor):
        S, batch, counts = ctx.saved_tensors
        return segment_mm(S, grad + grad.transpose(1, 2), batch, ctx.num_graphs, counts), None, None, None


def segment_gram(S: Tensor, batch: Tensor, num_graphs: int, counts: Tensor) -> Tensor:
    """``S_gᵀ S_g`` for every graph: ``[B, C, C]``."""
    return _SegmentGram.apply(S, batch, num_graphs, counts)


def _ortho_loss(ss: Tensor, cluster_mask: Tensor) -> Tensor:
    """Per graph ``‖SᵀS/‖SᵀS‖_F − I_k/√k‖_F`` with ``k`` the graph's clusters."""
    k = cluster_mask.sum(-1).to(ss.dtype)  # [B]
    eye = torch.diag_embed(cluster_mask.to(ss.dtype)) / k.clamp_min(1).sqrt().view(-1, 1, 1)
    norm = torch.linalg.matrix_norm(ss, keepdim=True)
    return torch.linalg.matrix_norm(ss / norm - eye)


def _normalize_pooled_adj(out_adj: Tensor) -> Tensor:
    """MinCut/DMoN: zero the diagonal, then ``D^-1/2 A D^-1/2`` (as PyG)."""
    c = out_adj.size(-1)
    return _sym_normalize(out_adj * (1 - torch.eye(c, dtype=out_adj.dtype, device=out_adj.device)))


def _safe_sqrt(v: Tensor) -> Tensor:
    """``sqrt(v)`` whose gradient is 0, not ``0 · inf = NaN``, where ``v = 0``.

    A pooled node with no edges has degree 0: the clusters a small graph cannot use
    (``k_g < C``), a one-cluster graph (its diagonal is zeroed), a graph with no edges.
    Its row of ``A'`` is 0, so nothing flows through ``1/√d`` and the value is the same;
    but ``torch.sqrt``'s backward multiplies that 0 by ``1/(2√0) = inf``, and the NaN
    spread to every parameter.  Where ``v > 0`` values and gradients equal ``torch.sqrt``'s.
    """
    pos = v > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, v, torch.ones_like(v))), torch.zeros_like(v))


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den > 0``, else 0 (a graph with no edges has no cut to score)."""
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def _spectral_loss(trace: Tensor, ca: Tensor, two_m: Tensor) -> Tensor:
    """DMoN's negative modularity ``−(tr(SᵀAS) − ‖Sᵀd‖² / 2m) / 2m`` per graph, 0 without edges.

    Written as ``−(tr/2m − ‖Sᵀd / 2m‖²)``: equal, but every quotient is in ``[0, 1]``.  The
    textbook order squares ``Sᵀd`` first, which underflows to 0 for small weights (1e-30 in
    float32: the loss came out −1 instead of 0) and whose gradient ``1/(2m)²`` overflows to inf,
    then NaN at the clusters with ``Sᵀd = 0``.
    """
    share = _safe_div(ca, two_m.unsqueeze(-1))
    return -(_safe_div(trace, two_m) - (share * share).sum(-1))


#: Pooled features: ``sum`` ``SᵀX`` (PyG), ``mean`` ``SᵀX`` over the cluster's soft size.
REDUCES = ("sum", "mean")
#: DiffPool's link loss ``‖A − SSᵀ‖_F`` divided by: ``‖A‖_F`` (``relative``),
#: ``n²`` (``nodes``, PyG's ``normalize=True``) or nothing (``none``).
LINK_NORMS = ("relative", "nodes", "none")


def _link_norm(link_norm: Optional[str], normalize: bool) -> str:
    return link_norm if link_norm is not None else ("nodes" if normalize else "none")


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


def _scale_link(link: Tensor, link_norm: str, nf: Tensor, adj_norm) -> Tensor:
    if link_norm == "nodes":
        return link / nf ** 2
    if link_norm == "relative":
        # A graph with no edges: SSᵀ is the whole error, at most n (one cluster).
        a = adj_norm()
        return link / torch.where(a > 0, a, nf)
    return link


def _per_log_k(ent: Tensor, cluster_mask: Tensor) -> Tensor:
    """Mean row entropy over its maximum ``log k`` (so in ``[0, 1]``); 0 stays 0 for ``k = 1``."""
    log_k = cluster_mask.sum(-1).to(ent.dtype).clamp_min(2).log()
    return ent / log_k


def _sym_normalize(out_adj: Tensor) -> Tensor:
    """``D^-1/2 A' D^-1/2`` (MinCut and DMoN after zeroing the diagonal; DiffPool with
    ``adj_norm``, self-loops kept)."""
    d = _safe_sqrt(out_adj.sum(-1))[:, None] + EPS
    return (out_adj / d) / d.transpose(1, 2)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
def _check_s_finite(s: Tensor, where: str, batch: Optional[Tensor] = None) -> None:
    if not checks_enabled() or bool(torch.isfinite(s.sum())):
        return
    bad = (~torch.isfinite(s)).nonzero()
    if bad.numel() == 0:
        return  # a sum of large finite logits overflowed: nothing is wrong
    bad = bad[0].tolist()
    if s.dim() == 3:
        g, i = bad[0], bad[1]
    else:
        i = bad[0]
        g = int(batch[i]) if batch is not None else 0
    raise ValueError(f"{where}: 's' (cluster assignment) contains NaN/inf, first at graph {g}, "
                     f"node {i}; check the assignment network's input")


#: Why MinCut and DMoN need non-negative edge weights (the checks' message).
MINCUT_WEIGHTS = "MinCut's cut loss and D^-1/2 A' D^-1/2 read the weights as degrees"
DMON_WEIGHTS = "DMoN's modularity and D^-1/2 A' D^-1/2 read the weights as degrees"


def _dense_inputs(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor], where: str,
                  nonnegative: Optional[str] = None):
    for name, t in (("x", x), ("adj", adj), ("s", s)):
        if not isinstance(t, Tensor) or t.dim() not in (2, 3):
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{where}: '{name}' must be a [B, N, ·] (or [N, ·]) tensor, got {shape}")
        if not t.is_floating_point():
            raise ValueError(f"{where}: '{name}' has dtype {t.dtype}; it must be floating point "
                             f"(call .float())")
    for name, t in (("adj", adj), ("s", s)):
        if t.dtype != x.dtype or t.device != x.device:
            raise ValueError(f"{where}: '{name}' is {t.dtype} on {t.device} but 'x' is {x.dtype} on {x.device}; "
                             f"give them one dtype and device")
    if isinstance(mask, Tensor) and mask.device != x.device:
        raise ValueError(f"{where}: 'mask' is on {mask.device} but 'x' is on {x.device}")
    x = x.unsqueeze(0) if x.dim() == 2 else x
    adj = adj.unsqueeze(0) if adj.dim() == 2 else adj
    s = s.unsqueeze(0) if s.dim() == 2 else s
    b, n, _ = x.shape
    if adj.shape != (b, n, n):
        raise ValueError(f"{where}: 'adj' must have shape [B, N, N] = {[b, n, n]} to match 'x' "
                         f"{list(x.shape)}, got {list(adj.shape)}")
    if s.shape[:2] != (b, n):
        raise ValueError(f"{where}: 's' must have shape [B, N, C] with B, N = {b}, {n} as 'x', "
                         f"got {list(s.shape)}")
    c = s.size(-1)
    if c < 1:
        raise ValueError(f"{where}: 's' has 0 clusters; the cluster count must be >= 1")
    if c > n:
        raise ValueError(f"{where}: 's' has {c} clusters but the graphs have at most {n} nodes; "
                         f"use at most {n} clusters")
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.shape != (b, n):
            shape = list(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"{where}: 'mask' must have shape [B, N] = {[b, n]}, got {shape}")
        mask = mask.bool()
    if checks_enabled() and x.numel() > 0:
        _check_dense_values(x, adj, mask, where, nonnegative)
    _check_s_finite(s, where)
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
    return x, adj, s, mask


def _check_dense_values(x: Tensor, adj: Tensor, mask: Optional[Tensor], where: str,
                        nonnegative: Optional[str]) -> None:
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
        raise ValueError(f"{where}: 'adj' must be finite; graph {g} has {float(adj[g, i, j])} at edge "
                         f"({i}, {j})")
    if nonnegative is not None and bool((adj < 0).any()):
        g, i, j = (adj < 0).nonzero()[0].tolist()
        raise ValueError(f"{where}: 'adj' must be >= 0 ({nonnegative}); graph {g} has "
                         f"{float(adj[g, i, j])} at edge ({i}, {j})")
    if stray is not None and bool(stray.any()):
        g, i, j = stray.nonzero()[0].tolist()
        raise ValueError(
            f"{where}: 'mask' disagrees with 'adj': graph {g} has an edge ({i}, {j}) at a "
            f"node the mask marks as padding")
    # Otherwise a sum of finite values overflowed: nothing is wrong.


def _sparse_inputs(x: Tensor, edge_index: Tensor, s: Tensor, batch: Optional[Tensor],
                   edge_weight: Optional[Tensor], where: str, nonnegative: Optional[str] = None):
    x = x.view(-1, 1) if isinstance(x, Tensor) and x.dim() == 1 else x
    check_graph(x, edge_index, batch, None, where=where, edge_weight=edge_weight,
                nonnegative_weights=nonnegative)
    n = x.size(0)
    if not isinstance(s, Tensor) or s.dim() != 2 or s.size(0) != n:
        shape = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
        raise ValueError(f"{where}: 's' must have shape [num_nodes, C] = [{n}, C], got {shape}")
    if not s.is_floating_point() or s.dtype != x.dtype or s.device != x.device:
        raise ValueError(f"{where}: 's' is {s.dtype} on {s.device}; it must be floating point with the dtype and "
                         f"device of 'x' ({x.dtype} on {x.device})")
    if isinstance(edge_weight, Tensor) and edge_weight.dtype != x.dtype:
        raise ValueError(f"{where}: 'edge_weight' has dtype {edge_weight.dtype} but 'x' has {x.dtype}; give them "
                         f"one dtype (edge_weight.to(x.dtype))")
    if s.size(1) < 1:
        raise ValueError(f"{where}: 's' has 0 clusters; the cluster count must be >= 1")
    if n == 0:
        raise ValueError(f"{where}: the batch has no nodes")
    if batch is None:
        batch = edge_index.new_zeros(n)
    num_graphs = int(batch[-1]) + 1
    counts = torch.bincount(batch, minlength=num_graphs)
    if s.size(1) > int(counts.max()):
        raise ValueError(f"{where}: 's' has {s.size(1)} clusters but the largest graph has "
                         f"{int(counts.max())} nodes; use at most that many clusters")
    _check_s_finite(s, where, batch)
    return x, batch, num_graphs, counts


# ---------------------------------------------------------------------------
# cores: probabilities S in, per-graph losses out
# ---------------------------------------------------------------------------
class Pooled:
    """What a core returns: ``out [B, C, F]``, ``out_adj [B, C, C]`` and named scalar losses."""

    __slots__ = ("out", "out_adj", "losses")

    def __init__(self, out: Tensor, out_adj: Tensor, losses: Dict[str, Tensor]):
        self.out, self.out_adj, self.losses = out, out_adj, losses


def dense_core(kind: str, x: Tensor, adj: Tensor, S: Tensor, mask: Tensor,
               cluster_mask: Tensor, normalize: bool = True, *, reduce: str = "sum",
               link_norm: Optional[str] = None, entropy_norm: bool = False,
               adj_norm: bool = False) -> Pooled:
    """Dense coarsening and losses.  ``S`` holds probabilities, zero on padded rows.

    ``cluster_mask [B, C]`` marks the clusters each graph may use.  The keywords
    choose where hipool's poolers leave PyG's definitions; their defaults are PyG's:
    ``reduce`` (:data:`REDUCES`), DiffPool's ``link_norm`` (:data:`LINK_NORMS`; ``None``
    follows ``normalize``), ``entropy_norm`` (over ``log k``) and ``adj_norm``
    (``D^-1/2 A' D^-1/2``, self-loops kept).
    """
    link_norm = _link_norm(link_norm, normalize)
    m = mask.unsqueeze(-1).to(x.dtype)
    x, S = x * m, S * m
    n = mask.sum(-1)  # [B]
    nf = n.to(x.dtype).clamp_min(1)
    St = S.transpose(1, 2)
    out = St @ x
    if reduce == "mean":
        out = cluster_mean(out, S.sum(1))
    out_adj = (St @ adj) @ S
    losses: Dict[str, Tensor] = {}
    if kind == "diffpool":
        link = _scale_link(torch.linalg.matrix_norm(adj - S @ St), link_norm, nf,
                           lambda: torch.linalg.matrix_norm(adj))
        ent = (-S * torch.log(S + EPS)).sum((-1, -2)) / nf
        if entropy_norm:
            ent = _per_log_k(ent, cluster_mask)
        losses = {"link": graph_mean(link, n), "entropy": graph_mean(ent, n)}
        if adj_norm:
            out_adj = _sym_normalize(out_adj)
    else:
        deg = adj.sum(-1) * m.squeeze(-1)  # [B, N]
        trace = torch.diagonal(out_adj, dim1=-2, dim2=-1).sum(-1)
        ortho = _ortho_loss(St @ S, cluster_mask)
        if kind == "mincut":
            den = (deg.unsqueeze(-1) * S * S).sum((-1, -2))
            losses = {"mincut": graph_mean(-_safe_div(trace, den), n), "ortho": graph_mean(ortho, n)}
        else:  # dmon
            two_m = deg.sum(-1)
            ca = (St @ deg.unsqueeze(-1)).squeeze(-1)  # [B, C]
            spectral = _spectral_loss(trace, ca, two_m)
            k = cluster_mask.sum(-1).to(x.dtype)
            cluster = torch.linalg.vector_norm(S.sum(1), dim=-1) / nf * k.sqrt() - 1
            losses = {"spectral": graph_mean(spectral, n), "ortho": graph_mean(ortho, n),
                      "cluster": graph_mean(cluster, n)}
            out = F.selu(out)
        out_adj = _normalize_pooled_adj(out_adj)
    return Pooled(out, out_adj, losses)


def csr_crow(row: Tensor, num_rows: int) -> Tensor:
    """CSR row pointers ``[num_rows + 1]`` for entries whose (sorted) rows are ``row``."""
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=row.device)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=num_rows), 0)
    return crow


def csr_tensor(crow: Tensor, col: Tensor, val: Tensor, size) -> Tensor:
    """``torch.sparse_csr_tensor`` without its "CSR support is in beta" warning (sparse @ dense
    has long been stable) and without invariant checks (callers build valid operands)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, val, size, check_invariants=False)


def _csr_order(row: Tensor, col: Tensor, val: Tensor, n: int):
    """``[n, n]`` CSR matrix with ``M[row[e], col[e]] += val[e]``, and the edge order it stores."""
    order = torch.argsort(row, stable=True)
    return csr_tensor(csr_crow(row, n), col[order], val[order], (n, n)), order


def _csr(row: Tensor, col: Tensor, val: Tensor, n: int) -> Tensor:
    """``[n, n]`` CSR matrix with ``M[row[e], col[e]] += val[e]``."""
    return _csr_order(row, col, val, n)[0]


class _AdjMatmul(torch.autograd.Function):
    """``A @ S`` for ``A`` given by its edges, with gradients for ``S`` and the edge weights.

    Forward and the gradient for ``S`` are CSR sparse-dense products (``A`` and
    ``Aᵀ``); the gradient of a weight, ``⟨grad[src], S[dst]⟩``, is a sampled dense
    product at the edges (``torch.sparse.sampled_addmm``: 30x faster than gathering
    two ``[E, C]`` tensors), formed only when the weights need one.  No ``[N, N]``
    tensor, and no ``[E, C]`` one.
    """

    @staticmethod
    def forward(ctx, S: Tensor, w: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        ctx.save_for_backward(S, w, src, dst)
        return torch.sparse.mm(_csr(src, dst, w, S.size(0)), S)

    @staticmethod
    def backward(ctx, grad: Tensor):
        S, w, src, dst = ctx.saved_tensors
        grad_s = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_s = torch.sparse.mm(_csr(dst, src, w, S.size(0)), grad)
        if ctx.needs_input_grad[1] and src.numel() > S.size(0) ** 2:
            # More (repeated) edges than entries of A: sampled_addmm refuses such a pattern.
            grad_w = (grad[src] * S[dst]).sum(-1)
        elif ctx.needs_input_grad[1]:
            pattern, order = _csr_order(src, dst, grad.new_zeros(src.numel()), S.size(0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                sampled = torch.sparse.sampled_addmm(pattern, grad.contiguous(), S.t(), beta=0.0)
            grad_w = torch.empty_like(w)
            grad_w[order] = sampled.values()
        return grad_s, grad_w, None, None


def gather_as(edge_index: Tensor, edge_weight: Optional[Tensor], S: Tensor) -> Tensor:
    """``A S`` over the edges (``A[i, j]`` = weight of edge ``i → j``), never forming ``A``."""
    w = edge_weight if edge_weight is not None else S.new_ones(edge_index.size(1))
    return _AdjMatmul.apply(S, w.to(S.dtype), edge_index[0], edge_index[1])


def sparse_core(kind: str, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor], S: Tensor,
                batch: Tensor, num_graphs: int, counts: Tensor, cluster_mask: Tensor,
                normalize: bool = True, *, reduce: str = "sum", link_norm: Optional[str] = None,
                entropy_norm: bool = False, adj_norm: bool = False) -> Pooled:
    """Sparse coarsening and losses: no ``[B, N, N]`` tensor.  ``S`` holds probabilities ``[N, C]``.
    The keywords are :func:`dense_core`'s."""
    link_norm = _link_norm(link_norm, normalize)
    nf = counts.to(x.dtype).clamp_min(1)
    out = segment_tmm(S, x, batch, num_graphs, counts)
    if reduce == "mean":
        out = cluster_mean(out, segment_sum(S, batch, num_graphs))
    AS = gather_as(edge_index, edge_weight, S)
    out_adj = segment_tmm(S, AS, batch, num_graphs, counts)
    trace = torch.diagonal(out_adj, dim1=-2, dim2=-1).sum(-1)
    ss = segment_gram(S, batch, num_graphs, counts)
    src = edge_index[0]
    w = edge_weight if edge_weight is not None else x.new_ones(edge_index.size(1))
    losses: Dict[str, Tensor] = {}
    if kind == "diffpool":
        # ‖A − SSᵀ‖² = ‖A‖² − 2 tr(SᵀAS) + ‖SᵀS‖²; ‖A‖² needs duplicate edges summed first.
        ei, wc = coalesce(edge_index, w, num_nodes=x.size(0), reduce="sum")
        a2 = segment_sum(wc * wc, batch[ei[0]], num_graphs)
        link2 = a2 - 2 * trace + (ss * ss).sum((-1, -2))
        link = _scale_link(torch.sqrt(link2.clamp_min(1e-20)), link_norm, nf, lambda: _safe_sqrt(a2))
        ent = segment_sum((-S * torch.log(S + EPS)).sum(-1), batch, num_graphs) / nf
        if entropy_norm:
            ent = _per_log_k(ent, cluster_mask)
        losses = {"link": graph_mean(link, counts), "entropy": graph_mean(ent, counts)}
        if adj_norm:
            out_adj = _sym_normalize(out_adj)
    else:
        deg = torch.zeros(x.size(0), dtype=x.dtype, device=x.device).index_add_(0, src, w)
        ortho = _ortho_loss(ss, cluster_mask)
        if kind == "mincut":
            den = segment_sum(deg * (S * S).sum(-1), batch, num_graphs)
            losses = {"mincut": graph_mean(-_safe_div(trace, den), counts),
                      "ortho": graph_mean(ortho, counts)}
        else:
            two_m = segment_sum(deg, batch, num_graphs)
            ca = segment_tmm(S, deg.view(-1, 1), batch, num_graphs, counts).squeeze(-1)  # Sᵀd
            spectral = _spectral_loss(trace, ca, two_m)
            k = cluster_mask.sum(-1).to(x.dtype)
            cluster = torch.linalg.vector_norm(segment_sum(S, batch, num_graphs), dim=-1) / nf * k.sqrt() - 1
            losses = {"spectral": graph_mean(spectral, counts), "ortho": graph_mean(ortho, counts),
                      "cluster": graph_mean(cluster, counts)}
            out = F.selu(out)
        out_adj = _normalize_pooled_adj(out_adj)
    return Pooled(out, out_adj, losses)


# ---------------------------------------------------------------------------
# public dense forms (PyG signatures)
# ---------------------------------------------------------------------------
def _all_clusters(b: int, c: int, device) -> Tensor:
    return torch.ones(b, c, dtype=torch.bool, device=device)


def dense_diff_pool(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None,
                    normalize: bool = True) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""DiffPool (Ying et al., NeurIPS 2018) on padded tensors.

    Returns ``(SᵀX, SᵀAS, link_loss, entropy_loss)``: per graph
    ``‖A − SSᵀ‖_F / n²`` (``/ n²`` only with ``normalize``) and the mean entropy
    of the node assignments, averaged over graphs.
    """
    x, adj, s, mask = _dense_inputs(x, adj, s, mask, "dense_diff_pool")
    r = dense_core("diffpool", x, adj, torch.softmax(s, -1), mask,
                   _all_clusters(x.size(0), s.size(-1), x.device), normalize)
    return r.out, r.out_adj, r.losses["link"], r.losses["entropy"]


def dense_mincut_pool(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None,
                      temp: float = 1.0) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""MinCutPool (Bianchi et al., ICML 2020) on padded tensors.

    Returns ``(SᵀX, Â', mincut_loss, ortho_loss)`` where ``Â'`` is ``SᵀAS`` with a
    zero diagonal, symmetrically degree-normalised (as PyG).  ``temp`` divides
    the logits before the softmax (PyG's argument).
    """
    x, adj, s, mask = _dense_inputs(x, adj, s, mask, "dense_mincut_pool", MINCUT_WEIGHTS)
    S = torch.softmax(s / temp if temp != 1.0 else s, -1)
    r = dense_core("mincut", x, adj, S, mask, _all_clusters(x.size(0), s.size(-1), x.device))
    return r.out, r.out_adj, r.losses["mincut"], r.losses["ortho"]


def dense_dmon_pool(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    r"""DMoN (Tsitsulin et al., JMLR 2023) on padded tensors: the pooling of PyG's ``DMoNPooling``
    given its assignment logits.

    Returns ``(selu(SᵀX), Â', spectral_loss, ortho_loss, cluster_loss)``.
    """
    x, adj, s, mask = _dense_inputs(x, adj, s, mask, "dense_dmon_pool", DMON_WEIGHTS)
    r = dense_core("dmon", x, adj, torch.softmax(s, -1), mask,
                   _all_clusters(x.size(0), s.size(-1), x.device))
    return r.out, r.out_adj, r.losses["spectral"], r.losses["ortho"], r.losses["cluster"]


# ---------------------------------------------------------------------------
# public sparse twins
# ---------------------------------------------------------------------------
def _sparse(kind: str, where: str, x, edge_index, s, batch, edge_weight, **kw) -> Pooled:
    reason = {"mincut": MINCUT_WEIGHTS, "dmon": DMON_WEIGHTS}.get(kind)
    x, batch, num_graphs, counts = _sparse_inputs(x, edge_index, s, batch, edge_weight, where, reason)
    S = torch.softmax(s, -1)
    return sparse_core(kind, x, edge_index, edge_weight, S, batch, num_graphs, counts,
                       _all_clusters(num_graphs, s.size(1), x.device), **kw)


def diff_pool(x: Tensor, edge_index: Tensor, s: Tensor, batch: Optional[Tensor] = None,
              edge_weight: Optional[Tensor] = None, normalize: bool = True
              ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Sparse twin of :func:`dense_diff_pool`; ``s`` is ``[N, C]``.  Same return values."""
    r = _sparse("diffpool", "diff_pool", x, edge_index, s, batch, edge_weight, normalize=normalize)
    return r.out, r.out_adj, r.losses["link"], r.losses["entropy"]


def mincut_pool(x: Tensor, edge_index: Tensor, s: Tensor, batch: Optional[Tensor] = None,
                edge_weight: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Sparse twin of :func:`dense_mincut_pool`; ``s`` is ``[N, C]``.  Same return values."""
    r = _sparse("mincut", "mincut_pool", x, edge_index, s, batch, edge_weight)
    return r.out, r.out_adj, r.losses["mincut"], r.losses["ortho"]


def dmon_pool(x: Tensor, edge_index: Tensor, s: Tensor, batch: Optional[Tensor] = None,
              edge_weight: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Sparse twin of :func:`dense_dmon_pool`; ``s`` is ``[N, C]``.  Same return values."""
    r = _sparse("dmon", "dmon_pool", x, edge_index, s, batch, edge_weight)
    return r.out, r.out_adj, r.losses["spectral"], r.losses["ortho"], r.losses["cluster"]

