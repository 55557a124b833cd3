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
batch.  A graph of more than ``dense_max_nodes`` nodes (default 500) takes the sparse path
instead (:mod:`hipool.nn.nmf_sparse`): the same updates on a CSR adjacency, ``O(E k + n k²)`` per
update and ``O(E + n k)`` memory, started from NNDSVDa of a randomized SVD (as scikit-learn
computes it), so its start is close to, not equal to, the dense path's.

What the paper's abstract also mentions and this does not do: factorising a matrix that mixes the
adjacency with node similarities from the learned embeddings (its body was not available to check
how); this pooler factorises the weighted adjacency alone, as Spektral and tgp do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..checks import check_bool, check_int, check_number, check_sizes, prepare_pool_input
from ..ops import gather_as, segment_tmm
from ..record import PoolOutput
from .clustering import _pool_edge_attr, _pooled_edges, empty_record
from .functional import cluster_mean
from .nmf_init import nndsvd_init
from .nmf_sparse import nmf_sparse_one

__all__ = ["DENSE_MAX_NODES", "NMFPool", "NMFPoolOutput", "nmf_assignment", "nmf_mu", "nndsvd_init"]

#: How ``H`` becomes the assignment.
ASSIGNMENTS = ("normalized", "raw")
#: How the pooled features are formed.
REDUCES = ("sum", "mean")
#: The largest graph factorised on the dense path by default (sparse above: faster for one graph
#: from about 250 nodes, the dense path batches many small graphs and is exactly equivariant).
DENSE_MAX_NODES = 500
#: Why the edge weights must be ``>= 0`` (the checks' message).
NONNEGATIVE = "NMF factorises a non-negative adjacency"


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
    dense_max_nodes: int = DENSE_MAX_NODES,
) -> Tuple[Tensor, Tensor, Tensor]:
    """Every node's assignment row over its graph's ``k[g]`` clusters, ``[N, max k]`` float64
    (constant: no gradient), each graph's final NMF error ``[B]`` (0 where ``S = I``) and its
    iterations ``[B]``.  Graphs of ``n <= k`` nodes get ``S = I``; the others of at most
    ``dense_max_nodes`` nodes are factorised in groups of equal padded size (the next power of
    two), the larger ones one by one on the sparse path (:mod:`hipool.nn.nmf_sparse`)."""
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
        if size > dense_max_nodes:
            ng, kg, start = size, int(k[g]), int(ptr[g])
            sel = eg == g
            s_g, errors[g], iters[g] = nmf_sparse_one(
                local[edge_index[0, sel]],
                local[edge_index[1, sel]],
                w_e[sel],
                ng,
                kg,
                xd[start : start + ng],
                max_iter,
                tol,
            )
            out[start : start + ng, :kg] = _rows_to_distributions(s_g, kg) if normalized else s_g
            continue
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
            out[start : start + ng, :kg] = _rows_to_distributions(s, kg) if normalized else s
    return out[:, :c_max], errors, iters


def _rows_to_distributions(s: Tensor, k: int) -> Tensor:
    """Each row of ``s`` ``[n, k]`` divided by its sum; an all-zero row spread evenly, ``1/k``."""
    total = s.sum(1, keepdim=True)
    return torch.where(total > 0, s / torch.where(total > 0, total, torch.ones_like(total)), 1.0 / k)


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
        dense_max_nodes: the largest graph factorised on the dense path (an int ``>= 1``); larger
            graphs take the sparse path (:mod:`hipool.nn.nmf_sparse`: ``O(E + n k)`` memory, a
            randomized SVD to start from).  Default (or ``None``) :data:`DENSE_MAX_NODES`, 500.

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
        dense_max_nodes: Optional[int] = DENSE_MAX_NODES,
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
        check_int(dense_max_nodes, where, "dense_max_nodes", allow_none=True)
        self.dense_max_nodes = DENSE_MAX_NODES if dense_max_nodes is None else dense_max_nodes

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
        s64, err, iters = nmf_assignment(
            x,
            edge_index,
            edge_weight,
            batch,
            counts,
            k,
            self.max_iter,
            self.tol,
            self.assignment == "normalized",
            self.dense_max_nodes,
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
