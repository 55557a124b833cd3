r"""Non-negative matrix factorisation pooling: :class:`NMFPool` (Bacciu & Di Sotto, "A Non-Negative
Factorization approach to node pooling in Graph Convolutional Neural Networks", AI*IA 2019,
arXiv:1909.03287).  Not learned.

For every graph :math:`g` of :math:`n` nodes and :math:`k = \min(C, n)` clusters (``num_clusters``
:math:`C`; ``sizes=`` caps :math:`k` further), the adjacency is factorised

.. math::
    A \approx W H, \qquad W \in \mathbb R_{\ge 0}^{n \times k}, \; H \in \mathbb R_{\ge 0}^{k \times n},
    \qquad \min_{W, H \ge 0} \lVert A - W H \rVert_F^2,

and column :math:`i` of :math:`H` says how node :math:`i`'s adjacency is built from the :math:`k`
community profiles (the columns of :math:`W`): :math:`H^\top` is the soft assignment.  With
``assignment="normalized"`` (default) each node's row is made a distribution,
:math:`S_{ic} = H_{ci} / \sum_{c'} H_{c'i}` (a node with an all-zero column, e.g. an isolated node,
is spread evenly over the :math:`k` clusters); ``"raw"`` uses :math:`S = H^\top` as is (Spektral's
and tgp's reading of the paper, up to tgp's softmax).  Then

.. math::
    X' = S^\top X \;(\text{``reduce="sum"``, or the cluster means with ``"mean"``}), \qquad
    A' = S^\top A S,

as weighted edges between the :math:`k` clusters (self-loops dropped unless ``keep_self_loops``),
and with ``pool_edge_attr`` (default) ``edge_attr`` of any width as :math:`S^\top E_c S` per
channel (as the clustering poolers).  A graph with :math:`n \le k` keeps its nodes (:math:`S = I`).

**Factorisation.**  Lee & Seung's multiplicative updates (NIPS 2000) for the Frobenius loss, in
float64:

.. math::
    W \leftarrow W \odot \frac{A H^\top}{W H H^\top}, \qquad
    H \leftarrow H \odot \frac{W^\top A}{W^\top W H},

from NNDSVDa (Boutsidis & Gallopoulos, Pattern Recognition 2008: the larger non-negative part of
each of the top :math:`k` singular triplets of :math:`A`, entries below :math:`10^{-6}` filled with
the mean of :math:`A`, as scikit-learn's ``init="nndsvda"``), for
``max_iter`` iterations, a graph stopping earlier when its error fell by less than
``tol`` times its initial error over the last 10 (scikit-learn's rule, checked per graph, so a
graph's result does not depend on its batch).  No randomness.

**Determinism.**  The multiplicative updates are permutation-equivariant; so is NNDSVD when the
top singular values are distinct (it is sign-invariant).  A repeated singular value (common:
:math:`\pm\lambda` on every bipartite graph, symmetric graphs) leaves the singular basis to the
solver, so within such a space the basis is fixed from the nodes' features instead: the space's
projections of fixed random Fourier features :math:`\cos(X Q + b)` of the nodes, orthonormalised
in order.  Only nodes with equal features in symmetric positions are then told apart by the
solver (as they cannot be by anything else).  Likewise NNDSVD's choice between a triplet's
positive and negative parts ties exactly for every negative eigenvalue of a symmetric :math:`A`
(:math:`v = -u`), where scikit-learn's choice is left to rounding: here the pair is then oriented
so that :math:`u` correlates positively with one such feature, and its positive part is taken.
The factorisation is a constant of the graph: no
gradient flows through :math:`S`; gradients reach ``x`` through :math:`S^\top X` and
``edge_weight``/``edge_attr`` through :math:`S^\top A S`.

**Cost.**  Dense per graph: ``O(n²)`` memory, ``O(n³)`` for the SVD and ``O(n² k)`` per update.
Graphs are grouped by size (padded to the next power of two) and each group is factorised as one
batch.  A graph to factorise of more than ``max_nodes`` nodes (default 5000) raises ``ValueError``.

What the paper's abstract also mentions and this does not do: factorising a matrix that mixes the
adjacency with node similarities from the learned embeddings (its body was not available to check
how); this pooler factorises the weighted adjacency alone, as Spektral and tgp do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from ..checks import check_bool, check_int, check_number, check_sizes, prepare_pool_input
from ..ops import gather_as, segment_tmm
from ..record import PoolOutput
from .clustering import _pool_edge_attr, _pooled_edges, empty_record
from .functional import cluster_mean

#: How ``H`` becomes the assignment.
ASSIGNMENTS = ("normalized", "raw")
#: How the pooled features are formed.
REDUCES = ("sum", "mean")
#: Why the edge weights must be ``>= 0`` (the checks' message).
NONNEGATIVE = "NMF factorises a non-negative adjacency"
#: Relative gap under which two singular values count as equal (and one as zero).
SVD_RTOL = 1e-9
#: NNDSVD entries below this are zeros (scikit-learn's ``_initialize_nmf``).
NNDSVD_EPS = 1e-6
#: Seed of the random Fourier features that fix a repeated singular value's basis.
_SEED = 0x4E4D46


# ---------------------------------------------------------------------------
# initialisation
# ---------------------------------------------------------------------------
def _fourier_features(x: Tensor, count: int) -> Tensor:
    """``cos(X Q + b)`` ``[n, count]`` with a fixed ``Q ~ N(0, 1)`` and ``b ~ U(0, 2π)``: functions of
    each node's features alone (so permuting the nodes permutes the rows)."""
    g = torch.Generator().manual_seed(_SEED)
    q = torch.randn(x.size(1), count, generator=g, dtype=torch.float64).to(x.device)
    b = (2 * math.pi * torch.rand(count, generator=g, dtype=torch.float64)).to(x.device)
    return torch.cos(x @ q + b)


