r"""The auxiliary losses of the clustering poolers, one named function each.

Every loss reads a :class:`Coarsening`: a soft assignment ``S`` (probabilities) of a
batch of graphs together with the adjacency ``A`` it coarsens, in either layout:

* :class:`DenseCoarsening` ``(adj, S, mask=None, cluster_mask=None)``: padded ``[B, N, ·]``
  tensors, as PyG's dense poolers take them;
* :class:`SparseCoarsening` ``(edge_index, edge_weight, S, batch=None, cluster_mask=None)``:
  ``S`` per node ``[N, C]`` and the weighted edges; no ``[B, N, N]`` tensor is formed.

A loss is written once, for both layouts, and returns one value per graph ``[B]``; the
cores of :mod:`hipool.nn.functional` average them over the graphs that have nodes.  So
MinCut's loss on either layout is::

    c = DenseCoarsening(adj, torch.softmax(s, -1), mask)
    mincut_loss(c)  # [B]

Notation, per graph: ``n`` nodes, ``k`` clusters it may use (``cluster_mask``; ``k = C``
unless the graph has fewer than ``C`` nodes), ``D = diag(d)`` with ``d = A 1`` the weighted
degrees and ``2m = Σ_i d_i``.  The pooled quantities (``SᵀAS``, ``SᵀS``) are computed once
per coarsening and shared by the losses that read them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.utils import coalesce

from ..ops import segment_sum, segment_tmm
from .cluster_core import MAX_CHUNKS, PIECE_ELEMENTS, LinearLogits, Products, sparse_products

#: Added inside ``log`` and to degrees before dividing (as PyG).
EPS = 1e-15

#: DiffPool's link loss ``‖A − SSᵀ‖_F`` divided by: ``‖A‖_F`` (``relative``),
#: ``n²`` (``nodes``, PyG's ``normalize=True``) or nothing (``none``).
LINK_NORMS = ("relative", "nodes", "none")

__all__ = [
    "LINK_NORMS",
    "Coarsening",
    "DenseCoarsening",
    "SparseCoarsening",
    "diffpool_link_loss",
    "diffpool_entropy_loss",
    "mincut_loss",
    "orthogonality_loss",
    "dmon_spectral_loss",
    "dmon_cluster_loss",
]


# ---------------------------------------------------------------------------
# safe arithmetic
# ---------------------------------------------------------------------------
def safe_sqrt(v: Tensor) -> Tensor:
    """``sqrt(v)`` whose gradient is 0, not ``0 · inf = NaN``, where ``v = 0``.

    A pooled node with no edges has degree 0: the clusters a small graph cannot use
    (``k_g < C``), a one-cluster graph (its diagonal is zeroed), a graph with no edges.
    Its row of ``A'`` is 0, so nothing flows through ``1/√d`` and the value is the same;
    but ``torch.sqrt``'s backward multiplies that 0 by ``1/(2√0) = inf``, and the NaN
    spread to every parameter.  Where ``v > 0`` values and gradients equal ``torch.sqrt``'s.
    """
    pos = v > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, v, torch.ones_like(v))), torch.zeros_like(v))


def safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den > 0``, else 0 (a graph with no edges has no cut to score)."""
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


class _RowEntropy(torch.autograd.Function):
    """``−Σ_c S_c log(S_c + ε)`` of every row, saving only ``S``: forward and backward run over
    pieces of rows, so ``log(S + ε)`` and the other ``[N, C]`` intermediates of plain autograd
    (it keeps ``S + ε`` and ``log(S + ε)`` for the backward) are never whole."""

    @staticmethod
    def forward(ctx, S: Tensor) -> Tensor:
        rows = S.reshape(-1, S.size(-1))
        out = rows.new_empty(rows.size(0))
        for r in _row_pieces(rows):
            out[r] = -(rows[r] * torch.log(rows[r] + EPS)).sum(-1)
        ctx.save_for_backward(S)
        return out.view(S.shape[:-1])

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (S,) = ctx.saved_tensors
        rows, g = S.reshape(-1, S.size(-1)), grad.reshape(-1, 1)
        out = torch.empty_like(rows)
        for r in _row_pieces(rows):
            shifted = rows[r] + EPS
            out[r] = (torch.log(shifted) + rows[r] / shifted) * -g[r]
        return out.view(S.shape)


