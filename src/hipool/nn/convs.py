"""PyG message-passing layers by config name, and whether they read edge weights or features."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import MLP, GATv2Conv, GCNConv, GINConv, GINEConv, GraphConv, SAGEConv

from ..checks import is_int
from ..ops import csr_crow, csr_tensor

#: Convs that read only the graph's structure (and ``edge_weight`` where :data:`WEIGHTED_CONVS`).
CONV_NAMES = ("gcn", "graphconv", "gin", "sage")
#: Convs that read ``edge_attr`` (PyG's ``GINEConv`` and ``GATv2Conv`` with ``edge_dim``).
EDGE_CONVS = ("gine", "gatv2")
#: Every conv a model config may name.
CONVS = CONV_NAMES + EDGE_CONVS
#: Attention heads of ``gatv2`` (concatenated to ``out_channels`` when it divides by them).
GAT_HEADS = 4

#: Convs whose ``forward`` takes an ``edge_weight`` (the pooled graphs of clustering poolers are
#: weighted); ``sage`` and ``gin`` treat every edge as weight 1.
WEIGHTED_CONVS = ("gcn", "graphconv")


#: From this many edges in a batch on, a ``gin`` block hands its convs ``Aᵀ`` as one CSR tensor
#: (built once per block; PyG's sparse-adjacency path, a sparse-dense product) instead of
#: ``edge_index`` (a gather of ``[E, F]`` messages and a scatter): about a fifth less time per
#: step of the recipe on a 215k-node netlist (``benchmarks/scale.py``), and no ``[E, F]``
#: tensor.  The sums are the same up to float rounding; below it (every TU and molecule batch)
#: nothing changes, so recorded runs reproduce exactly.
SPARSE_AGGREGATION_EDGES = 1 << 19


def aggregation_adjacency(edge_index: Tensor, num_nodes: int, dtype: torch.dtype) -> Tensor:
    """``Aᵀ`` as a CSR tensor ``[N, N]``: row ``i`` holds the sources of the edges into ``i``, each
    distinct edge once with its multiplicity as value (a repeated edge counts as often as in
    PyG's scatter).  What an unweighted ``GINConv`` takes in place of ``edge_index``."""
    n = max(num_nodes, 1)
    key, count = torch.unique(edge_index[1] * n + edge_index[0], sorted=True, return_counts=True)
    dst = torch.div(key, n, rounding_mode="floor")
    return csr_tensor(csr_crow(dst, num_nodes), key - dst * n, count.to(dtype), (num_nodes, num_nodes))


def degree_normalised(conv: torch.nn.Module) -> bool:
    """Whether ``conv`` divides by the square root of weighted degrees (GCN's ``D^-1/2 A D^-1/2``):
    then a negative ``edge_weight`` can make a degree negative and the result NaN."""
    return isinstance(conv, GCNConv) and bool(getattr(conv, "normalize", True))


def make_conv(kind: str, in_channels: int, out_channels: int, edge_dim: Optional[int] = None) -> torch.nn.Module:
    """A PyG message-passing layer by config name; the edge-aware ones (``gine``: GINEConv,
    Hu et al. 2020; ``gatv2``: GATv2Conv, Brody et al. 2022) need ``edge_dim``."""
    if not isinstance(kind, str):
        raise ValueError(f"unknown conv {kind!r}; choose from {', '.join(CONV_NAMES + EDGE_CONVS)}")
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not is_int(v) or v < 1:
            raise ValueError(f"conv {kind!r}: '{name}' must be an int >= 1, got {v!r}")
    if kind in EDGE_CONVS:  # built with edge_dim=D, they map edge_attr into the messages themselves
        if edge_dim is None or not is_int(edge_dim) or edge_dim < 1:
            raise ValueError(f"conv {kind!r} reads edge_attr, so it needs its width (edge_dim), got {edge_dim!r}")
        if kind == "gine":
            return GINEConv(
                MLP([in_channels, out_channels, out_channels], norm=None), train_eps=True, edge_dim=edge_dim
            )
        heads = GAT_HEADS if out_channels % GAT_HEADS == 0 else 1
        return GATv2Conv(in_channels, out_channels // heads, heads=heads, edge_dim=edge_dim)
    if kind == "gcn":
        return GCNConv(in_channels, out_channels)
    if kind == "graphconv":
        return GraphConv(in_channels, out_channels)
    if kind == "sage":
        return SAGEConv(in_channels, out_channels)
    if kind == "gin":
        return GINConv(MLP([in_channels, out_channels, out_channels], norm=None), train_eps=True)
    raise ValueError(f"unknown conv {kind!r}; choose from {', '.join(CONV_NAMES)}")


def run_conv(
    conv: torch.nn.Module,
    weighted: bool,
    x: Tensor,
    edge_index: Tensor,
    edge_weight: Optional[Tensor],
    edge_attr: Optional[Tensor] = None,
) -> Tensor:
    """``conv(x, edge_index[, edge_weight])``, passing weights only to a conv that reads them,
    and ``edge_attr`` (as ``[E, D]``) to an edge-aware one."""
    if isinstance(conv, (GINEConv, GATv2Conv)):
        if edge_attr is None:
            raise ValueError(f"{type(conv).__name__} reads edge_attr, and this graph has none")
        ea = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
        return conv(x, edge_index, ea.to(x.dtype))
    if weighted and edge_weight is not None:
        return conv(x, edge_index, edge_weight)
    return conv(x, edge_index)
