r"""Pooling along a hierarchy the data already knows: :class:`GivenPool` (``pool: given``).

A design's subcircuits, a molecule's functional groups, the blocks and subsystems of the
synthetic circuits: when the data carries its own groups (``level_labels``, see
:mod:`hipool.data.base`), the best coarsening may be that one, not a learned one.
:class:`GivenPool` is not learned.  Given each node's group id within its graph
(``groups``, ``-1`` for none), it

* merges the nodes of every group into one output node, features reduced by
  ``reduce``: ``mean`` (default), ``sum``, ``max`` or ``meanmax`` (``[mean ‖ max]``
  mapped back to ``F`` channels by a linear layer, the one learned part);
* keeps every node without a group (``-1``) as a node of its own;
* joins the edges between groups, merging parallel edges with their ``edge_attr``
  (any width) and ``edge_weight`` summed and dropping the edges inside a group.

Output nodes are numbered graph by graph (so ``batch`` stays sorted), within a graph
by group id, then the ungrouped nodes in input order.  The record's ``cluster`` maps
every input node to its output node (nobody is dropped), so :class:`~hipool.Hierarchy`,
``hipool explain`` and the report work as for any pooler, and a model's level ``l``
recovers the data's level-``l`` groups exactly (NMI = ARI = 1).

In a model, level ``l`` of ``pool: given`` reads column ``l - 1`` of the batch's
``level_labels`` (``[N, L]``), carried through the levels before it (every pooled node
takes the labels its members share; see :func:`carry_labels`).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from ..checks import check_int, param_device, param_dtype, prepare_pool_input
from ..record import DROPPED, PoolOutput
from .contraction import _contract_edges

#: The schedule entry of a ``pool: given`` level: the data's groups set its size.
GIVEN = "given"

REDUCES = ("sum", "mean", "max", "meanmax")


def given_clusters(groups: Tensor, batch: Tensor) -> tuple:
    """``(cluster [N], num_clusters, batch_out)``: every (graph, group) pair one output node,
    every node of group ``-1`` one of its own; numbered graph by graph."""
    n = groups.numel()
    node = torch.arange(n, device=groups.device)
    max_group = int(groups.max()) + 1 if n else 0
    # One key per output node: grouped nodes share (graph, group); the others are (graph, own index).
    local = torch.where(groups >= 0, groups, max_group + node)
    key = batch * (max_group + n) + local
    uniq, cluster = torch.unique(key, return_inverse=True)
    return cluster, uniq.numel(), torch.div(uniq, max_group + n, rounding_mode="floor")


def carry_labels(labels: Tensor, cluster: Tensor, num_out: int) -> Tensor:
    """The ``level_labels`` ``[N, L]`` of the next level: each output node takes the largest label of
    its kept members per column (the one label they share when the pooling followed the groups)."""
    kept = cluster != DROPPED
    out = labels.new_full((num_out, labels.size(1)), -1)
    if kept.any():
        index = cluster[kept].view(-1, 1).expand(-1, labels.size(1))
        out = out.scatter_reduce(0, index, labels[kept], reduce="amax", include_self=True)
    return out


class GivenPool(torch.nn.Module):
    """Pool along known groups (see the module docstring).

    Args:
        in_channels: width ``F`` of ``x``.
        reduce: how a group's features become its node's: ``mean`` (default), ``sum``,
            ``max`` or ``meanmax``.  The mean keeps a block of 20 parts and a lone net on
            one scale, as the clustering poolers' default does (single training runs on
            the circuits did not settle mean against sum; see the README).
    """

    def __init__(self, in_channels: int, *, reduce: str = "mean"):
        super().__init__()
        check_int(in_channels, "GivenPool", "in_channels")
        if reduce not in REDUCES:
            raise ValueError(f"GivenPool: 'reduce' must be one of {', '.join(REDUCES)}, got {reduce!r}")
        self.in_channels = in_channels
        self.reduce = reduce
        self.lin = torch.nn.Linear(2 * in_channels, in_channels) if reduce == "meanmax" else None

    def reset_parameters(self) -> None:
        if self.lin is not None:
            self.lin.reset_parameters()

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        *,
        groups: Optional[Tensor] = None,
    ) -> PoolOutput:
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "GivenPool",
            self.in_channels,
            dtype=param_dtype(self),
            device=param_device(self),
        )
        if groups is None:
            raise ValueError("GivenPool: 'groups' (each node's group id within its graph, -1 for none) is required")
        if (
            not isinstance(groups, Tensor)
            or groups.dim() != 1
            or groups.numel() != x.size(0)
            or groups.is_floating_point()
            or groups.is_complex()
            or groups.dtype == torch.bool
        ):
            got = f"{groups.dtype} {tuple(groups.shape)}" if isinstance(groups, Tensor) else type(groups).__name__
            raise ValueError(f"GivenPool: 'groups' must be an integer tensor [N={x.size(0)}], got {got}")
        if groups.device != x.device:
            raise ValueError(f"GivenPool: 'x' is on {x.device} but 'groups' is on {groups.device}")
        groups = groups.long()
        if groups.numel() and int(groups.min()) < -1:
            raise ValueError(
                f"GivenPool: 'groups' holds {int(groups.min())}; group ids are >= 0, -1 for a node in no group"
            )
        cluster, k, batch_out = given_clusters(groups, batch)
        if self.reduce == "meanmax":
            mean = scatter(x, cluster, 0, dim_size=k, reduce="mean")
            mx = scatter(x, cluster, 0, dim_size=k, reduce="max")
            assert self.lin is not None  # built for reduce="meanmax"
            new_x = self.lin(torch.cat([mean, mx], dim=-1))
        else:
            new_x = scatter(x, cluster, 0, dim_size=k, reduce=self.reduce)
        ei, ea, ew = _contract_edges(edge_index, cluster, k, edge_attr, edge_weight, keep_self_loops=False)
        return PoolOutput(
            x=new_x,
            edge_index=ei,
            edge_attr=ea,
            batch=batch_out,
            perm=None,
            score=None,
            cluster=cluster,
            edge_weight=ew,
        )

    def extra_repr(self) -> str:
        return f"{self.in_channels}, reduce={self.reduce!r}"