def _row_pieces(rows: Tensor):
    step = max(1, PIECE_ELEMENTS // max(1, rows.size(1)), -(-rows.size(0) // MAX_CHUNKS))
    return (slice(s, s + step) for s in range(0, rows.size(0), step))


def row_entropy(S: Tensor) -> Tensor:
    """The entropy ``−Σ_c S_c log(S_c + ε)`` of every row of ``S`` ``[..., C]``: ``[...]``."""
    return _RowEntropy.apply(S)


# ---------------------------------------------------------------------------
# a coarsening, in two layouts
# ---------------------------------------------------------------------------
class Coarsening:
    """A soft assignment of a batch of graphs and the adjacency it coarsens: what the losses read.

    The two layouts share these members; pooled quantities are computed on first use
    and kept.

    Attributes:
        S: the assignment probabilities: ``[B, N, C]`` (zero on padded rows) or ``[N, C]``.
        num_nodes: nodes per graph ``[B]`` (int64).
        cluster_mask: the clusters each graph may use ``[B, C]`` (bool).
        degree: weighted degree ``d_i = Σ_j A_ij`` of every node: ``[B, N]`` or ``[N]``.
        pooled_adj: ``SᵀAS`` per graph ``[B, C, C]``.
        gram: ``SᵀS`` per graph ``[B, C, C]``.
        cluster_size: ``Sᵀ1``, the soft size of every cluster ``[B, C]``.
        pooled_degree: ``Sᵀd``, the volume of every cluster ``[B, C]``.
        pooled_x: ``SᵀX`` per graph ``[B, C, F]`` of the node features ``x`` the coarsening was
            built with.
        reconstruction_error: ``‖A − SSᵀ‖_F`` per graph ``[B]``.
        adj_frobenius: ``‖A‖_F`` per graph ``[B]``.
    """

    S: Tensor
    num_nodes: Tensor
    cluster_mask: Tensor
    #: Node features to coarsen with ``S`` (laid out like its rows), or ``None``.
    x: Optional[Tensor] = None

    # Each layout computes these on first use (cached properties of the subclasses).
    @property
    def degree(self) -> Tensor:
        raise NotImplementedError

    @property
    def pooled_adj(self) -> Tensor:
        raise NotImplementedError

    @property
    def gram(self) -> Tensor:
        raise NotImplementedError

    @property
    def reconstruction_error(self) -> Tensor:
        raise NotImplementedError

    @property
    def adj_frobenius(self) -> Tensor:
        raise NotImplementedError

    def graph_sum(self, v: Tensor) -> Tensor:
        """Per-graph sums over the nodes of a per-node ``v`` (laid out like the rows of ``S``):
        ``[B, *v.shape[node axis + 1:]]``."""
        raise NotImplementedError

    def pool(self, v: Tensor) -> Tensor:
        """``S_gᵀ v_g`` for every graph ``g``: ``[B, C, ·]`` for a per-node ``[·]``-wide ``v``."""
        raise NotImplementedError

    @property
    def pooled_x(self) -> Tensor:
        raise NotImplementedError

    @property
    def cluster_size(self) -> Tensor:
        raise NotImplementedError

    @property
    def pooled_degree(self) -> Tensor:
        raise NotImplementedError

    def _features(self) -> Tensor:
        if self.x is None:
            raise ValueError(f"{type(self).__name__} was built without node features 'x'; pass x= to pool them")
        return self.x

    @cached_property
    def trace(self) -> Tensor:
        """``tr(SᵀAS)`` per graph ``[B]``."""
        return torch.diagonal(self.pooled_adj, dim1=-2, dim2=-1).sum(-1)

    @cached_property
    def sizes(self) -> Tensor:
        """``n`` per graph in ``S``'s dtype, at least 1 (the divisor of per-node means)."""
        return self.num_nodes.to(self.S.dtype).clamp_min(1)

    @cached_property
    def num_clusters(self) -> Tensor:
        """``k`` per graph in ``S``'s dtype: the clusters it may use."""
        return self.cluster_mask.sum(-1).to(self.S.dtype)


class DenseCoarsening(Coarsening):
    """:class:`Coarsening` of padded tensors.

    Args:
        adj: adjacency ``[B, N, N]``.
        S: assignment probabilities ``[B, N, C]``; rows ``mask`` marks as padding are zeroed.
        mask: the real nodes ``[B, N]`` (default: all).
        cluster_mask: the clusters each graph may use ``[B, C]`` (default: all).
        x: node features ``[B, N, F]`` for :attr:`pooled_x` (default: none).
    """

    def __init__(
        self,
        adj: Tensor,
        S: Tensor,
        mask: Optional[Tensor] = None,
        cluster_mask: Optional[Tensor] = None,
        x: Optional[Tensor] = None,
    ):
        b, n, c = S.shape
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=S.device)
        if cluster_mask is None:
            cluster_mask = torch.ones(b, c, dtype=torch.bool, device=S.device)
        self.adj, self.mask, self.cluster_mask, self.x = adj, mask, cluster_mask, x
        self.S = S * mask.unsqueeze(-1).to(S.dtype)
        self.num_nodes = mask.sum(-1)

    def graph_sum(self, v: Tensor) -> Tensor:
        return v.sum(1)

    def pool(self, v: Tensor) -> Tensor:
        return self.S.transpose(1, 2) @ v

    @cached_property
    def degree(self) -> Tensor:
        return self.adj.sum(-1) * self.mask.to(self.adj.dtype)

    @cached_property
    def pooled_adj(self) -> Tensor:
        return self.pool(self.adj) @ self.S

    @cached_property
    def gram(self) -> Tensor:
        return self.pool(self.S)

    @cached_property
    def pooled_x(self) -> Tensor:
        return self.pool(self._features())

    @cached_property
    def cluster_size(self) -> Tensor:
        return self.S.sum(1)

    @cached_property
    def pooled_degree(self) -> Tensor:
        return self.pool(self.degree.unsqueeze(-1)).squeeze(-1)

    @cached_property
    def reconstruction_error(self) -> Tensor:
        return torch.linalg.matrix_norm(self.adj - self.S @ self.S.transpose(1, 2))

    @cached_property
    def adj_frobenius(self) -> Tensor:
        return torch.linalg.matrix_norm(self.adj)


