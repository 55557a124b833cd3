r"""The auxiliary losses of :class:`~hipool.nn.cut_poolers.JustBalancePool`,
:class:`~hipool.nn.cut_poolers.HOSCPool` and :class:`~hipool.nn.cut_poolers.ACCPool`.

Like the losses of :mod:`hipool.nn.losses`, each reads a :class:`~hipool.nn.losses.Coarsening`
(a soft assignment ``S`` and the adjacency ``A`` it coarsens, padded or sparse) and returns one
value per graph ``[B]``; the cores of :mod:`hipool.nn.functional` average them over the graphs
that have nodes.  Notation, per graph: ``n`` nodes, ``k`` clusters it may use (``cluster_mask``),
``d = A 1`` the weighted degrees, ``s_i`` row ``i`` of ``S`` and ``S_{:,c}`` column ``c``.

Two losses need more of the graph than :class:`~hipool.nn.losses.Coarsening` exposes, and read
the layout's own tensors (no ``[N, N]`` tensor in the sparse layout):

* :func:`hosc_cut_loss`'s triangle-motif adjacency ``A_M = (A A) ∘ A``: densely in the padded
  layout, per edge in the sparse one (:func:`triangle_adjacency`, ``O(Σ_l d_l²)`` wedges);
* :func:`totvar_loss`'s per-edge differences ``‖s_i − s_j‖₁`` over the nonzero entries of ``A``
  and :func:`asym_norm_loss`'s per-graph column quantiles (a partial sort, ``torch.topk``, per
  graph when there are few graphs; two sorts of ``[N, C]`` otherwise).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import coalesce

from ..ops import csr_crow
from .losses import Coarsening, DenseCoarsening, SparseCoarsening, safe_div, safe_sqrt

__all__ = [
    "just_balance_loss",
    "normalized_cut_loss",
    "hosc_cut_loss",
    "hosc_balance_loss",
    "totvar_loss",
    "asym_norm_loss",
    "triangle_adjacency",
    "motif_coarsening",
]


def _layout_error(c) -> TypeError:
    return TypeError(f"expected a DenseCoarsening or a SparseCoarsening, got {type(c).__name__}")


def _column_norms(c: Coarsening) -> Tensor:
    """``‖S_{:,c}‖₂`` for every graph and cluster ``[B, C]`` (gradient 0, not NaN, at an empty column)."""
    return safe_sqrt(c.graph_sum(c.S * c.S))


# ---------------------------------------------------------------------------
# Just Balance (Bianchi, NLDL 2023)
# ---------------------------------------------------------------------------
def just_balance_loss(c: Coarsening) -> Tensor:
    r"""The Just Balance loss (Bianchi, "Simplifying Clustering with Graph Neural Networks",
    NLDL 2023, arXiv:2207.08779), per graph ``[B]``:

    .. math::
        \mathcal{L}_b = - \frac{\mathrm{Tr}\left(\sqrt{\mathbf{S}^{\top}\mathbf{S}}\right)}{\sqrt{n k}}
        = - \frac{1}{\sqrt{n k}} \sum_{c=1}^{k} \left\| \mathbf{S}_{:,c} \right\|_2

    with the square root taken entry-wise (so only the diagonal of :math:`\mathbf{S}^{\top}\mathbf{S}`
    counts), divided by :math:`\sqrt{n k}` as the authors' code does with ``normalize=True``.  By
    Cauchy–Schwarz it lies in :math:`[-1, -1/\sqrt{k}]`: :math:`-1` for a hard assignment with
    :math:`n/k` nodes per cluster, :math:`-1/\sqrt{k}` for the uniform :math:`S = 1/k` (or for all
    nodes in one cluster).  :math:`n` and :math:`k` are the graph's own (the authors' padded batch
    uses the padded size for every graph).
    """
    return -_column_norms(c).sum(-1) / (c.sizes * c.num_clusters.clamp_min(1)).sqrt()


# ---------------------------------------------------------------------------
# HOSC (Duval & Malliaros, CIKM 2022)
# ---------------------------------------------------------------------------
def normalized_cut_loss(c: Coarsening) -> Tensor:
    r"""The relaxed normalised cut of HoscPool (Duval & Malliaros, CIKM 2022), per graph ``[B]``:

    .. math::
        \mathcal{L}_{\mathrm{cut}}(\mathbf{A}) = - \frac{1}{k} \sum_{c=1}^{k}
        \frac{(\mathbf{S}^{\top}\mathbf{A}\mathbf{S})_{cc}}{(\mathbf{S}^{\top}\mathbf{d})_c}

    the share of each cluster's (soft) volume :math:`\mathrm{vol}_c = \sum_i S_{ic} d_i` that stays
    inside it, averaged over the clusters: in :math:`[-1, 0]` for weights :math:`\ge 0`.  The
    denominator is the authors' code's (the row sums of :math:`\mathbf{S}^{\top}\mathbf{D}\mathbf{S}`,
    which equal :math:`\mathbf{S}^{\top}\mathbf{d}` as the rows of :math:`\mathbf{S}` sum to 1); the
    paper writes :math:`\mathbf{S}^{\top}\mathbf{D}\mathbf{S}`, the same for a hard assignment.  A
    cluster of volume 0 (no edges; a cluster the graph cannot use) counts 0, where the authors add
    ``1e-15`` to the volume; a volume below ``√tiny`` of the dtype is raised to it, so that the
    gradient stays finite.
    """
    assoc = torch.diagonal(c.pooled_adj, dim1=-2, dim2=-1)
    vol = c.pool(c.degree.unsqueeze(-1)).squeeze(-1)
    floor = torch.finfo(vol.dtype).tiny ** 0.5
    ratio = safe_div(assoc, torch.where(vol > 0, vol.clamp_min(floor), vol))
    return -ratio.sum(-1) / c.num_clusters.clamp_min(1)


def triangle_adjacency(edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""The triangle-motif adjacency :math:`\mathbf{A}_M = (\mathbf{A}\mathbf{A}) \circ \mathbf{A}` as
    weighted edges, without forming an ``[N, N]`` tensor.

    :math:`(\mathbf{A}_M)_{ij} = A_{ij} \sum_l A_{il} A_{lj}`: for a 0/1 symmetric :math:`\mathbf{A}`
    without self-loops, the number of triangles that contain the edge :math:`(i, j)`; with weights,
    the same sum of products (the authors' dense formula applied to the weighted adjacency;
    self-loops enter it as they do there).  ``A[i, j]`` is the weight of edge ``i → j`` (duplicates
    summed).  Computed by joining every edge ``(i, l)`` with every edge ``(l, j)`` (the
    :math:`\sum_l d^{in}_l d^{out}_l` wedges) and keeping the wedges that an edge ``(i, j)`` closes.

    Returns:
        ``(edge_index, weight)``: the edges of :math:`\mathbf{A}` that close at least one wedge,
        sorted by ``(row, col)``, and their :math:`(\mathbf{A}_M)_{ij}`; differentiable in
        ``edge_weight``.
    """
    w = edge_weight if edge_weight is not None else torch.ones(edge_index.size(1), device=edge_index.device)
    ei, w = coalesce(edge_index, w, num_nodes=num_nodes, reduce="sum")  # sorted by row * N + col
    src, dst = ei[0], ei[1]
    E = src.numel()
    if E == 0:
        return ei, w
    ptr = csr_crow(src, num_nodes)
    out_deg = ptr[1:] - ptr[:-1]
    per_edge = out_deg[dst]  # wedges (i, l) -> (l, j) starting with each edge (i, l)
    e1 = torch.repeat_interleave(torch.arange(E, device=src.device), per_edge)
    start = torch.cumsum(per_edge, 0) - per_edge
    e2 = ptr[dst][e1] + (torch.arange(e1.numel(), device=src.device) - start[e1])
    keys = src * num_nodes + dst  # sorted, unique
    closing = src[e1] * num_nodes + dst[e2]
    pos = torch.searchsorted(keys, closing).clamp(max=E - 1)
    hit = keys[pos] == closing
    pos, e1, e2 = pos[hit], e1[hit], e2[hit]
    two_hop = torch.zeros_like(w).index_add(0, pos, w[e1] * w[e2])  # (A A)_ij at every edge (i, j)
    closed = torch.zeros(E, dtype=torch.bool, device=src.device)
    closed[pos] = True
    return ei[:, closed], (w * two_hop)[closed]


