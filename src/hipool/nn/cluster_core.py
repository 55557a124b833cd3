r"""The pooled products of a sparse soft clustering, in one pass that keeps little alive.

For an assignment ``S`` ``[N, C]`` of a batch of graphs, node columns ``Y`` ``[N, K]`` and the
adjacency ``A`` given by its weighted edges, :func:`sparse_products` returns per graph ``g``

.. math::
    S_g^\top A_g S_g, \qquad S_g^\top S_g, \qquad S_g^\top Y_g ,

the pooled adjacency, the Gram matrix and the pooled columns (features, degrees, ones: the
caller stacks them into ``Y``).

Plain autograd keeps ``AS`` ``[N, C]`` for the backward of ``Sᵀ(AS)``, and every product
returns its own ``[N, C]`` gradient for ``S``, summed afterwards.  Here the rows are taken in
pieces of about :data:`PIECE_ELEMENTS` values (a piece is a run of whole graphs, or a slice of
one large graph): ``A_r S`` is formed for one piece at a time and dropped, the backward saves
only ``S``, ``Y`` and the edges, recomputes ``A_r S`` and ``Aᵀ_r S`` piece by piece, and
writes every term of the gradient of ``S`` into one ``[N, C]`` tensor.  At ``N = 10k``,
``C = 256`` that is one ``[N, C]`` tensor (10 MB) alive besides ``S`` where autograd kept
three to four.  No ``[N, N]`` tensor and no ``[E, C]`` one.
"""

from __future__ import annotations

import warnings
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from ..ops import csr_crow, csr_tensor, segment_mm, segment_tmm

__all__ = ["PIECE_ELEMENTS", "Products", "sparse_products"]

#: About how many values of ``[rows, C]`` one piece spans (1 MB in float32).
PIECE_ELEMENTS = 1 << 18

#: ``(start row, end row, first graph, end graph)`` of a piece.
Piece = Tuple[int, int, int, int]


class Products(NamedTuple):
    """What :func:`sparse_products` returns."""

    S: Tensor  #: the assignment ``[N, C]`` (the softmax of the logits, with ``logits=True``)
    adj: Tensor  #: ``SᵀAS`` per graph ``[B, C, C]``
    gram: Tensor  #: ``SᵀS`` per graph ``[B, C, C]``
    x: Tensor  #: ``SᵀX`` per graph ``[B, C, F]``
    degree: Tensor  #: ``Sᵀd`` per graph ``[B, C]``
    size: Tensor  #: ``Sᵀ1`` per graph ``[B, C]``


def pieces(counts: List[int], rows: int) -> List[Piece]:
    """Split the rows of a batch with ``counts`` nodes per graph into pieces of at most ``rows``
    rows (at least 1): runs of whole graphs, and a graph larger than ``rows`` in slices of its
    own.  Pieces without rows are left out."""
    rows = max(1, rows)
    out: List[Piece] = []
    start, first, offset = 0, 0, 0
    for g, n in enumerate(counts):
        if n > rows or offset + n - start > rows:
            if offset > start:
                out.append((start, offset, first, g))
            start, first = offset, g
            if n > rows:
                out.extend((s, min(s + rows, offset + n), g, g + 1) for s in range(offset, offset + n, rows))
                start, first = offset + n, g + 1
        offset += n
    if offset > start:
        out.append((start, offset, first, len(counts)))
    return out


class _Rows:
    """``[N, N]`` CSR matrix with ``M[row[e], col[e]] += val[e]``, sliced by rows without copies."""

    def __init__(self, row: Tensor, col: Tensor, val: Tensor, n: int):
        self.order = torch.argsort(row, stable=True)
        self.crow = csr_crow(row, n)
        self.col, self.val, self.n = col[self.order], val[self.order], n

    def span(self, s: int, e: int) -> Tuple[int, int]:
        """The stored entries of rows ``s:e``."""
        return int(self.crow[s]), int(self.crow[e])

    def rows(self, s: int, e: int, val: Optional[Tensor] = None) -> Tensor:
        """Rows ``s:e`` as an ``[e - s, N]`` CSR matrix (values ``val`` in stored order, if given)."""
        lo, hi = self.span(s, e)
        v = self.val[lo:hi] if val is None else val
        return csr_tensor(self.crow[s : e + 1] - lo, self.col[lo:hi], v, (e - s, self.n))


