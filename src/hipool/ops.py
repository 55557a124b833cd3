r"""Tensor kernels over a batch of graphs: per-graph products and adjacency products.

The bottom layer under :mod:`hipool.record` and :mod:`hipool.nn`: plain tensors in,
plain tensors out, no modules and no records.  A batch is PyG's: node rows sorted by
graph, ``batch[i]`` the graph of row ``i``, and edges ``edge_index`` between rows.

* :func:`segment_sum`, :func:`segment_tmm`, :func:`segment_mm`, :func:`segment_gram`:
  ``Σ_i y_i``, ``a_gᵀ b_g``, ``a_i m_{batch[i]}`` and ``S_gᵀ S_g`` for every graph ``g``;
* :func:`gather_as`: ``A S`` for ``A`` given by its weighted edges, never forming ``A``;
* :func:`csr_crow`, :func:`csr_rows`, :func:`csr_tensor`: CSR operands for ``torch.sparse.mm``.
"""

from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import Tensor

# torch_geometric.utils is imported where it is used: importing PyG takes about 2 s, which
# `import hipool` (the record, the hierarchy) does not need to pay.

__all__ = ["segment_sum", "segment_tmm", "segment_mm", "segment_gram", "csr_crow", "csr_tensor", "gather_as"]


# ---------------------------------------------------------------------------
# per-graph products
# ---------------------------------------------------------------------------
def segment_sum(y: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Per-graph sums of the rows of ``y``: ``[B, *y.shape[1:]]``."""
    from torch_geometric.utils import scatter

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


def segment_tmm(a: Tensor, b: Tensor, batch: Tensor, num_graphs: int, counts: Optional[Tensor] = None) -> Tensor:
    """``a_gᵀ b_g`` for every graph ``g``: ``[B, a.size(1), b.size(1)]`` (``batch`` sorted).

    Graphs of similar size go through one padded batched matmul; batches with
    very uneven sizes are done graph by graph, so memory stays ``nodes × columns``.
    """
    if num_graphs == 1:
        return (a.t() @ b).unsqueeze(0)
    n_max, slices = _graph_slices(batch, num_graphs, a.size(0), counts)
    if slices is None:
        from torch_geometric.utils import to_dense_batch

        ad, _ = to_dense_batch(a, batch, batch_size=num_graphs, max_num_nodes=n_max)
        bd, _ = to_dense_batch(b, batch, batch_size=num_graphs, max_num_nodes=n_max)
        return ad.transpose(1, 2) @ bd
    return torch.stack([a[s:e].t() @ b[s:e] for s, e in slices])


def segment_mm(a: Tensor, m: Tensor, batch: Tensor, num_graphs: int, counts: Optional[Tensor] = None) -> Tensor:
    """``a_i @ m[batch[i]]`` for every row ``i``: ``[N, m.size(-1)]`` (``batch`` sorted)."""
    if num_graphs == 1:
        return a @ m[0]
    n_max, slices = _graph_slices(batch, num_graphs, a.size(0), counts)
    if slices is None:
        from torch_geometric.utils import to_dense_batch

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


# ---------------------------------------------------------------------------
# adjacency products over the edges
# ---------------------------------------------------------------------------
def csr_crow(row: Tensor, num_rows: int) -> Tensor:
    """CSR row pointers ``[num_rows + 1]`` for entries whose (sorted) rows are ``row``."""
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=row.device)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=num_rows), 0)
    return crow


def csr_rows(crow: Tensor, nnz: Optional[int] = None) -> Tensor:
    """The row of every entry of a CSR matrix with row pointers ``crow``: ``[nnz]``, the
    inverse of :func:`csr_crow`.  A cumulative sum over row starts: on the CPU several times
    faster than ``repeat_interleave(arange(rows), counts)`` (0.8 against 6 ms for 1.4M entries)."""
    nnz = int(crow[-1]) if nnz is None else nnz
    starts = torch.zeros(nnz + 1, dtype=torch.long, device=crow.device)
    starts.index_add_(0, crow[1:-1], torch.ones_like(crow[1:-1]))  # empty rows: several at one entry
    return starts[:nnz].cumsum_(0)


def csr_mm(A: Tensor, dense: Tensor) -> Tensor:
    """``A @ dense`` for a CSR ``A``, into an uninitialised result with ``beta=0``: ``torch.mm`` and
    ``torch.sparse.mm`` first make a zeroed ``[rows, cols]`` and copy it (3x the product's time on
    the CPU at ``[10⁴, 470]``).  No autograd."""
    out = dense.new_empty(A.size(0), dense.size(1))
    return torch.addmm(out, A, dense, beta=0, out=out)


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
