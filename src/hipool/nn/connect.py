"""Connect: the edges of a pooled graph."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

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
    edges.  Returns ``(edge_index, edge_attr, edge_weight)``.
    """
    row, col = cluster[edge_index[0]], cluster[edge_index[1]]
    mask = (row != DROPPED) & (col != DROPPED)
    edge_index = torch.stack([row[mask], col[mask]])
    if edge_attr is not None:
        edge_attr = edge_attr[mask]
    if edge_weight is not None:
        edge_weight = edge_weight[mask]
    return edge_index, edge_attr, edge_weight
