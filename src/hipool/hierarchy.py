"""The hierarchy of one forward pass: pooling records composed back to the input.

A model that pools ``L`` times produces ``L`` :class:`~hipool.record.PoolOutput`
records; record ``l`` maps the nodes of level ``l-1`` to those of level ``l``
(level 0 is the input graph).  :class:`Hierarchy` composes them, so that for
every original node and every level we know which pooled node it ended up in,
or that it was dropped on the way (:data:`~hipool.record.DROPPED`), both as a
global index into that level's nodes and as an index local to its graph.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import Tensor

from .checks import is_int
from .record import DROPPED, PoolOutput


class Hierarchy:
    """Records of the pooling steps of one forward pass over a batch.

    Args:
        batch: graph id of every input node ``[N0]``, int64 (sorted, as PyG makes it).
        num_graphs: number of graphs in the batch (default: ``batch.max() + 1``); graph ids without
            nodes (a gap, or trailing ids) are graphs without nodes.
        validate: check that ``batch`` is sorted and ``>= 0`` and below ``num_graphs`` (one
            synchronisation; the models pass ``False``, their input checks did it).  Any other
            argument is checked regardless; a bad one is a ``ValueError``.

    Levels are numbered ``0`` (input) to :attr:`num_levels`; record ``l`` (1-based)
    is ``hierarchy[l]``.
    """

    def __init__(self, batch: Tensor, num_graphs: Optional[int] = None, *, validate: bool = True):
        if not isinstance(batch, Tensor) or batch.dim() != 1 or batch.dtype != torch.long:
            got = f"{batch.dtype} of shape {tuple(batch.shape)}" if isinstance(batch, Tensor) else type(batch).__name__
            raise ValueError(
                f"Hierarchy: 'batch' must be a 1-D int64 tensor (the graph of every input node), got {got}"
            )
        if num_graphs is not None and (not is_int(num_graphs) or num_graphs < 0):
            raise ValueError(f"Hierarchy: 'num_graphs' must be an int >= 0, got {num_graphs!r}")
        if validate or num_graphs is None:
            self._check_batch(batch, num_graphs)
        if num_graphs is None:
            num_graphs = int(batch[-1]) + 1 if batch.numel() > 0 else 0  # sorted: the last id is the largest
        self._batch0 = batch
        self.num_graphs = int(num_graphs)
        self.records: List[PoolOutput] = []
        self._cluster_cache: Dict[int, Tensor] = {}
        #: Node scores (logits, ``[N0]``) of a model trained with a localisation loss
        #: (``localize`` in the model config): how suspicious each input node is; else ``None``.
        self.node_scores: Optional[Tensor] = None

    @staticmethod
    def _check_batch(batch: Tensor, num_graphs) -> None:
        """``batch`` sorted and ``>= 0``, ``num_graphs`` an int above its largest id (one synchronisation;
        the models skip it with ``validate=False``: their input checks did it)."""
        if batch.numel() == 0:
            return
        first, last, descents = torch.stack([batch[0], batch[-1], (batch[1:] < batch[:-1]).sum()]).tolist()
        if first < 0 or descents:
            raise ValueError(
                "Hierarchy: 'batch' must be sorted and >= 0 (the nodes of one graph contiguous, graphs "
                "in increasing order, as PyG's DataLoader makes it)"
            )
        if num_graphs is not None and num_graphs <= last:
            raise ValueError(
                f"Hierarchy: 'num_graphs' is {num_graphs}, but 'batch' has graph id {last}; it must be "
                f"at least {last + 1}"
            )

    # -- building ------------------------------------------------------------
    def append(self, record: PoolOutput) -> None:
        """Add the record of the next pooling step; it must start where the last one ended."""
        if not isinstance(record, PoolOutput):
            raise ValueError(
                f"Hierarchy.append: 'record' must be a PoolOutput (what a hipool pooler returns), "
                f"got {type(record).__name__}"
            )
        expected = self.num_nodes_at(self.num_levels)
        if record.num_input_nodes != expected:
            raise ValueError(
                f"Hierarchy.append: record for level {self.num_levels + 1} maps "
                f"{record.num_input_nodes} input nodes, but level {self.num_levels} has {expected}"
            )
        self.records.append(record)

    # -- reading -------------------------------------------------------------
    @property
    def num_levels(self) -> int:
        """Number of pooling steps recorded."""
        return len(self.records)

    def __len__(self) -> int:
        return self.num_levels

    def __getitem__(self, level: int) -> PoolOutput:
        self._check_level(level, allow_zero=False)
        return self.records[level - 1]

    def _check_level(self, level: int, allow_zero: bool = True) -> None:
        lo = 0 if allow_zero else 1
        if not is_int(level) or not (lo <= level <= self.num_levels):
            raise ValueError(f"Hierarchy: level must be an int in [{lo}, {self.num_levels}], got {level!r}")

    def num_nodes_at(self, level: int) -> int:
        """Total number of nodes (over all graphs) at ``level``."""
        return self._batch0.numel() if level == 0 else self.records[level - 1].num_nodes

    def batch(self, level: int) -> Tensor:
        """Graph id of every node at ``level``."""
        self._check_level(level)
        return self._batch0 if level == 0 else self.records[level - 1].batch

    def sizes(self, level: int) -> Tensor:
        """Number of nodes of each graph at ``level``, shape ``[num_graphs]``."""
        return torch.bincount(self.batch(level), minlength=self.num_graphs)

    def cluster(self, level: int) -> Tensor:
        """For every input node, the global index of its node at ``level`` or ``DROPPED``."""
        self._check_level(level)
        if level == 0:
            return torch.arange(self._batch0.numel(), device=self._batch0.device)
        if level not in self._cluster_cache:
            prev = self.cluster(level - 1)
            step = self.records[level - 1].cluster
            alive = prev != DROPPED
            out = torch.full_like(prev, DROPPED)
            out[alive] = step[prev[alive]]
            self._cluster_cache[level] = out
        return self._cluster_cache[level]

    def local_cluster(self, level: int) -> Tensor:
        """Like :meth:`cluster`, but numbered within each graph (0 .. n_g - 1)."""
        glob = self.cluster(level)
        batch = self.batch(level)
        ptr = torch.cumsum(self.sizes(level), 0) - self.sizes(level)
        out = torch.full_like(glob, DROPPED)
        alive = glob != DROPPED
        out[alive] = glob[alive] - ptr[batch[glob[alive]]]
        return out

    def graph(self, index: int) -> List[Tensor]:
        """For graph ``index`` of the batch: per level 1..L, its input nodes' local pooled ids."""
        if not is_int(index) or not (0 <= index < self.num_graphs):
            raise ValueError(f"Hierarchy.graph: index must be an int in [0, {self.num_graphs}), got {index!r}")
        nodes = (self._batch0 == index).nonzero().view(-1)
        return [self.local_cluster(level)[nodes] for level in range(1, self.num_levels + 1)]

    def aux_losses(self) -> Dict[str, Tensor]:
        """All auxiliary losses, named ``"level{l}/{name}"``."""
        return {
            f"level{lv}/{name}": value
            for lv, rec in enumerate(self.records, start=1)
            for name, value in rec.aux_losses.items()
        }

    def to_dict(self) -> dict:
        """A JSON-ready summary: per level, nodes per graph and each input node's local pooled id."""
        return {
            "num_graphs": self.num_graphs,
            "num_levels": self.num_levels,
            "levels": [
                {
                    "level": level,
                    "nodes_per_graph": self.sizes(level).tolist(),
                    "cluster": self.local_cluster(level).tolist(),
                }
                for level in range(0, self.num_levels + 1)
            ],
            "batch": self._batch0.tolist(),
        }

    def __repr__(self) -> str:
        sizes = " -> ".join(str(self.num_nodes_at(lv)) for lv in range(self.num_levels + 1))
        return f"Hierarchy(graphs={self.num_graphs}, nodes {sizes})"
