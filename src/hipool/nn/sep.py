r"""Structural-entropy pooling: :class:`SEPPooling` of Wu, Chen, Xu & Li, "Structural Entropy
Guided Graph Hierarchical Pooling" (ICML 2022), not learned.

The encoding tree, its levels and :math:`H^T` are in :mod:`hipool.nn.sep_tree` (:func:`sep_tree`,
:func:`sep_levels`, :func:`structural_entropy`, importable from here too).

**Pooling** (:class:`SEPPooling`): each graph's level-``level`` partition, every cluster one output
node, features summed or averaged (``reduce``), edges joined between clusters with ``edge_weight``
summed (1 per edge when none is given) and ``edge_attr`` (any width) summed or averaged
(``edge_reduce``), self-loops dropped unless ``keep_self_loops``.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from ..checks import check_bool, check_int, param_device, param_dtype, prepare_pool_input
from ..record import PoolOutput
from .sep_tree import NONNEGATIVE, level_clusters, sep_levels, sep_tree, structural_entropy

__all__ = ["SEPPooling", "sep_levels", "sep_tree", "structural_entropy"]

REDUCES = ("mean", "sum")


# ---------------------------------------------------------------------------
# the pooler
# ---------------------------------------------------------------------------
class SEPPooling(torch.nn.Module):
    """Pool every graph to one level of its structural-entropy encoding tree (module docstring).

    Args:
        in_channels: width ``F`` of ``x`` (checked; nothing is learned).
        level: which level ``1 <= level <= height`` of the tree of the *input* graph to pool to
            (1: the finest communities; ``height``: one node per graph).  Default ``1``.
        height: the height of the tree built per graph.  Default ``3``.
        reduce: a cluster's features, the ``"mean"`` (default) or ``"sum"`` of its nodes'.
        edge_reduce: a pooled edge's ``edge_attr``, the ``"sum"`` (default) or ``"mean"`` of the
            edges it joins (floating ``edge_attr`` for the mean).
        keep_self_loops: keep the edges inside a cluster as a self-loop of summed weight (then the
            pooled graph keeps the input's volumes, and its own tree the same entropies).
            Default ``False``.

    The tree is computed on the CPU, graph by graph, in every call (a Python loop: for training,
    compute the levels once with :func:`sep_levels` and pool along them with ``pool: given``).
    The pooled ``edge_weight`` is the summed weight of the joined edges (1 each without weights).
    """

    def __init__(
        self,
        in_channels: int,
        *,
        level: int = 1,
        height: int = 3,
        reduce: str = "mean",
        edge_reduce: str = "sum",
        keep_self_loops: bool = False,
    ):
        super().__init__()
        where = type(self).__name__
        check_int(in_channels, where, "in_channels")
        check_int(height, where, "height")
        check_int(level, where, "level")
        if level > height:
            raise ValueError(f"{where}: 'level' must be in [1, height={height}], got {level}")
        for name, value in (("reduce", reduce), ("edge_reduce", edge_reduce)):
            if value not in REDUCES:
                raise ValueError(f"{where}: '{name}' must be one of {', '.join(REDUCES)}, got {value!r}")
        self.in_channels = in_channels
        self.level = level
        self.height = height
        self.reduce = reduce
        self.edge_reduce = edge_reduce
        self.keep_self_loops = check_bool(keep_self_loops, where, "keep_self_loops")

    def reset_parameters(self) -> None:
        pass

    def clusters(self, edge_index: Tensor, batch: Tensor, edge_weight: Optional[Tensor] = None) -> Tuple[Tensor, int]:
        """``(cluster [N], number of clusters)``: every graph's level-``level`` partition, numbered
        graph by graph (within a graph by the smallest node)."""
        cluster, k = level_clusters(type(self).__name__, edge_index, batch, self.level, self.height, edge_weight)
        return torch.from_numpy(cluster).to(batch.device), k

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
            nonnegative_weights=NONNEGATIVE,
        )
        if sizes is not None:
            raise ValueError(f"{where}: 'sizes' (schedule: auto) cannot size SEP levels; the encoding tree sets them")
        if edge_attr is not None and self.edge_reduce == "mean" and not edge_attr.is_floating_point():
            raise ValueError(f"{where}: edge_reduce='mean' needs floating 'edge_attr', got {edge_attr.dtype}")
        cluster, k = self.clusters(edge_index, batch, edge_weight)
        new_x = scatter(x, cluster, 0, dim_size=k, reduce=self.reduce)
        new_batch = batch.new_zeros(k)
        new_batch[cluster] = batch
        weight = edge_weight if edge_weight is not None else x.new_ones(edge_index.size(1))
        ei = cluster[edge_index]
        if not self.keep_self_loops:
            keep = ei[0] != ei[1]
            ei, weight = ei[:, keep], weight[keep]
            edge_attr = edge_attr[keep] if edge_attr is not None else None
        key, inv = torch.unique(ei[0] * max(k, 1) + ei[1], return_inverse=True)
        new_w = weight.new_zeros(key.numel()).index_add(0, inv, weight)
        new_attr = None
        if edge_attr is not None:
            flat = edge_attr.reshape(edge_attr.size(0), math.prod(edge_attr.shape[1:]))
            summed = flat.new_zeros(key.numel(), flat.size(1)).index_add(0, inv, flat)
            if self.edge_reduce == "mean":
                count = torch.bincount(inv, minlength=key.numel()).clamp(min=1).to(summed.dtype)
                summed = summed / count.view(-1, 1)
            new_attr = summed.view(key.numel(), *edge_attr.shape[1:])
        src = torch.div(key, max(k, 1), rounding_mode="floor")
        return PoolOutput(
            x=new_x,
            edge_index=torch.stack([src, key - src * max(k, 1)]),
            edge_attr=new_attr,
            batch=new_batch,
            perm=None,
            score=None,
            cluster=cluster,
            edge_weight=new_w,
        )

    def extra_repr(self) -> str:
        return f"{self.in_channels}, level={self.level}, height={self.height}, reduce={self.reduce!r}"
