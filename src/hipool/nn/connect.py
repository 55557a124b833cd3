"""Connect: the edges of a pooled graph."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from ..checks import check_edge_index_type, checks_enabled
from ..record import DROPPED


def filter_edges(
    edge_index: Tensor,
    edge_attr: Optional[Tensor],
    cluster: Tensor,
    edge_weight: Optional[Tensor] = None,
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Keep the edges whose both ends survive, renumbered to output nodes.

    ``cluster`` maps every input node to its output node or ``DROPPED``
    (one input node per output node, as in node selection): ``A' = A[i, i]``.
    ``edge_attr`` of any width and ``edge_weight`` are carried along with their
    edges.  Returns ``(edge_index, edge_attr, edge_weight)``.  Arguments of another type or
    shape, or (while checks are on; one synchronisation) edges outside ``cluster``, are a
    ``ValueError``.
    """
    if not isinstance(cluster, Tensor) or cluster.dim() != 1 or cluster.dtype != torch.long:
        got = f"{cluster.dtype} {tuple(cluster.shape)}" if isinstance(cluster, Tensor) else type(cluster).__name__
        raise ValueError(f"filter_edges: 'cluster' must be an int64 [N] tensor, got {got}")
    check_edge_index_type(edge_index, "filter_edges")
    for name, t in (("edge_attr", edge_attr), ("edge_weight", edge_weight)):
        if t is not None and (not isinstance(t, Tensor) or t.dim() == 0 or t.size(0) != edge_index.size(1)):
            rows = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"filter_edges: '{name}' must have one row per edge ({edge_index.size(1)}), got {rows}")
    if checks_enabled() and edge_index.numel() and not bool(((edge_index >= 0) & (edge_index < cluster.numel())).all()):
        raise ValueError(
            f"filter_edges: 'edge_index' refers to nodes outside [0, {cluster.numel()}) (the nodes 'cluster' maps)"
        )
    return _filter_edges(edge_index, edge_attr, cluster, edge_weight)


def _filter_edges(
    edge_index: Tensor, edge_attr: Optional[Tensor], cluster: Tensor, edge_weight: Optional[Tensor] = None
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """:func:`filter_edges` without its checks (for the poolers, whose input checks did them)."""
    row, col = cluster[edge_index[0]], cluster[edge_index[1]]
    mask = (row != DROPPED) & (col != DROPPED)
    edge_index = torch.stack([row[mask], col[mask]])
    if edge_attr is not None:
        edge_attr = edge_attr[mask]
    if edge_weight is not None:
        edge_weight = edge_weight[mask]
    return edge_index, edge_attr, edge_weight