def _canonical_basis(u: Tensor, z: Tensor) -> Tensor:
    """An orthonormal basis of the span of ``u`` ``[n, m]`` (orthonormal columns) fixed by ``z``
    ``[n, r]``: the projections of ``z``'s columns, Gram–Schmidt in order; completed from ``u``
    when ``z`` does not span the space."""
    m = u.size(1)
    proj = u @ (u.t() @ z)
    basis: List[Tensor] = []
    scale = max(float(z.norm(dim=0).max()) if z.numel() else 0.0, 1.0)
    for cand in list(proj.t()) + list(u.t()):
        for b in basis:
            cand = cand - (b @ cand) * b
        for b in basis:  # twice is enough (Kahan)
            cand = cand - (b @ cand) * b
        norm = float(cand.norm())
        if norm > 1e-6 * scale:
            basis.append(cand / norm)
        if len(basis) == m:
            break
    return torch.stack(basis, 1)


def nndsvd_init(a: Tensor, k: int, x: Tensor) -> Tuple[Tensor, Tensor]:
    """NNDSVDa of one graph's adjacency ``a`` ``[n, n]`` (float64) for ``k`` components: ``(W, H)``
    ``[n, k]``, ``[k, n]`` (Boutsidis & Gallopoulos 2008; zeros filled with the mean of ``a``).
    Repeated singular values get the basis fixed by the node features ``x`` (see the module
    docstring)."""
    n = a.size(0)
    u, sig, vh = torch.linalg.svd(a)
    v = vh.transpose(0, 1)
    values = sig.tolist()
    top = values[0] if n else 0.0
    tol = SVD_RTOL * top
    if top > 0:
        # Groups of (numerically) equal non-zero singular values meeting the first k.
        i = 0
        while i < min(k, n):
            j = i + 1
            while j < n and values[i] - values[j] <= tol:
                j += 1
            if j - i > 1 and values[i] > tol:
                z = _fourier_features(x, j - i + 1)
                ub = _canonical_basis(u[:, i:j], z)
                vb = a.t() @ ub
                vb = vb / vb.norm(dim=0, keepdim=True).clamp_min(torch.finfo(a.dtype).tiny)
                u = torch.cat([u[:, :i], ub, u[:, j:]], 1)
                v = torch.cat([v[:, :i], vb, v[:, j:]], 1)
            i = j
    kk = min(k, n)
    sv = sig[:kk].clamp_min(0)
    uc, vc = u[:, :kk], v[:, :kk]
    up, un, vp, vn = uc.clamp_min(0), (-uc).clamp_min(0), vc.clamp_min(0), (-vc).clamp_min(0)
    nup, nun, nvp, nvn = up.norm(dim=0), un.norm(dim=0), vp.norm(dim=0), vn.norm(dim=0)
    mp, mn = nup * nvp, nun * nvn
    pos = mp > mn  # the larger of the two non-negative parts (scikit-learn's rule)
    # A tie (every negative eigenvalue of a symmetric A: u = -v) is left to rounding there; here the
    # pair is oriented by the node features instead, and its positive part taken.
    tie = (mp - mn).abs() <= SVD_RTOL * torch.maximum(mp, mn)
    if bool(tie.any()):
        side = _fourier_features(x, 1)[:, 0] @ uc
        pos = torch.where(tie, side >= 0, pos)
    m = torch.where(pos, mp, mn)
    tiny = torch.finfo(a.dtype).tiny
    uu = torch.where(pos, up / nup.clamp_min(tiny), un / nun.clamp_min(tiny))
    vv = torch.where(pos, vp / nvp.clamp_min(tiny), vn / nvn.clamp_min(tiny))
    # The first pair is the Perron pair: its absolute values, scaled by its singular value alone.
    uu[:, :1], vv[:, :1], m[:1] = uc[:, :1].abs(), vc[:, :1].abs(), 1.0
    scale = torch.where(sv > tol, (sv * m).sqrt(), torch.zeros_like(sv))
    w = a.new_zeros(n, k)
    h = a.new_zeros(k, n)
    w[:, :kk] = uu * scale
    h[:kk] = (vv * scale).t()
    avg = a.mean() if n else a.new_zeros(())
    # scikit-learn's cut-off: entries below 1e-6 count as zeros, which NNDSVDa fills with the mean.
    w = torch.where(w < NNDSVD_EPS, avg, w)
    h = torch.where(h < NNDSVD_EPS, avg, h)
    return w, h