def _add_mm(out: Tensor, a: Tensor, m: Tensor, batch: Tensor, num_graphs: int, counts: Tensor) -> None:
    """``out += a_i @ m[batch[i]]`` row by row (one graph: in place, no temporary)."""
    if num_graphs == 1:
        out.addmm_(a, m[0])
    else:
        out += segment_mm(a, m, batch, num_graphs, counts)


class _SparseProducts(torch.autograd.Function):
    """``(SᵀAS, SᵀS, SᵀX, Sᵀ[d 1])`` per graph; gradients for ``S``, ``X``, ``d`` and the weights.

    With ``logits``, the first input holds logits; they are overwritten in place by their
    softmax ``S``, which is returned first, and the backward turns the gradient of ``S`` into
    that of the logits in place."""

    @staticmethod
    def forward(ctx, P, x, d, w, src, dst, batch, counts, parts, logits):
        N, C = P.shape
        S = P
        if logits:
            for s, e, _, _ in parts:
                S[s:e] = torch.softmax(S[s:e], -1)
            ctx.mark_dirty(S)
        B = counts.numel()
        A = _Rows(src, dst, w, N)
        adj, gram = S.new_zeros(B, C, C), S.new_zeros(B, C, C)
        feats, volume = S.new_zeros(B, C, x.size(1)), S.new_zeros(B, C, 2)
        for s, e, g0, g1 in parts:
            Sr, local = S[s:e], (batch[s:e] - g0, g1 - g0, counts[g0:g1])
            adj[g0:g1] += segment_tmm(Sr, torch.sparse.mm(A.rows(s, e), S), *local)
            gram[g0:g1] += segment_tmm(Sr, Sr, *local)
            feats[g0:g1] += segment_tmm(Sr, x[s:e], *local)
            volume[g0:g1] += segment_tmm(Sr, _with_ones(d[s:e]), *local)
        ctx.save_for_backward(S, x, d, w, src, dst, batch, counts)
        ctx.parts, ctx.logits = parts, logits
        ctx.set_materialize_grads(False)
        return (S, adj, gram, feats, volume) if logits else (adj, gram, feats, volume)

    @staticmethod
    def backward(ctx, *grads):
        S, x, d, w, src, dst, batch, counts = ctx.saved_tensors
        g_s = grads[0] if ctx.logits else None
        g_adj, g_gram, g_feats, g_volume = grads[-4:]
        N = S.size(0)
        need_s, need_x, need_d, need_w = ctx.needs_input_grad[:4]
        grad_s = None
        if need_s:
            grad_s = g_s.clone(memory_format=torch.contiguous_format) if g_s is not None else torch.zeros_like(S)
        grad_x = torch.zeros_like(x) if need_x and g_feats is not None else None
        grad_d = torch.zeros_like(d) if need_d and g_volume is not None else None
        grad_w = torch.zeros_like(w) if need_w and g_adj is not None else None
        sym = g_gram + g_gram.transpose(1, 2) if g_gram is not None else None
        A = _Rows(src, dst, w, N) if g_adj is not None and (need_s or need_w) else None
        At = _Rows(dst, src, w, N) if g_adj is not None and need_s else None
        for s, e, g0, g1 in ctx.parts:
            Sr, local = S[s:e], (batch[s:e] - g0, g1 - g0, counts[g0:g1])
            if grad_s is not None:
                gs = grad_s[s:e]
                if sym is not None:
                    _add_mm(gs, Sr, sym[g0:g1], *local)
                if g_feats is not None:
                    _add_mm(gs, x[s:e], g_feats[g0:g1].transpose(1, 2), *local)
                if g_volume is not None:
                    _add_mm(gs, _with_ones(d[s:e]), g_volume[g0:g1].transpose(1, 2), *local)
                if g_adj is not None and A is not None and At is not None:
                    # d/dS of Sᵀ A S = A S Gᵀ + Aᵀ S G, one piece of rows at a time.
                    _add_mm(gs, torch.sparse.mm(A.rows(s, e), S), g_adj[g0:g1].transpose(1, 2), *local)
                    _add_mm(gs, torch.sparse.mm(At.rows(s, e), S), g_adj[g0:g1], *local)
                if ctx.logits:
                    # The softmax's backward, in place: S ⊙ (g − ⟨g, S⟩).
                    gs.sub_(torch.linalg.vecdot(gs, Sr).unsqueeze(-1)).mul_(Sr)
            if grad_x is not None:
                _add_mm(grad_x[s:e], Sr, g_feats[g0:g1], *local)
            if grad_d is not None:
                grad_d[s:e] = segment_mm(Sr, g_volume[g0:g1, :, :1], *local).squeeze(-1)
            if grad_w is not None and A is not None:
                _edge_grad(grad_w, A, s, e, segment_mm(Sr, g_adj[g0:g1], *local), S)
        return grad_s, grad_x, grad_d, grad_w, None, None, None, None, None, None