class SparseCoarsening(Coarsening):
    """:class:`Coarsening` of a sparse batch: memory grows with ``edges`` and ``nodes × clusters``,
    never ``N²``.  The pooled quantities (``SᵀAS``, ``SᵀS``, ``SᵀX``, ``Sᵀ1``, ``Sᵀd``) come from
    one :func:`~hipool.nn.cluster_core.sparse_products`, whose backward keeps only ``S``.

    Args:
        edge_index: edges ``[2, E]``; ``A[i, j]`` is the weight of edge ``i → j``, duplicates summed.
        edge_weight: ``[E]`` (default: all 1).
        S: assignment probabilities ``[N, C]``, their logits with ``logits=True``, or a
            :class:`~hipool.nn.cluster_core.LinearLogits`.
        batch: graph of every node ``[N]``, sorted (default: one graph).
        cluster_mask: the clusters each graph may use ``[B, C]`` (default: all).
        num_graphs: ``B`` (default: ``batch[-1] + 1``).
        counts: nodes per graph ``[B]`` (default: counted from ``batch``).
        x: node features ``[N, F]`` for :attr:`pooled_x` (default: none).
        logits: ``S`` holds logits, overwritten by their softmax.  With logits or
            :class:`~hipool.nn.cluster_core.LinearLogits` the probabilities (:attr:`S`) and the
            pooled quantities are computed at once, not on first use, so that the softmax's
            backward runs in place (see :func:`~hipool.nn.cluster_core.sparse_products`).
    """

    def __init__(
        self,
        edge_index: Tensor,
        edge_weight: Optional[Tensor],
        S: Union[Tensor, LinearLogits],
        batch: Optional[Tensor] = None,
        cluster_mask: Optional[Tensor] = None,
        *,
        num_graphs: Optional[int] = None,
        counts: Optional[Tensor] = None,
        x: Optional[Tensor] = None,
        logits: bool = False,
    ):
        head = isinstance(S, LinearLogits)
        self._input = S.h if isinstance(S, LinearLogits) else S
        C = S.weight.size(0) if isinstance(S, LinearLogits) else S.size(1)
        if batch is None:
            batch = torch.zeros(self._input.size(0), dtype=torch.long, device=self._input.device)
        if num_graphs is None:
            num_graphs = int(batch[-1]) + 1 if batch.numel() else 0
        if counts is None:
            counts = torch.bincount(batch, minlength=num_graphs)
        if cluster_mask is None:
            cluster_mask = torch.ones(num_graphs, C, dtype=torch.bool, device=self._input.device)
        self.edge_index, self.edge_weight, self.x, self._assignment, self._logits = (
            edge_index,
            edge_weight,
            x,
            S,
            logits,
        )
        self.batch, self.num_graphs, self.num_nodes, self.cluster_mask = batch, num_graphs, counts, cluster_mask
        self.S = self._products.S if logits or head else self._input

    def graph_sum(self, v: Tensor) -> Tensor:
        return segment_sum(v, self.batch, self.num_graphs)

    def pool(self, v: Tensor) -> Tensor:
        return segment_tmm(self.S, v, self.batch, self.num_graphs, self.num_nodes)

    @cached_property
    def _weights(self) -> Tensor:
        w = self.edge_weight
        return w if w is not None else self._input.new_ones(self.edge_index.size(1))

    @cached_property
    def degree(self) -> Tensor:
        d = self._input.new_zeros(self._input.size(0))
        return d.index_add_(0, self.edge_index[0], self._weights)

    @cached_property
    def _products(self) -> Products:
        """The pooled quantities in one pass."""
        return sparse_products(
            self._assignment,
            self.x,
            self.degree,
            self.edge_index,
            self.edge_weight,
            self.batch,
            self.num_nodes,
            logits=self._logits,
        )

    @cached_property
    def pooled_adj(self) -> Tensor:
        return self._products.adj

    @cached_property
    def gram(self) -> Tensor:
        return self._products.gram

    @cached_property
    def pooled_x(self) -> Tensor:
        self._features()
        return self._products.x

    @cached_property
    def cluster_size(self) -> Tensor:
        return self._products.size

    @cached_property
    def pooled_degree(self) -> Tensor:
        return self._products.degree

    @cached_property
    def _adj_squared(self) -> Tensor:
        """``‖A‖²_F`` per graph: duplicate edges summed first."""
        ei, w = coalesce(self.edge_index, self._weights, num_nodes=self.S.size(0), reduce="sum")
        return segment_sum(w * w, self.batch[ei[0]], self.num_graphs)

    @cached_property
    def reconstruction_error(self) -> Tensor:
        # ‖A − SSᵀ‖² = ‖A‖² − 2 tr(SᵀAS) + ‖SᵀS‖², with no [N, N] term.
        sq = self._adj_squared - 2 * self.trace + (self.gram * self.gram).sum((-1, -2))
        return torch.sqrt(sq.clamp_min(1e-20))

    @cached_property
    def adj_frobenius(self) -> Tensor:
        return safe_sqrt(self._adj_squared)


