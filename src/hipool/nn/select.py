"""Select: which input nodes a selection pooler keeps.

:func:`topk` is a pure function over a score vector and a ``batch`` vector: the
per-graph top-``k`` without padding to ``[B, N_max]``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from ..checks import check_number, check_ratio, is_int


def num_kept(num_nodes: Tensor, ratio: Union[float, int]) -> Tensor:
    """Nodes kept per graph: ``min(k, n)`` for an int ``k``, ``ceil(ratio * n)`` for a float,
    and at least one node of every non-empty graph either way.

    The float case is computed in exact integer arithmetic on the decimal value
    of ``ratio`` (``0.1 * 30`` keeps 3 nodes, not 4 as ``ceil`` in float64
    would), so a float ratio of ``1.0`` keeps every node.  That value is
    ``ratio`` as a fraction of denominator at most 10^6 (so that ``n * p`` fits
    in int64); a tiny ratio (``1e-300``) rounds to 0, and the floor of one node
    keeps ``ceil(ratio * n) >= 1`` true.  PyG computes
    ``ceil`` in the score's dtype and treats ``ratio >= 1`` (floats included)
    as an int ``k``: its ``ratio=1.0`` keeps one node per graph.
    """
    if not isinstance(num_nodes, Tensor) or num_nodes.is_floating_point() or num_nodes.is_complex():
        got = num_nodes.dtype if isinstance(num_nodes, Tensor) else type(num_nodes).__name__
        raise ValueError(f"num_kept: 'num_nodes' must be an integer tensor (nodes per graph), got {got}")
    if ratio is None:
        raise ValueError("num_kept: 'ratio' must be a float in (0, 1] or an int k >= 1, got None")
    check_ratio(ratio, "num_kept")
    if is_int(ratio):
        return num_nodes.clamp(max=min(ratio, 2**62))  # a larger k keeps every node as well (int64)
    frac = Fraction(repr(float(ratio))).limit_denominator(1_000_000)
    p, q = frac.numerator, frac.denominator
    k = torch.div(num_nodes * p + (q - 1), q, rounding_mode="floor")
    return torch.minimum(k.clamp(min=1), num_nodes)


def topk(
    score: Tensor,
    ratio: Optional[Union[float, int]],
    batch: Optional[Tensor],
    min_score: Optional[float] = None,
    tol: float = 1e-7,
    max_kept: Optional[Tensor] = None,
) -> Tensor:
    """Indices of the nodes to keep, grouped by graph.

    Args:
        score: node scores ``[N]``.
        ratio: float in (0, 1] (fraction per graph, rounded up, at least one node) or
            int ``k >= 1`` (``min(k, n)`` nodes per graph).  Ignored when ``min_score`` is set.
        batch: sorted graph id of every node ``[N]`` (``None``: one graph).
        min_score: a finite number: keep nodes with ``score > min_score``, but never
            drop every node of a graph (its best node within ``tol`` always stays).
        max_kept: the most nodes each graph may keep ``[B]`` (``schedule: auto``, see
            :mod:`hipool.nn.auto`), on top of ``ratio`` (checked by
            :func:`~hipool.checks.check_sizes`; not with ``min_score``).

    Returns:
        ``perm`` ``[N']``: with ``ratio``, graph by graph, by descending score,
        ties broken by lower node index; with ``min_score``, by node index.
    """
    if not isinstance(score, Tensor) or score.dim() != 1 or not score.is_floating_point():
        got = f"{score.dtype} {tuple(score.shape)}" if isinstance(score, Tensor) else type(score).__name__
        raise ValueError(f"topk: 'score' must be a floating-point [N] tensor, got {got}")
    if batch is None:
        batch = torch.zeros(score.size(0), dtype=torch.long, device=score.device)
    if (
        not isinstance(batch, Tensor)
        or batch.dtype != torch.long
        or batch.shape != score.shape
        or batch.device != score.device
    ):
        got = (
            f"{batch.dtype} {tuple(batch.shape)} on {batch.device}"
            if isinstance(batch, Tensor)
            else type(batch).__name__
        )
        raise ValueError(f"topk: 'batch' must be an int64 [N={score.size(0)}] tensor on score's device, got {got}")
    if min_score is not None:
        if max_kept is not None:
            raise ValueError("topk: 'max_kept' (schedule: auto) and 'min_score' exclude each other")
        check_number(min_score, "topk", "min_score")
        scores_max = scatter(score, batch, reduce="max")[batch] - tol
        scores_min = scores_max.clamp(max=min_score)
        return (score > scores_min).nonzero().view(-1)
    if ratio is None:
        raise ValueError("topk: at least one of 'ratio' and 'min_score' must be given")
    check_ratio(ratio, "topk")

    n = score.size(0)
    if n == 0:
        return batch.new_empty(0)
    counts = torch.bincount(batch)
    k = num_kept(counts, ratio)
    if max_kept is not None:
        k = torch.minimum(k, max_kept[: k.numel()])
    order = _order_by_graph_then_score(score, batch)
    graph_of = batch[order]
    ptr = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n, device=score.device) - ptr[graph_of]
    return order[rank < k[graph_of]]


def _order_by_graph_then_score(score: Tensor, batch: Tensor) -> Tensor:
    """Node order by (graph ascending, score descending, index ascending)."""
    if score.dtype == torch.float32:
        # One stable sort on an int64 key: graph id in the high 32 bits, the score's
        # float32 bits (mapped to order-preserving signed ints) subtracted below them.
        bits = (score + 0.0).view(torch.int32).long()  # + 0.0: -0.0 and 0.0 tie, as floats do
        bits = torch.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
        return torch.sort((batch << 32) - bits, stable=True).indices
    order = torch.sort(score, descending=True, stable=True).indices
    return order[torch.sort(batch[order], stable=True).indices]
