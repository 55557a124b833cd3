r"""Path-integral pooling: :class:`PANPooling` of Ma, Xuan, Wang, Li, Liò & Yan, "Path Integral
Based Convolution and Pooling for Graph Neural Networks" (NeurIPS 2020).

PAN weighs every walk between two nodes by a learned weight of its length,

.. math::
    W = \sum_{n=0}^{L} e^{-E(n)} A^n, \qquad z_i = \sum_j W_{ij},

(the paper's :math:`e^{-E(n)/T}` with the temperature folded into the learned energies
:math:`E(n)`), and normalises it to the maximal-entropy transition (MET) matrix :math:`M`:
``normalize="sym"`` :math:`M = Z^{-1/2} W Z^{-1/2}` (the paper's PANConv, default),
``"row"`` :math:`M = Z^{-1} W` (the MET matrix as first defined) or ``"none"`` :math:`M = W`.
The pooler keeps the best nodes by the paper's hybrid score

.. math::
    s = \beta_1 X p + \beta_2\, t(M), \qquad y = \tanh(s), \qquad
    X' = (X \odot y)_{\mathrm{top}_k(y)},

with :math:`t(M) = \mathrm{diag}(M)` (``score_term="diagonal"``, the paper's subgraph-centrality
term, default) or the column sums :math:`t_j = \sum_i M_{ij}` (``"degree"``, what PyG's
``PANPooling`` reads off the ``M`` of its ``PANConv``), and connects the kept nodes by ``M``:
``connect="paths"`` (default, as PAN and PyG) keeps every pair joined by a walk of length at most
:math:`L` (self-loops included), each an edge ``j → i`` of weight :math:`M_{ij}`;
``connect="edges"`` keeps only the input edges between kept nodes (as TopK), each weighted by
its :math:`M_{ij}`.

Here ``A`` is the input graph's (weighted) adjacency in PyG's message direction,
:math:`A_{ij}` = the summed ``edge_weight`` of the edges ``j → i`` (1 each without weights), so
:math:`W_{ij}` sums the walks from ``j`` to ``i``.  :math:`M` is computed sparse, one product per
walk length on the batch's block-diagonal adjacency (graphs are disjoint, so no walk leaves its
graph): never an ``[N, N]`` matrix.

**Differences from PyG's** ``PANPooling`` (which needs ``torch_sparse``: it does not run
without it, the reason hipool computes ``M`` itself):

* PyG reads ``M`` from a ``PANConv``; this pooler computes its own ``M`` from ``edge_index``
  and ``edge_weight`` (PyG's ``PANConv`` ignores edge weights) with its own learned path weights;
* PyG weighs :math:`A^n` by the product :math:`w_0 w_1 \cdots w_n` of its path weights and
  normalises by the *number* of non-zeros of each row of :math:`W`; this follows the paper:
  one weight :math:`e^{-E(n)}` per length (positive by construction) and the row sums :math:`z_i`;
* PyG's score goes through a ``SelectTopK`` whose 1×1 weight only sets its sign; here
  :math:`y = \tanh(s)` directly (as the authors' code); with ``min_score`` a softmax per graph;
* selection as :class:`~hipool.nn.TopKPooling`: exact ``ceil(ratio * n)``, ties broken by the
  lower node index, ``ratio=1.0`` keeps every node, ``sizes=`` (``schedule: auto``) supported.

``edge_attr`` (any width ``[E, *]``): with ``connect="edges"`` carried along the kept edges
exactly as TopK carries it (:func:`~hipool.nn.filter_edges`); with ``connect="paths"`` each
pooled pair ``j → i`` gets the sum of the ``edge_attr`` of the input edges ``j → i`` (parallel
edges add up) and zeros when no input edge joins them (a longer walk or an added self-loop).
The pooled ``edge_weight`` is always :math:`M`.

Cost: the walks of length ``<= L`` from every node, ``O(sum_n nnz(A^n))`` memory and time
(``L = 2``: about ``N`` times the mean number of nodes within two hops).
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.nn.resolver import activation_resolver
from torch_geometric.utils import scatter, softmax

from ..checks import (
    check_bool,
    check_int,
    check_number,
    check_ratio,
    check_sizes,
    param_device,
    param_dtype,
    prepare_pool_input,
)
from ..record import DROPPED, PoolOutput, cluster_from_perm
from .connect import _filter_edges
from .select import topk

NORMALIZATIONS = ("sym", "row", "none")
SCORE_TERMS = ("diagonal", "degree")
CONNECTIONS = ("paths", "edges")

#: Why PAN needs ``edge_weight >= 0`` (the reason named in the error).
_NONNEGATIVE = "PAN normalises by each node's total path weight, a sum of products of edge weights"


def walk_powers(
    edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None, max_length: int = 2
) -> List[Tuple[Tensor, Tensor]]:
    r"""The sparse powers :math:`A^0, \dots, A^L` (``L = max_length``) of the adjacency
    :math:`A_{ij}` = summed weight of the edges ``j → i``.

    Returns one ``(key, value)`` per power, ``key = i * num_nodes + j`` sorted and distinct (the
    structural non-zeros: an edge of weight 0 stays an entry), ``value`` :math:`(A^n)_{ij}`.
    Differentiable in ``edge_weight``.  Cost ``O(sum_n nnz(A^{n-1}) * mean out-degree)``.
    """
    n = num_nodes
    device = edge_index.device
    dtype = edge_weight.dtype if edge_weight is not None else torch.get_default_dtype()
    w = edge_weight if edge_weight is not None else torch.ones(edge_index.size(1), dtype=dtype, device=device)
    # A by its column (the source j): entries sorted by (source, target), parallel edges summed.
    src, dst = edge_index[0], edge_index[1]
    by_src, inv = torch.unique(src * n + dst, return_inverse=True)
    a_val = torch.zeros(by_src.numel(), dtype=dtype, device=device).index_add(0, inv, w)
    a_src = torch.div(by_src, n, rounding_mode="floor") if n else by_src
    a_dst = by_src - a_src * n
    counts = torch.bincount(a_src, minlength=n)
    start = torch.cumsum(counts, 0) - counts

    node = torch.arange(n, device=device)
    key, val = node * n + node, torch.ones(n, dtype=dtype, device=device)
    row, col = node, node
    powers = [(key, val)]
    for _ in range(max_length):
        # (A P)_{ij} = sum_k A_{ik} P_{kj}: every entry (k, j) of P meets every edge k -> i.
        fan = counts[row]
        entry = torch.repeat_interleave(torch.arange(row.numel(), device=device), fan)
        offset = torch.cumsum(fan, 0) - fan
        at = start[row][entry] + torch.arange(entry.numel(), device=device) - offset[entry]
        new_key = a_dst[at] * n + col[entry]
        key, inv = torch.unique(new_key, return_inverse=True)
        val = torch.zeros(key.numel(), dtype=dtype, device=device).index_add(0, inv, a_val[at] * val[entry])
        row = torch.div(key, n, rounding_mode="floor")
        col = key - row * n
        powers.append((key, val))
    return powers


def met_matrix(
    edge_index: Tensor,
    num_nodes: int,
    path_weights: Tensor,
    edge_weight: Optional[Tensor] = None,
    normalize: str = "sym",
) -> Tuple[Tensor, Tensor]:
    r"""The MET matrix :math:`M` of PAN with path weights ``path_weights`` ``[L + 1]`` (the weight of
    :math:`A^0, \dots, A^L`), as edges: ``(edge_index [2, nnz], weight [nnz])``, one edge ``j → i``
    of weight :math:`M_{ij}` per structural non-zero, sorted by ``(i, j)`` (PyG's order).

    ``normalize``: ``"sym"`` :math:`Z^{-1/2} W Z^{-1/2}`, ``"row"`` :math:`Z^{-1} W` or ``"none"``
    :math:`W`, with :math:`z_i = \sum_j W_{ij}`.  Differentiable in ``path_weights`` and
    ``edge_weight``.  Nodes whose total weight is 0 (possible only with ``path_weights[0] == 0``)
    keep weight 0.
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"met_matrix: 'normalize' must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    if not isinstance(path_weights, Tensor) or path_weights.dim() != 1 or path_weights.numel() < 1:
        raise ValueError("met_matrix: 'path_weights' must be a 1-D tensor [L + 1]")
    n = num_nodes
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=path_weights.dtype, device=edge_index.device)
    powers = walk_powers(edge_index, n, edge_weight, path_weights.numel() - 1)
    keys = torch.cat([k for k, _ in powers])
    values = torch.cat([path_weights[p].to(v.dtype) * v for p, (_, v) in enumerate(powers)])
    key, inv = torch.unique(keys, return_inverse=True)
    w = torch.zeros(key.numel(), dtype=values.dtype, device=values.device).index_add(0, inv, values)
    i = torch.div(key, n, rounding_mode="floor") if n else key
    j = key - i * n
    if normalize != "none":
        z = scatter(w, i, 0, dim_size=n, reduce="sum")
        if normalize == "sym":
            zs = torch.where(z > 0, z, torch.ones_like(z)).rsqrt() * (z > 0)
            w = zs[i] * w * zs[j]
        else:
            zr = torch.where(z > 0, z, torch.ones_like(z)).reciprocal() * (z > 0)
            w = zr[i] * w
    return torch.stack([j, i]), w


