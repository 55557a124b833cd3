r"""The pooled products of a sparse soft clustering, in one pass that keeps little alive.

For an assignment ``S`` ``[N, C]`` of a batch of graphs, node features ``X``, degrees ``d`` and
the adjacency ``A`` given by its weighted edges, :func:`sparse_products` returns per graph ``g``

.. math::
    S_g^\top A_g S_g, \qquad S_g^\top S_g, \qquad S_g^\top X_g, \qquad S_g^\top d_g,
    \qquad S_g^\top \mathbf{1},

everything the clustering losses and the pooled graph read besides ``S`` itself.

Plain autograd keeps ``AS`` ``[N, C]`` for the backward of ``Sᵀ(AS)``, the softmax keeps its
input and output, and every product returns its own ``[N, C]`` gradient for ``S``, summed
afterwards: at ``N = 10k``, ``C = 256`` (10 MB per ``[N, C]`` tensor) four to six of them were
alive at once.  Here the rows are taken in chunks of about :data:`PIECE_ELEMENTS` values:
``A_r S`` is formed for one chunk at a time, the backward saves only ``S``, ``X``, ``d`` and the
edges and recomputes ``A_r S`` and ``Aᵀ_r S``.  The assignment comes in one of three forms:

* probabilities ``S``: the backward writes every term of the gradient of ``S`` into one
  ``[N, C]`` tensor (two alive: ``S`` and it);
* logits, overwritten in place by their softmax (the backward of the softmax runs in place on
  that gradient);
* :class:`LinearLogits` ``h Wᵀ + b``: the logits, their softmax and the gradient are formed a
  chunk of rows at a time and the gradient goes straight to ``h``, ``W`` and ``b``: ``S`` is
  the only ``[N, C]`` tensor.

No ``[N, N]`` tensor and no ``[E, C]`` one.
"""

from __future__ import annotations

import warnings
from typing import List, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from ..ops import csr_crow, csr_tensor, segment_mm, segment_tmm

__all__ = ["PIECE_ELEMENTS", "LinearLogits", "Products", "sparse_products"]

#: About how many values of ``[rows, C]`` a temporary spans (1 MB in float32).
PIECE_ELEMENTS = 1 << 18

#: At most this many chunks of rows per graph (larger graphs get larger chunks).
MAX_CHUNKS = 16

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
    """Split the rows of a batch with ``counts`` nodes per graph into pieces: runs of whole graphs
    of at most ``rows`` rows together (at least 1), and every larger graph alone.  Pieces without
    rows are left out."""
    rows = max(1, rows)
    out: List[Piece] = []
    start, first, offset = 0, 0, 0
    for g, n in enumerate(counts):
        if n > rows or offset + n - start > rows:
            if offset > start:
                out.append((start, offset, first, g))
            start, first = offset, g
            if n > rows:
                out.append((offset, offset + n, g, g + 1))
                start, first = offset + n, g + 1
        offset += n
    if offset > start:
        out.append((start, offset, first, len(counts)))
    return out


def _chunks(s: int, e: int, rows: int):
    """Rows ``s:e`` in slices of at most ``rows``."""
    return ((a, min(a + rows, e)) for a in range(s, e, max(1, rows)))


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


def _same_matrix(a: _Rows, b: _Rows) -> bool:
    """Whether two row-sorted matrices store the same entries in the same order (then equal;
    an equal pair stored in another order within a row counts as different: the caller takes
    the general path)."""
    return torch.equal(a.crow, b.crow) and torch.equal(a.col, b.col) and torch.equal(a.val, b.val)


def _add_mm(out: Tensor, a: Tensor, m: Tensor, batch: Tensor, num_graphs: int, counts: Tensor) -> None:
    """``out += a_i @ m[batch[i]]`` row by row (one graph: in place, no temporary)."""
    if num_graphs == 1:
        out.addmm_(a, m[0])
    else:
        out += segment_mm(a, m, batch, num_graphs, counts)