# ---------------------------------------------------------------------------
# the losses: one value per graph
# ---------------------------------------------------------------------------
def diffpool_link_loss(c: Coarsening, link_norm: str = "nodes") -> Tensor:
    r"""DiffPool's link prediction loss (Ying et al., NeurIPS 2018), per graph ``[B]``:

    .. math::
        \mathcal{L}_{\mathrm{link}} = \frac{\left\| \mathbf{A} - \mathbf{S}\mathbf{S}^{\top}
        \right\|_F}{\nu}

    with :math:`\nu` chosen by ``link_norm`` (:data:`LINK_NORMS`): ``"nodes"`` :math:`n^2`
    (PyG's ``normalize=True``), ``"relative"`` :math:`\|\mathbf{A}\|_F` (:math:`n` for a
    graph without edges, whose whole error is :math:`\mathbf{S}\mathbf{S}^{\top}`), ``"none"`` 1.
    """
    if link_norm not in LINK_NORMS:
        raise ValueError(f"diffpool_link_loss: 'link_norm' must be one of {', '.join(LINK_NORMS)}, got {link_norm!r}")
    link = c.reconstruction_error
    if link_norm == "nodes":
        return link / c.sizes**2
    if link_norm == "relative":
        a = c.adj_frobenius
        return link / torch.where(a > 0, a, c.sizes)
    return link


