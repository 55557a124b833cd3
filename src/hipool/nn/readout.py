"""Global readouts: one vector per graph from its node features.

Thin wrappers over PyG's aggregations (``torch_geometric.nn.aggr``), chosen by
name so a model config can say ``readout: mean``.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import aggr

from ..checks import check_int

READOUTS = ("mean", "sum", "max", "meanmax", "attention")


class Readout(torch.nn.Module):
    r"""Graph readout by name.

    * ``mean``, ``sum``, ``max``: :math:`r_g = \mathrm{agg}_{i \in g}\, x_i`;
    * ``meanmax``: ``[mean || max]`` (Cangea et al. 2018; Lee et al. 2019), width ``2F``;
    * ``attention``: :math:`r_g = \sum_{i \in g} \mathrm{softmax}_g(w^\top x_i)\, x_i`
      (Li et al., "Gated Graph Sequence Neural Networks", 2016; PyG's
      :class:`~torch_geometric.nn.aggr.AttentionalAggregation` with a linear gate).

    Args:
        kind: one of :data:`READOUTS`.
        channels: width ``F`` of the node features.
    """

    def __init__(self, kind: str, channels: int):
        super().__init__()
        if not isinstance(kind, str) or kind not in READOUTS:
            raise ValueError(f"Readout: unknown kind {kind!r}; choose one of {', '.join(READOUTS)}")
        check_int(channels, "Readout", "channels")
        self.kind = kind
        self.channels = channels
        if kind == "mean":
            self.aggr = aggr.MeanAggregation()
        elif kind == "sum":
            self.aggr = aggr.SumAggregation()
        elif kind == "max":
            self.aggr = aggr.MaxAggregation()
        elif kind == "meanmax":
            self.aggr = aggr.MultiAggregation(["mean", "max"])
        else:
            self.aggr = aggr.AttentionalAggregation(gate_nn=torch.nn.Linear(channels, 1))

    @property
    def out_channels(self) -> int:
        return 2 * self.channels if self.kind == "meanmax" else self.channels

    def reset_parameters(self) -> None:
        self.aggr.reset_parameters()

    def forward(self, x: Tensor, batch: Tensor, num_graphs: Optional[int] = None) -> Tensor:
        return self.aggr(x, batch, dim_size=num_graphs)

    def __repr__(self) -> str:
        return f"Readout({self.kind!r}, {self.channels})"