def motif_coarsening(c: Coarsening) -> Coarsening:
    """The coarsening of the same ``S`` of the triangle-motif adjacency ``A_M = (A A) ∘ A`` (dense
    products in the padded layout, :func:`triangle_adjacency` in the sparse one)."""
    if isinstance(c, DenseCoarsening):
        return DenseCoarsening((c.adj @ c.adj) * c.adj, c.S, c.mask, c.cluster_mask)
    if isinstance(c, SparseCoarsening):
        w = c.edge_weight.to(c.S.dtype) if c.edge_weight is not None else c.S.new_ones(c.edge_index.size(1))
        ei, w = triangle_adjacency(c.edge_index, w, c.S.size(0))
        return SparseCoarsening(ei, w, c.S, c.batch, c.cluster_mask, num_graphs=c.num_graphs, counts=c.num_nodes)
    raise _layout_error(c)


def hosc_cut_loss(c: Coarsening, alpha: float = 0.5) -> Tensor:
    r"""HoscPool's motif spectral clustering loss (Duval & Malliaros, "Higher-order Clustering and
    Pooling for Graph Neural Networks", CIKM 2022), per graph ``[B]``:

    .. math::
        \mathcal{L}_{mc} = (1 - \alpha)\, \mathcal{L}_{\mathrm{cut}}(\mathbf{A})
        + \alpha\, \mathcal{L}_{\mathrm{cut}}(\mathbf{A}_M),
        \qquad \mathbf{A}_M = (\mathbf{A}\mathbf{A}) \circ \mathbf{A}

    with :math:`\mathcal{L}_{\mathrm{cut}}` the relaxed normalised cut
    (:func:`normalized_cut_loss`) and :math:`\mathbf{A}_M` the triangle-motif adjacency
    (:func:`triangle_adjacency`).  :math:`\alpha \in [0, 1]` is the weight of the higher-order
    (triangle) term, as in the authors' code (the paper's :math:`\alpha_1 = 1 - \alpha`,
    :math:`\alpha_2 = \alpha`); a term whose weight is 0 is not computed.  The triangle term is 0
    for a graph without triangles.  In :math:`[-1, 0]`.
    """
    first = normalized_cut_loss(c) if alpha < 1 else c.sizes.new_zeros(c.sizes.shape)
    if alpha <= 0:
        return first
    return (1 - alpha) * first + alpha * normalized_cut_loss(motif_coarsening(c))


