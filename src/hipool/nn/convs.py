"""PyG message-passing layers by config name, and whether they read edge weights."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import MLP, GCNConv, GINConv, GraphConv, SAGEConv

CONV_NAMES = ("gcn", "graphconv", "gin", "sage")

#: Convs whose ``forward`` takes an ``edge_weight`` (the pooled graphs of clustering poolers are
#: weighted); ``sage`` and ``gin`` treat every edge as weight 1.
WEIGHTED_CONVS = ("gcn", "graphconv")


def make_conv(kind: str, in_channels: int, out_channels: int) -> torch.nn.Module:
    """A PyG message-passing layer by config name."""
    if kind == "gcn":
        return GCNConv(in_channels, out_channels)
    if kind == "graphconv":
        return GraphConv(in_channels, out_channels)
    if kind == "sage":
        return SAGEConv(in_channels, out_channels)
    if kind == "gin":
        return GINConv(MLP([in_channels, out_channels, out_channels], norm=None), train_eps=True)
    raise ValueError(f"unknown conv {kind!r}; choose from {', '.join(CONV_NAMES)}")


def run_conv(conv: torch.nn.Module, weighted: bool, x: Tensor, edge_index: Tensor,
             edge_weight: Optional[Tensor]) -> Tensor:
    """``conv(x, edge_index[, edge_weight])``, passing weights only to a conv that reads them."""
    if weighted and edge_weight is not None:
        return conv(x, edge_index, edge_weight)
    return conv(x, edge_index)