def diffpool_entropy_loss(c: Coarsening, entropy_norm: bool = False) -> Tensor:
    r"""DiffPool's entropy loss (Ying et al., NeurIPS 2018), per graph ``[B]``: the mean entropy
    of the node assignments,

    .. math::
        \mathcal{L}_{\mathrm{E}} = \frac{1}{n} \sum_{i=1}^{n} \sum_{j} -S_{ij} \log S_{ij}

    divided by its maximum :math:`\log k` with ``entropy_norm`` (so in ``[0, 1]``; 0 stays 0
    for :math:`k = 1`).
    """
    ent = c.graph_sum(row_entropy(c.S)) / c.sizes
    if entropy_norm:
        ent = ent / c.num_clusters.clamp_min(2).log()
    return ent


def mincut_loss(c: Coarsening) -> Tensor:
    r"""MinCut's cut loss (Bianchi et al., ICML 2020), per graph ``[B]``:

    .. math::
        \mathcal{L}_c = - \frac{\mathrm{Tr}(\mathbf{S}^{\top} \mathbf{A} \mathbf{S})}
        {\mathrm{Tr}(\mathbf{S}^{\top} \mathbf{D} \mathbf{S})}

    where :math:`\mathbf{D}` is the degree matrix; 0 for a graph without edges.
    """
    S = c.S
    return -safe_div(c.trace, c.graph_sum(c.degree * (S * S).sum(-1)))


def orthogonality_loss(c: Coarsening) -> Tensor:
    r"""The orthogonality loss of MinCut and DMoN (Bianchi et al., ICML 2020), per graph ``[B]``:

    .. math::
        \mathcal{L}_o = \left\| \frac{\mathbf{S}^{\top} \mathbf{S}}
        {\|\mathbf{S}^{\top} \mathbf{S}\|_F} - \frac{\mathbf{I}_k}{\sqrt{k}} \right\|_F

    with :math:`k` the graph's clusters (``cluster_mask``).
    """
    ss = c.gram
    eye = torch.diag_embed(c.cluster_mask.to(ss.dtype)) / c.num_clusters.clamp_min(1).sqrt().view(-1, 1, 1)
    norm = torch.linalg.matrix_norm(ss, keepdim=True)
    return torch.linalg.matrix_norm(ss / norm - eye)


def dmon_spectral_loss(c: Coarsening) -> Tensor:
    r"""DMoN's spectral loss, the negative modularity (Tsitsulin et al., JMLR 2023), per graph ``[B]``:

    .. math::
        \mathcal{L}_s = - \frac{1}{2m} \mathrm{Tr}\left(\mathbf{S}^{\top}
        \left(\mathbf{A} - \frac{\mathbf{d}\mathbf{d}^{\top}}{2m}\right) \mathbf{S}\right)
        = - \left(\frac{\mathrm{Tr}(\mathbf{S}^{\top}\mathbf{A}\mathbf{S})}{2m}
        - \left\| \frac{\mathbf{S}^{\top}\mathbf{d}}{2m} \right\|^2 \right)

    0 for a graph without edges.  Computed in the second form: equal, but every quotient
    is in ``[0, 1]``.  The textbook order squares :math:`\mathbf{S}^{\top}\mathbf{d}` first,
    which underflows to 0 for small weights (1e-30 in float32: the loss came out −1 instead
    of 0) and whose gradient :math:`1/(2m)^2` overflows to inf, then NaN at the clusters with
    :math:`\mathbf{S}^{\top}\mathbf{d} = 0`.
    """
    two_m = c.graph_sum(c.degree)
    share = safe_div(c.pooled_degree, two_m.unsqueeze(-1))
    return -(safe_div(c.trace, two_m) - (share * share).sum(-1))


def dmon_cluster_loss(c: Coarsening) -> Tensor:
    r"""DMoN's collapse regulariser (Tsitsulin et al., JMLR 2023), per graph ``[B]``:

    .. math::
        \mathcal{L}_{\mathrm{cluster}} = \frac{\sqrt{k}}{n}
        \left\| \sum_{i=1}^{n} \mathbf{S}_i \right\|_2 - 1

    0 when the clusters have equal sizes, :math:`\sqrt{k} - 1` when all nodes share one.
    """
    return torch.linalg.vector_norm(c.cluster_size, dim=-1) / c.sizes * c.num_clusters.sqrt() - 1