def nmf_mu(
    a: Tensor, w: Tensor, h: Tensor, max_iter: int, tol: float, check_every: int = 10
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Multiplicative updates on a batch ``a`` ``[B, n, n]``, ``w`` ``[B, n, k]``, ``h`` ``[B, k, n]``
    (float64; padding rows and columns zero, where they stay).  Each graph stops when its error fell
    by less than ``tol`` times its initial error over the last ``check_every`` iterations (``tol=0``:
    never); the graphs still running are the only ones computed.  Returns ``(w, h, error,
    iterations)``, ``error`` the final ``‖A − WH‖_F`` ``[B]`` and ``iterations`` per graph ``[B]``."""
    tiny = torch.finfo(a.dtype).tiny

    def error(a_: Tensor, w_: Tensor, h_: Tensor) -> Tensor:
        return (a_ - w_ @ h_).pow(2).sum((1, 2)).sqrt()

    w, h = w.clone(), h.clone()
    iters = torch.zeros(a.size(0), dtype=torch.long, device=a.device)
    idx = torch.arange(a.size(0), device=a.device)  # the graphs still running
    a_r, w_r, h_r = a, w, h
    err0 = error(a, w, h)
    prev = err0
    for it in range(1, max_iter + 1):
        w_r = w_r * (a_r @ h_r.transpose(1, 2)) / (w_r @ (h_r @ h_r.transpose(1, 2))).clamp_min(tiny)
        wt = w_r.transpose(1, 2)
        h_r = h_r * (wt @ a_r) / ((wt @ w_r) @ h_r).clamp_min(tiny)
        if tol > 0 and it % check_every == 0 and it < max_iter:
            err = error(a_r, w_r, h_r)
            done = ((prev - err) < tol * err0) | (err0 == 0)  # A = WH already (e.g. no edges): done
            if bool(done.any()):
                w[idx[done]], h[idx[done]], iters[idx[done]] = w_r[done], h_r[done], it
                keep = ~done
                idx, a_r, w_r, h_r = idx[keep], a_r[keep], w_r[keep], h_r[keep]
                err0, err = err0[keep], err[keep]
                if idx.numel() == 0:
                    break
            prev = err
    if idx.numel():
        w[idx], h[idx], iters[idx] = w_r, h_r, min(it, max_iter) if max_iter else 0
    return w, h, error(a, w, h), iters


def nmf_assignment(
    x: Tensor,
    edge_index: Tensor,
    edge_weight: Optional[Tensor],
    batch: Tensor,
    counts: Tensor,
    k: Tensor,
    max_iter: int,
    tol: float,
    normalized: bool,
) -> Tuple[Tensor, Tensor, Tensor]:
    """Every node's assignment row over its graph's ``k[g]`` clusters, ``[N, max k]`` float64
    (constant: no gradient), each graph's final NMF error ``[B]`` (0 where ``S = I``) and its
    iterations ``[B]``.  Graphs of ``n <= k`` nodes get ``S = I``; the others are factorised in
    groups of equal padded size (the next power of two)."""
    device = x.device
    n = x.size(0)
    num_graphs = counts.numel()
    c_max = int(k.max()) if num_graphs else 0
    ptr = torch.cumsum(counts, 0) - counts
    local = torch.arange(n, device=device) - ptr[batch]
    out = torch.zeros(n, max(c_max, 1), dtype=torch.float64, device=device)
    errors = torch.zeros(num_graphs, dtype=torch.float64, device=device)
    iters = torch.zeros(num_graphs, dtype=torch.long, device=device)
    ident = (counts <= k)[batch]
    out[ident.nonzero().view(-1), local[ident]] = 1.0
    todo = (counts > k).nonzero().view(-1)
    if todo.numel() == 0:
        return out[:, :c_max], errors, iters
    xd = x.detach().to(torch.float64)
    w_e = torch.ones(edge_index.size(1), dtype=torch.float64, device=device)
    if edge_weight is not None:
        w_e = edge_weight.detach().to(torch.float64)
    eg = batch[edge_index[0]]
    sizes = counts[todo].tolist()
    buckets: dict = {}
    for g, size in zip(todo.tolist(), sizes):
        buckets.setdefault(1 << max(size - 1, 0).bit_length(), []).append(g)
    for pad, graphs in sorted(buckets.items()):
        gid = torch.tensor(graphs, dtype=torch.long, device=device)
        slot = torch.full((num_graphs,), -1, dtype=torch.long, device=device)
        slot[gid] = torch.arange(gid.numel(), device=device)
        sel = slot[eg] >= 0
        a = torch.zeros(gid.numel(), pad, pad, dtype=torch.float64, device=device)
        a.index_put_((slot[eg[sel]], local[edge_index[0, sel]], local[edge_index[1, sel]]), w_e[sel], accumulate=True)
        kk = int(k[gid].max())
        w0 = a.new_zeros(gid.numel(), pad, kk)
        h0 = a.new_zeros(gid.numel(), kk, pad)
        for b, g in enumerate(graphs):
            ng, kg, start = int(counts[g]), int(k[g]), int(ptr[g])
            wg, hg = nndsvd_init(a[b, :ng, :ng], kg, xd[start : start + ng])
            w0[b, :ng, :kg] = wg
            h0[b, :kg, :ng] = hg
        w, h, err, it = nmf_mu(a, w0, h0, max_iter, tol)
        errors[gid] = err
        iters[gid] = it
        for b, g in enumerate(graphs):
            ng, kg, start = int(counts[g]), int(k[g]), int(ptr[g])
            s = h[b, :kg, :ng].t()
            if normalized:
                total = s.sum(1, keepdim=True)
                s = torch.where(total > 0, s / torch.where(total > 0, total, torch.ones_like(total)), 1.0 / kg)
            out[start : start + ng, :kg] = s
    return out[:, :c_max], errors, iters


# ---------------------------------------------------------------------------
# the pooler
# ---------------------------------------------------------------------------
@dataclass(repr=False)
class NMFPoolOutput(PoolOutput):
    """:class:`~hipool.record.PoolOutput` of :class:`NMFPool`, with each graph's final
    factorisation error ``‖A − WH‖_F`` (``nmf_error`` ``[B]``, float64; 0 for graphs kept as they
    are) and the multiplicative updates it took (``nmf_iterations`` ``[B]``)."""

    nmf_error: Optional[Tensor] = None
    nmf_iterations: Optional[Tensor] = None


class NMFPool(torch.nn.Module):
    r"""NMF pooling (Bacciu & Di Sotto, AI*IA 2019; see the module docstring for the equations).

    Args:
        in_channels: width of ``x``.
        num_clusters: :math:`C`, clusters per graph (an int ``>= 1``); a graph of fewer nodes keeps
            them all.
        max_iter: most multiplicative updates (an int ``>= 1``).  Default 200.
        tol: stop a graph when its error fell by less than ``tol`` times its initial error over 10
            updates (a finite number ``>= 0``; 0 runs ``max_iter``).  Default ``1e-4``
            (scikit-learn's).
        assignment: ``"normalized"`` (default: each node's row of :math:`H^\top` sums to 1) or
            ``"raw"`` (:math:`H^\top`).
        reduce: ``"sum"`` (default, :math:`S^\top X`) or ``"mean"`` (divided by each cluster's
            soft size).
        pool_edge_attr: carry ``edge_attr`` as :math:`S^\top E_c S` per channel.  Default ``True``.
        keep_self_loops: keep the diagonal of :math:`S^\top A S`.  Default ``False``.
        max_nodes: the largest graph it factorises (dense), an int ``>= 1``.  Default 5000.

    ``edge_weight`` must be ``>= 0``.  No parameters and no losses.  Bad arguments raise
    ``ValueError`` naming them.
    """

    LOSSES: Tuple[str, ...] = ()

    def __init__(
        self,
        in_channels: int,
        num_clusters: int,
        *,
        max_iter: int = 200,
        tol: float = 1e-4,
        assignment: str = "normalized",
        reduce: str = "sum",
        pool_edge_attr: bool = True,
        keep_self_loops: bool = False,
        max_nodes: int = 5000,
    ):
        super().__init__()
        where = "NMFPool"
        self.in_channels = check_int(in_channels, where, "in_channels")
        hint = " (NMF pooling needs an absolute cluster count, not a ratio)" if isinstance(num_clusters, float) else ""
        self.num_clusters = check_int(num_clusters, where, "num_clusters", hint=hint)
        self.max_iter = check_int(max_iter, where, "max_iter")
        self.tol = check_number(tol, where, "tol", low=0)
        for name, value, allowed in (("assignment", assignment, ASSIGNMENTS), ("reduce", reduce, REDUCES)):
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"{where}: '{name}' must be one of {', '.join(allowed)}, got {value!r}")
        self.assignment = assignment
        self.reduce = reduce
        self.pool_edge_attr = check_bool(pool_edge_attr, where, "pool_edge_attr")
        self.keep_self_loops = check_bool(keep_self_loops, where, "keep_self_loops")
        self.max_nodes = check_int(max_nodes, where, "max_nodes")

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> NMFPoolOutput:
        """Pool a batch.  ``sizes`` ``[B]`` (``schedule: auto``, :mod:`hipool.nn.auto`): the most
        clusters each graph may use, on top of ``num_clusters`` (a graph no larger than both keeps
        its nodes)."""
        where = "NMFPool"
        x, batch = prepare_pool_input(
            x, edge_index, batch, edge_attr, edge_weight, where, self.in_channels, nonnegative_weights=NONNEGATIVE
        )
        sizes = check_sizes(sizes, batch, where)
        n = x.size(0)
        if n == 0:
            return self._empty(x, edge_attr)
        num_graphs = int(batch[-1]) + 1
        counts = torch.bincount(batch, minlength=num_graphs)
        k = counts.clamp(max=self.num_clusters)
        if sizes is not None:
            k = torch.minimum(k, sizes[:num_graphs])
        big = (counts > self.max_nodes) & (counts > k)  # a graph kept as it is is not factorised
        if bool(big.any()):
            g = int(big.nonzero()[0])
            raise ValueError(
                f"{where}: graph {g} has {int(counts[g])} nodes, more than max_nodes={self.max_nodes} (the "
                f"factorisation is dense: O(n²) memory and O(n² k) time per update); raise max_nodes or pool "
                f"it with a sparse pooler first"
            )
        s64, err, iters = nmf_assignment(
            x, edge_index, edge_weight, batch, counts, k, self.max_iter, self.tol, self.assignment == "normalized"
        )
        # The products in float32 at least (half-precision sparse products are not implemented on
        # every device); the outputs in x's dtype.
        work = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        S = s64.to(work)
        xw = x.to(work)
        ew_in = edge_weight.to(work) if edge_weight is not None else None
        C = S.size(1)
        cluster_mask = torch.arange(C, device=x.device) < k.view(-1, 1)
        offset = torch.cumsum(k, 0) - k

        out = segment_tmm(S, xw, batch, num_graphs, counts)  # [B, C, F]
        if self.reduce == "mean":
            out = cluster_mean(out, segment_tmm(S, xw.new_ones(n, 1), batch, num_graphs, counts).squeeze(-1))
        out_adj = segment_tmm(S, gather_as(edge_index, ew_in, S), batch, num_graphs, counts)
        pooled_attr = None
        if self.pool_edge_attr and edge_attr is not None:
            pooled_attr = _pool_edge_attr(edge_index, edge_attr.to(work), S, batch, num_graphs, counts)
        ei, ew, ea = _pooled_edges(out_adj, pooled_attr, cluster_mask, offset, self.keep_self_loops, None, None)
        out, ew = out.to(x.dtype), ew.to(x.dtype)
        ea = ea.to(x.dtype) if ea is not None else None
        return NMFPoolOutput(
            x=out[cluster_mask],
            edge_index=ei,
            edge_attr=ea,
            batch=torch.repeat_interleave(torch.arange(num_graphs, device=x.device), k),
            perm=None,
            score=None,
            cluster=offset[batch] + S.argmax(dim=-1),
            assignment=S.to(x.dtype),
            edge_weight=ew,
            mode="dense",
            nmf_error=err,
            nmf_iterations=iters,
        )

    def _empty(self, x: Tensor, edge_attr: Optional[Tensor]) -> NMFPoolOutput:
        ea = None
        if self.pool_edge_attr and edge_attr is not None:
            width = 1 if edge_attr.dim() == 1 else edge_attr[0:0].flatten(1).size(1)
            ea = x.new_zeros(0, width)
        extra = {
            "nmf_error": torch.zeros(0, dtype=torch.float64, device=x.device),
            "nmf_iterations": x.new_zeros(0, dtype=torch.long),
        }
        return empty_record(x, ea, self.num_clusters, {}, "dense", NMFPoolOutput, **extra)  # type: ignore[return-value]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, num_clusters={self.num_clusters}, max_iter={self.max_iter}, tol={self.tol}, "
            f"assignment={self.assignment!r}, reduce={self.reduce!r}"
        )