def hosc_balance_loss(c: Coarsening) -> Tensor:
    r"""HoscPool's orthogonality regulariser (Duval & Malliaros, CIKM 2022; the authors'
    ``new_ortho=True``), per graph ``[B]``:

    .. math::
        \mathcal{L}_o = \frac{1}{\sqrt{k} - 1} \left( \sqrt{k} - \frac{1}{\sqrt{n}}
        \sum_{c=1}^{k} \left\| \mathbf{S}_{:,c} \right\|_2 \right)

    in :math:`[0, 1]`: 0 for a hard assignment with :math:`n/k` nodes per cluster, 1 for the
    uniform one.  0 for a graph with one cluster (:math:`k = 1`, where it is 0/0).
    """
    sk = c.num_clusters.sqrt()
    return safe_div(sk - _column_norms(c).sum(-1) / c.sizes.sqrt(), sk - 1)


# ---------------------------------------------------------------------------
# Asymmetric Cheeger Cut (Hansen & Bianchi, ICML 2023)
# ---------------------------------------------------------------------------
def _edges(c: Coarsening) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The nonzero entries of ``A`` (duplicate edges summed): ``(rows of S [R, C], src, dst, weight,
    graph)``, ``src``/``dst`` indexing those rows."""
    if isinstance(c, DenseCoarsening):
        b, n, C = c.S.shape
        g, i, j = (c.adj != 0).nonzero(as_tuple=True)
        return c.S.reshape(b * n, C), g * n + i, g * n + j, c.adj[g, i, j], g
    if isinstance(c, SparseCoarsening):
        w = c.edge_weight if c.edge_weight is not None else c.S.new_ones(c.edge_index.size(1))
        ei, w = coalesce(c.edge_index, w.to(c.S.dtype), num_nodes=c.S.size(0), reduce="sum")
        keep = w != 0
        src, dst = ei[0, keep], ei[1, keep]
        return c.S, src, dst, w[keep], c.batch[src]
    raise _layout_error(c)


def totvar_loss(c: Coarsening) -> Tensor:
    r"""The graph total variation loss of the Asymmetric Cheeger Cut (Hansen & Bianchi, "Total
    Variation Graph Neural Networks", ICML 2023), per graph ``[B]``:

    .. math::
        \mathcal{L}_{GTV} = \frac{1}{2 |\mathcal{E}|} \sum_{(i, j) \in \mathcal{E}}
        a_{ij} \left\| \mathbf{s}_i - \mathbf{s}_j \right\|_1

    over the stored edges :math:`\mathcal{E}` (the nonzero entries of :math:`\mathbf{A}`: both
    directions of an undirected edge, self-loops included, duplicates summed), as the authors' code
    counts them; for a symmetric 0/1 :math:`\mathbf{A}` without self-loops this is the paper's
    :math:`\frac{1}{2E}\sum` over its :math:`E` undirected edges, in :math:`[0, 1]`.  0 for a graph
    without edges.  The authors' code divides the sum over a whole batch by the batch's edge count;
    here each graph is divided by its own.
    """
    S, src, dst, w, graph = _edges(c)
    tv = (S[src] - S[dst]).abs().sum(-1) * w
    B = c.num_nodes.size(0)
    total = S.new_zeros(B).index_add(0, graph, tv)
    count = torch.bincount(graph, minlength=B).to(S.dtype)
    return safe_div(total, 2 * count)


#: Up to this many graphs in a sparse batch, :func:`_column_quantiles` takes each graph's top rows
#: (``torch.topk``); above it, two sorts of the whole ``[N, C]``.
_FEW_GRAPHS = 8


def _column_quantiles(c: Coarsening, rank: Tensor) -> Tensor:
    """Per graph and cluster, the entry of ``S_{:,c}`` at 0-based position ``rank[g]`` of the graph's
    values sorted in descending order: ``[B, C]``, differentiable (the gradient goes to that entry)."""
    if isinstance(c, DenseCoarsening):
        b, n, C = c.S.shape
        # Padded rows are 0 <= every real value: they sort after the graph's own n values.
        ordered = torch.sort(c.S, dim=1, descending=True).values
        idx = rank.clamp(0, max(n - 1, 0)).view(b, 1, 1).expand(b, 1, C)
        return ordered.gather(1, idx).squeeze(1)
    if isinstance(c, SparseCoarsening):
        S = c.S
        if c.num_nodes.numel() <= _FEW_GRAPHS:
            # A few (large) graphs: a partial sort (top rank + 1) of each graph's rows.
            out, row = [], 0
            for n, r in zip(c.num_nodes.tolist(), rank.tolist()):
                if n == 0:
                    out.append(S.new_zeros(S.size(1)))
                    continue
                out.append(torch.topk(S[row : row + n], min(r, n - 1) + 1, dim=0).values[-1])
                row += n
            return torch.stack(out) if out else S.new_zeros(0, S.size(1))
        by_value = torch.sort(S, dim=0, descending=True, stable=True).indices  # [N, C]
        by_graph = torch.sort(c.batch[by_value], dim=0, stable=True).indices  # graphs apart, order kept
        order = by_value.gather(0, by_graph)  # each graph's rows, descending within each column
        start = torch.cumsum(c.num_nodes, 0) - c.num_nodes
        pos = (start + rank).clamp(0, S.size(0) - 1)
        return S.gather(0, order[pos])
    raise _layout_error(c)


def _rows(c: Coarsening, per_graph: Tensor) -> Tensor:
    """A per-graph ``[B, ·]`` laid out like the rows of ``c.S``, zero on padded rows."""
    if isinstance(c, DenseCoarsening):
        return per_graph.unsqueeze(1) * c.mask.unsqueeze(-1).to(per_graph.dtype)
    if isinstance(c, SparseCoarsening):
        return per_graph[c.batch]
    raise _layout_error(c)


def asym_norm_loss(c: Coarsening) -> Tensor:
    r"""The asymmetric norm balance loss of the Asymmetric Cheeger Cut (Hansen & Bianchi, "Total
    Variation Graph Neural Networks", ICML 2023), per graph ``[B]``:

    .. math::
        \mathcal{L}_{AN} = \frac{\beta - \sum_{c=1}^{k} \left\| \mathbf{S}_{:,c}
        - \mathrm{quant}_{\rho}(\mathbf{S}_{:,c}) \right\|_{1,\rho}}{\beta},
        \qquad \|\mathbf{x}\|_{1,\rho} = \sum_i
        \begin{cases} \rho\, x_i & x_i \ge 0 \\ -x_i & x_i < 0 \end{cases}

    with :math:`\rho = k - 1` and :math:`\beta = n \rho`, in :math:`[0, 1]`: 0 for a hard assignment
    with :math:`n/k` nodes per cluster.  :math:`\mathrm{quant}_{\rho}(\mathbf{S}_{:,c})` is, as in the
    authors' code, the entry at 0-based position :math:`\lfloor n / k \rfloor` of the column sorted in
    descending order (the :math:`(\lfloor n/k \rfloor + 1)`-th largest).  :math:`n` and :math:`k` are
    the graph's own (the authors' padded batch uses the padded size); 0 for a graph with one cluster
    (:math:`\beta = 0`).
    """
    k = c.cluster_mask.sum(-1)
    rank = torch.minimum(torch.div(c.num_nodes, k.clamp_min(1), rounding_mode="floor"), (c.num_nodes - 1).clamp_min(0))
    quant = _column_quantiles(c, rank)
    rho = c.num_clusters - 1
    dev = c.S - _rows(c, quant)
    norm = torch.where(dev >= 0, _rows(c, rho.unsqueeze(-1)) * dev, -dev)
    norm = norm * _rows(c, c.cluster_mask.to(dev.dtype))
    beta = c.sizes * rho
    return safe_div(beta - c.graph_sum(norm.sum(-1)), beta)