def _with_ones(d: Tensor) -> Tensor:
    """``[d 1]``: ``[rows, 2]``."""
    return torch.stack([d, torch.ones_like(d)], 1)


def _edge_grad(grad_w: Tensor, A: _Rows, s: int, e: int, left: Tensor, S: Tensor) -> None:
    """``grad_w[edge] = ⟨left[src - s], S[dst]⟩`` for the edges stored in rows ``s:e``:
    a sampled dense product at the edges (``torch.sparse.sampled_addmm``)."""
    lo, hi = A.span(s, e)
    if hi == lo:
        return
    edges = A.order[lo:hi]
    if hi - lo > (e - s) * A.n:
        # More (repeated) edges than entries of the rows: sampled_addmm refuses such a pattern.
        rows = torch.repeat_interleave(torch.arange(e - s, device=S.device), A.crow[s + 1 : e + 1] - A.crow[s:e])
        grad_w[edges] = (left[rows] * S[A.col[lo:hi]]).sum(-1)
        return
    pattern = A.rows(s, e, left.new_zeros(hi - lo))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sampled = torch.sparse.sampled_addmm(pattern, left.contiguous(), S.t(), beta=0.0)
    grad_w[edges] = sampled.values()


def sparse_products(
    S: Tensor,
    x: Optional[Tensor],
    degree: Tensor,
    edge_index: Tensor,
    edge_weight: Optional[Tensor],
    batch: Tensor,
    counts: Tensor,
    *,
    logits: bool = False,
    piece_elements: int = PIECE_ELEMENTS,
) -> Products:
    """The pooled quantities of every graph of a sparse batch (see the module docstring).

    Args:
        S: assignment probabilities ``[N, C]``, or with ``logits=True`` their logits, which are
            **overwritten** by the probabilities (the softmax over the last dimension, returned as
            :attr:`Products.S`); its backward then runs in place on the gradient, one ``[N, C]``
            tensor less at the peak of each pass.  Give ``logits=True`` only a tensor of your
            own that no backward reads (such as the output of a ``Linear``; autograd raises
            an error if one does).
        x: node features ``[N, F]`` (``None``: ``F = 0``).
        degree: ``d`` ``[N]``, the weighted degrees (any per-node value pools the same way).
        edge_index: edges ``[2, E]``; ``A[i, j]`` is the weight of edge ``i → j``, duplicates summed.
        edge_weight: ``[E]`` (default: all 1).
        batch: graph of every node ``[N]``, sorted.
        counts: nodes per graph ``[B]``.
        piece_elements: about how many values of ``[rows, C]`` one piece spans.
    """
    w = edge_weight.to(S.dtype) if edge_weight is not None else S.new_ones(edge_index.size(1))
    x = x if x is not None else S.new_zeros(S.size(0), 0)
    parts = pieces(counts.tolist(), piece_elements // max(1, S.size(1)))
    if logits and S._is_view():
        S = S.clone()  # autograd cannot overwrite a view in a function with several outputs
    args = (x.to(S.dtype), degree.to(S.dtype), w, edge_index[0], edge_index[1], batch, counts, parts, logits)
    out = _SparseProducts.apply(S, *args)
    if not logits:
        out = (S,) + out
    S, adj, gram, feats, volume = out
    return Products(S, adj, gram, feats, volume[..., 0], volume[..., 1])