class PANPooling(torch.nn.Module):
    r"""PAN pooling (see the module docstring for the equations and the differences from PyG).

    Args:
        in_channels: width of ``x``.
        ratio: float in (0, 1] (fraction kept per graph, ``ceil(ratio * n)``, at least one node)
            or int ``k >= 1`` (``min(k, n)``), as :class:`~hipool.nn.TopKPooling`.  Default ``0.5``.
            Ignored when ``min_score`` is given.
        filter_size: the longest walk :math:`L >= 1` (PyG's ``filter_size``; its examples and
            the authors' default use 2).  Default ``2``.
        min_score: keep the nodes whose per-graph softmax score exceeds it (each graph keeps its
            best node), as TopK.  Default ``None``.
        multiplier: finite factor applied to the pooled features.  Default ``1``.
        nonlinearity: :math:`\sigma` of :math:`y = \sigma(s)`, a name or a callable.  Default ``"tanh"``.
        score_term: ``"diagonal"`` (:math:`M_{ii}`, the paper) or ``"degree"`` (column sums of
            :math:`M`, PyG).  Default ``"diagonal"``.
        normalize: ``"sym"``, ``"row"`` or ``"none"`` (see the module docstring).  Default ``"sym"``.
        connect: ``"paths"`` (walk pairs, PAN) or ``"edges"`` (input edges, TopK).  Default ``"paths"``.
        remove_self_loops: drop the pooled self-loops :math:`M_{ii}` (``connect="paths"`` adds
            one per kept node; ``"edges"`` has those of the input).  Default ``False`` (kept, as PyG).

    Parameters: ``p`` ``[in_channels]`` (ones), ``beta`` ``[2]`` (0.5 each) and ``path_energy``
    ``[filter_size + 1]`` (:math:`E(n) = \ln 2`, so every path weight starts at 0.5, as PyG's).

    Returns a :class:`~hipool.record.PoolOutput` (unpacks as PyG's 6-tuple); its ``edge_weight``
    is :math:`M` on the pooled edges.  Negative ``edge_weight`` raises ``ValueError``, as do
    constructor arguments out of range.
    """

    def __init__(
        self,
        in_channels: int,
        ratio: Union[float, int] = 0.5,
        *,
        filter_size: int = 2,
        min_score: Optional[float] = None,
        multiplier: float = 1.0,
        nonlinearity: Union[str, Callable] = "tanh",
        score_term: str = "diagonal",
        normalize: str = "sym",
        connect: str = "paths",
        remove_self_loops: bool = False,
    ):
        super().__init__()
        where = type(self).__name__
        check_int(in_channels, where, "in_channels")
        if ratio is None and min_score is None:
            raise ValueError(f"{where}: at least one of 'ratio' and 'min_score' must be given")
        check_ratio(ratio, where)
        check_int(filter_size, where, "filter_size", hint=" (the longest walk L; PyG's examples use 2)")
        check_number(min_score, where, "min_score", allow_none=True)
        check_number(multiplier, where, "multiplier")
        if not (isinstance(nonlinearity, str) or callable(nonlinearity)):
            raise ValueError(
                f"{where}: 'nonlinearity' must be an activation's name (e.g. 'tanh') or a callable, "
                f"got {nonlinearity!r}"
            )
        for name, value, allowed in (
            ("score_term", score_term, SCORE_TERMS),
            ("normalize", normalize, NORMALIZATIONS),
            ("connect", connect, CONNECTIONS),
        ):
            if value not in allowed:
                raise ValueError(f"{where}: '{name}' must be one of {', '.join(allowed)}, got {value!r}")
        self.in_channels = in_channels
        self.ratio = ratio
        self.filter_size = filter_size
        self.min_score = min_score
        self.multiplier = multiplier
        self.score_term = score_term
        self.normalize = normalize
        self.connect = connect
        self.remove_self_loops = check_bool(remove_self_loops, where, "remove_self_loops")
        self.act = activation_resolver(nonlinearity)
        self.p = torch.nn.Parameter(torch.empty(in_channels))
        self.beta = torch.nn.Parameter(torch.empty(2))
        self.path_energy = torch.nn.Parameter(torch.empty(filter_size + 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.p.fill_(1.0)
            self.beta.fill_(0.5)
            self.path_energy.fill_(math.log(2.0))

    @property
    def path_weights(self) -> Tensor:
        r"""The weight :math:`e^{-E(n)}` of the walks of each length ``n = 0 .. L``."""
        return torch.exp(-self.path_energy)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> PoolOutput:
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
            nonnegative_weights=_NONNEGATIVE,
        )
        sizes = check_sizes(sizes, batch, where)
        if sizes is not None and self.min_score is not None:
            raise ValueError(f"{where}: 'sizes' (schedule: auto) and 'min_score' exclude each other")
        n = x.size(0)
        m_index, m_weight = met_matrix(edge_index, n, self.path_weights, edge_weight, self.normalize)
        src, dst = m_index[0], m_index[1]
        if self.score_term == "diagonal":
            loops = src == dst
            term = x.new_zeros(n).index_add(0, dst[loops], m_weight[loops])
        else:
            term = scatter(m_weight, src, 0, dim_size=n, reduce="sum")
        score = self.beta[0] * torch.mv(x, self.p) + self.beta[1] * term
        score = self.act(score) if self.min_score is None else softmax(score, batch)

        perm = topk(score, self.ratio, batch, self.min_score, max_kept=sizes)
        score = score[perm]
        x = x[perm] * score.view(-1, 1)
        if self.multiplier != 1:
            x = self.multiplier * x
        cluster = cluster_from_perm(perm, n)

        if self.connect == "edges":
            pos = _positions(m_index, edge_index, n)
            ei, ea = edge_index, edge_attr
            if self.remove_self_loops:
                mask = ei[0] != ei[1]
                ei, ea, pos = ei[:, mask], (ea[mask] if ea is not None else None), pos[mask]
            new_ei, new_attr, new_w = _filter_edges(ei, ea, cluster, m_weight[pos])
        else:
            pair_attr = None
            if edge_attr is not None:
                pos = _positions(m_index, edge_index, n)
                flat = edge_attr.reshape(edge_attr.size(0), math.prod(edge_attr.shape[1:]))
                pair_attr = flat.new_zeros(src.numel(), flat.size(1)).index_add(0, pos, flat)
                pair_attr = pair_attr.view(src.numel(), *edge_attr.shape[1:])
            keep = (cluster[src] != DROPPED) & (cluster[dst] != DROPPED)
            if self.remove_self_loops:
                keep &= src != dst
            new_ei = cluster[m_index[:, keep]]
            new_w = m_weight[keep]
            new_attr = pair_attr[keep] if pair_attr is not None else None
        return PoolOutput(
            x=x,
            edge_index=new_ei,
            edge_attr=new_attr,
            batch=batch[perm],
            perm=perm,
            score=score,
            cluster=cluster,
            edge_weight=new_w,
        )

    def __repr__(self) -> str:
        arg = f"ratio={self.ratio}" if self.min_score is None else f"min_score={self.min_score}"
        return (
            f"{type(self).__name__}({self.in_channels}, {arg}, filter_size={self.filter_size}, "
            f"multiplier={self.multiplier})"
        )


def _positions(m_index: Tensor, edge_index: Tensor, n: int) -> Tensor:
    """For every input edge ``j → i``, the position of the pair ``(i, j)`` among ``M``'s entries
    (sorted by ``i * n + j``; every input edge is one of them, as ``L >= 1``)."""
    keys = m_index[1] * n + m_index[0]
    return torch.searchsorted(keys, edge_index[1] * n + edge_index[0])