def _add_tmm(out: Tensor, a: Tensor, b: Tensor, batch: Tensor, num_graphs: int, counts: Tensor) -> None:
    """``out[g] += a_gᵀ b_g`` for every graph ``g`` (one graph: in place)."""
    if num_graphs == 1:
        out[0].addmm_(a.t(), b)
    else:
        out += segment_tmm(a, b, batch, num_graphs, counts)


class LinearLogits(NamedTuple):
    """Logits ``h Wᵀ + b`` of a linear assignment, ``-inf`` outside the clusters each graph may
    use: :func:`sparse_products` forms them a chunk of rows at a time, never whole."""

    h: Tensor  #: the assignment's input ``[N, F_h]``
    weight: Tensor  #: ``W`` ``[C, F_h]``
    bias: Optional[Tensor] = None  #: ``b`` ``[C]``
    cluster_mask: Optional[Tensor] = None  #: the clusters each graph may use ``[B, C]`` (default: all)


#: What the first input of :class:`_SparseProducts` holds.
PROBABILITIES, LOGITS, LINEAR = "probabilities", "logits", "linear"


class _SparseProducts(torch.autograd.Function):
    """``(SᵀAS, SᵀS, SᵀX, Sᵀ[d 1])`` per graph; gradients for the assignment, ``X``, ``d`` and the
    edge weights.

    ``kind`` says what the first input ``P`` holds: the probabilities ``S``; ``logits``, which
    are overwritten in place by their softmax ``S``; or (``linear``) the input ``h`` of a linear
    assignment whose weight and bias follow, the logits formed a chunk of rows at a time.  With
    logits, ``S`` is returned first and the backward turns its gradient into that of the logits
    in place; with ``linear`` that gradient only ever exists for one chunk of rows.

    Work is done per piece (:func:`pieces`: runs of whole graphs, or one large graph) and within
    a piece in chunks of ``rows`` rows, so that no temporary exceeds ``[rows, C]``."""

    @staticmethod
    def forward(ctx, P, weight, bias, x, d, w, src, dst, batch, counts, mask, parts, rows, kind):
        N = P.size(0)
        if kind == LINEAR:
            S = P.new_empty(N, weight.size(0))
            for a, b in _chunks(0, N, rows):
                z = P[a:b] @ weight.t() if bias is None else torch.addmm(bias, P[a:b], weight.t())
                if mask is not None:
                    z.masked_fill_(~mask[batch[a:b]], float("-inf"))
                torch.softmax(z, -1, out=S[a:b])
        else:
            S = P
            if kind == LOGITS:
                for a, b in _chunks(0, N, rows):
                    S[a:b] = torch.softmax(S[a:b], -1)
                ctx.mark_dirty(S)
        C, B = S.size(1), counts.numel()
        A = _Rows(src, dst, w, N)
        adj, gram = S.new_zeros(B, C, C), S.new_zeros(B, C, C)
        feats, volume = S.new_zeros(B, C, x.size(1)), S.new_zeros(B, C, 2)
        dv = _with_ones(d)
        for s, e, g0, g1 in parts:
            Sr, local = S[s:e], (batch[s:e] - g0, g1 - g0, counts[g0:g1])
            for a, b in _chunks(s, e, rows):
                _add_tmm(adj[g0:g1], S[a:b], torch.sparse.mm(A.rows(a, b), S), batch[a:b] - g0, *local[1:])
            _add_tmm(gram[g0:g1], Sr, Sr, *local)
            _add_tmm(feats[g0:g1], Sr, x[s:e], *local)
            _add_tmm(volume[g0:g1], Sr, dv[s:e], *local)
        ctx.save_for_backward(S, P if kind == LINEAR else None, weight, x, d, w, src, dst, batch, counts)
        ctx.parts, ctx.rows, ctx.kind = parts, rows, kind
        ctx.has_bias = bias is not None
        # The assignment's input is the features (a linear map of x): one gradient for both.
        ctx.shared = kind == LINEAR and x is P
        ctx.set_materialize_grads(False)
        return (adj, gram, feats, volume) if kind == PROBABILITIES else (S, adj, gram, feats, volume)

    @staticmethod
    def backward(ctx, *grads):
        S, h, weight, x, d, w, src, dst, batch, counts = ctx.saved_tensors
        kind, rows = ctx.kind, ctx.rows
        g_s = grads[0] if kind != PROBABILITIES else None
        g_adj, g_gram, g_feats, g_volume = grads[-4:]
        N = S.size(0)
        need_p, need_weight, need_bias, need_x, need_d, need_w = ctx.needs_input_grad[:6]
        linear = kind == LINEAR
        if linear:
            # The gradient of S lives one chunk at a time; those of h, W and b gather it.
            grad_s = None
            grad_p = torch.empty_like(h) if need_p else None
            grad_weight = torch.zeros_like(weight) if need_weight else None
            grad_bias = S.new_zeros(S.size(1)) if need_bias and ctx.has_bias else None
            need_s = need_p or need_weight or grad_bias is not None
        else:
            need_s = need_p
            grad_s = grad_p = None
            if need_s:
                grad_s = g_s.clone(memory_format=torch.contiguous_format) if g_s is not None else torch.zeros_like(S)
                grad_p = grad_s
            grad_weight = grad_bias = None
        grad_x = torch.zeros_like(x) if need_x and g_feats is not None and not ctx.shared else None
        into_p = g_feats is not None and ctx.shared and grad_p is not None
        grad_d = torch.zeros_like(d) if need_d and g_volume is not None else None
        grad_w = torch.zeros_like(w) if need_w and g_adj is not None else None
        sym = g_gram + g_gram.transpose(1, 2) if g_gram is not None else None
        dv = _with_ones(d) if g_volume is not None else None
        A = _Rows(src, dst, w, N) if g_adj is not None and (need_s or need_w) else None
        At = _Rows(dst, src, w, N) if g_adj is not None and need_s else None
        # A = Aᵀ (an undirected graph, stored so): A S Gᵀ + Aᵀ S G = (A S)(Gᵀ + G), one sparse and
        # one dense product per chunk instead of two each.
        g_both = None
        if A is not None and At is not None and g_adj is not None and _same_matrix(A, At):
            g_both, At = g_adj.transpose(1, 2) + g_adj, None
        for s, e, g0, g1 in ctx.parts:
            for a, b in _chunks(s, e, rows):
                Sr, local = S[a:b], (batch[a:b] - g0, g1 - g0, counts[g0:g1])
                if need_s:
                    if grad_s is not None:
                        gs = grad_s[a:b]
                        if sym is not None:
                            _add_mm(gs, Sr, sym[g0:g1], *local)
                    elif g_s is not None:
                        gs = g_s[a:b].clone(memory_format=torch.contiguous_format)
                        if sym is not None:
                            _add_mm(gs, Sr, sym[g0:g1], *local)
                    elif sym is not None:
                        gs = segment_mm(Sr, sym[g0:g1], *local)  # the first term makes the chunk
                    else:
                        gs = torch.zeros_like(Sr)
                    if g_feats is not None:
                        _add_mm(gs, x[a:b], g_feats[g0:g1].transpose(1, 2), *local)
                    if g_volume is not None and dv is not None:
                        _add_mm(gs, dv[a:b], g_volume[g0:g1].transpose(1, 2), *local)
                    if g_adj is not None and A is not None and g_both is not None:
                        _add_mm(gs, torch.sparse.mm(A.rows(a, b), S), g_both[g0:g1], *local)
                    elif g_adj is not None and A is not None and At is not None:
                        # d/dS of Sᵀ A S = A S Gᵀ + Aᵀ S G.
                        _add_mm(gs, torch.sparse.mm(A.rows(a, b), S), g_adj[g0:g1].transpose(1, 2), *local)
                        _add_mm(gs, torch.sparse.mm(At.rows(a, b), S), g_adj[g0:g1], *local)
                    if kind != PROBABILITIES:
                        # The softmax's backward, in place: S ⊙ (g − ⟨g, S⟩) (a row's ⟨g, S⟩ by bmm).
                        gs.sub_((gs.unsqueeze(1) @ Sr.unsqueeze(2)).view(-1, 1)).mul_(Sr)
                    if linear:
                        if grad_p is not None:
                            torch.mm(gs, weight, out=grad_p[a:b])
                        if grad_weight is not None:
                            grad_weight.addmm_(gs.t(), h[a:b])
                        if grad_bias is not None:
                            grad_bias += gs.sum(0)
                if grad_x is not None:
                    _add_mm(grad_x[a:b], Sr, g_feats[g0:g1], *local)
                elif into_p and grad_p is not None:
                    _add_mm(grad_p[a:b], Sr, g_feats[g0:g1], *local)
                if grad_d is not None:
                    grad_d[a:b] = segment_mm(Sr, g_volume[g0:g1, :, :1], *local).squeeze(-1)
                if grad_w is not None and A is not None:
                    _edge_grad(grad_w, A, a, b, segment_mm(Sr, g_adj[g0:g1], *local), S)
        nones = (None,) * 8
        return (grad_p, grad_weight, grad_bias, grad_x, grad_d, grad_w) + nones


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
    S: Union[Tensor, LinearLogits],
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
        S: the assignment: probabilities ``[N, C]``; or with ``logits=True`` their logits, which
            are **overwritten** by the probabilities (the softmax over the last dimension,
            returned as :attr:`Products.S`), whose backward then runs in place on the gradient:
            give ``logits=True`` only a tensor of your own that no backward reads (such as the
            output of a ``Linear``; autograd raises an error if one does); or a
            :class:`LinearLogits`, whose logits are formed and turned into probabilities a chunk
            of rows at a time, the gradient of ``S`` too: then no ``[N, C]`` tensor but ``S``.
        x: node features ``[N, F]`` (``None``: ``F = 0``).
        degree: ``d`` ``[N]``, the weighted degrees (any per-node value pools the same way).
        edge_index: edges ``[2, E]``; ``A[i, j]`` is the weight of edge ``i → j``, duplicates summed.
        edge_weight: ``[E]`` (default: all 1).
        batch: graph of every node ``[N]``, sorted.
        counts: nodes per graph ``[B]``.
        piece_elements: about how many values of ``[rows, C]`` a temporary spans (more for a
            graph of over :data:`MAX_CHUNKS` such chunks).
    """
    head = S if isinstance(S, LinearLogits) else None
    P: Tensor = S.h if isinstance(S, LinearLogits) else S
    C = head.weight.size(0) if head is not None else P.size(1)
    kind = LINEAR if head is not None else (LOGITS if logits else PROBABILITIES)
    w = edge_weight.to(P.dtype) if edge_weight is not None else P.new_ones(edge_index.size(1))
    x = x if x is not None else P.new_zeros(P.size(0), 0)
    sizes = counts.tolist()
    # At most MAX_CHUNKS chunks per graph: each chunk costs a set of operations, and on busy cores
    # every one of them waits (a step of a 100k-node graph in 1024-row chunks took 45 s).
    rows = max(1, piece_elements // max(1, C), -(-max(sizes, default=0) // MAX_CHUNKS))
    parts = pieces(sizes, rows)
    if kind == LOGITS and P._is_view():
        P = P.clone()  # autograd cannot overwrite a view in a function with several outputs
    weight, bias, mask = (head.weight, head.bias, head.cluster_mask) if head is not None else (None, None, None)
    graph = (x.to(P.dtype), degree.to(P.dtype), w, edge_index[0], edge_index[1], batch, counts)
    out = _SparseProducts.apply(P, weight, bias, *graph, mask, parts, rows, kind)
    if kind == PROBABILITIES:
        out = (P,) + out
    probabilities, adj, gram, feats, volume = out
    return Products(probabilities, adj, gram, feats, volume[..., 0], volume[..., 1])
