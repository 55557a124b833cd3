"""Global readouts: one vector per graph from its node features.

Thin wrappers over PyG's aggregations (``torch_geometric.nn.aggr``), chosen by
name so a model config can say ``readout: mean``.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import aggr

from ..checks import check_int, is_int

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

    def forward(self, x: Tensor, batch: Optional[Tensor], num_graphs: Optional[int] = None) -> Tensor:
        """``[num_graphs, out_channels]``: one vector per graph of ``batch`` (``None``: one graph).
        ``x`` must be ``[N, channels]`` floating point (of the gate's dtype and device, for
        ``attention``), ``batch`` int64 ``[N]``, ``num_graphs`` an int (default: ``batch.max() + 1``);
        anything else is a ``ValueError``."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != self.channels or not x.is_floating_point():
            got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Readout: 'x' must be a floating-point [N, {self.channels}] tensor, got {got}")
        if batch is not None and (
            not isinstance(batch, Tensor)
            or batch.dtype != torch.long
            or batch.shape != (x.size(0),)
            or batch.device != x.device
        ):
            got = (
                f"{batch.dtype} {tuple(batch.shape)} on {batch.device}"
                if isinstance(batch, Tensor)
                else type(batch).__name__
            )
            raise ValueError(f"Readout: 'batch' must be an int64 [N={x.size(0)}] tensor on x's device, got {got}")
        if num_graphs is not None and (not is_int(num_graphs) or num_graphs < 0):
            raise ValueError(f"Readout: 'num_graphs' must be an int >= 0, got {num_graphs!r}")
        for p in self.parameters():
            if p.dtype != x.dtype or p.device != x.device:
                raise ValueError(
                    f"Readout: 'x' is {x.dtype} on {x.device} but the attention gate is {p.dtype} on {p.device}"
                )
            break
        return self.aggr(x, batch, dim_size=num_graphs)

    def __repr__(self) -> str:
        return f"Readout({self.kind!r}, {self.channels})"
