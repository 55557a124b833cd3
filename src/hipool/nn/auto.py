"""``schedule: auto``: each graph's own pooling schedule, from its size.

The rule (one for every pooler family, shared by the models and ``hipool advise``):

* A model with ``schedule: auto`` has ``L`` levels (``levels``, default
  :data:`DEFAULT_LEVELS`) and a *top size* ``T`` (``auto_top``, default :data:`DEFAULT_TOP`).
* A graph of ``n`` input nodes may keep at most ``s_l = max(T, ceil(n / 2**l))`` nodes at
  level ``l`` (1-based): it is halved at every level until it reaches ``T``.  A graph that is
  already no larger than that at a level **skips** it: it keeps all its nodes there (see the
  per-family notes below).  So a 20-node graph is pooled once (to 10) and skips the other
  levels; a 2,000-node graph is halved at every level (1,000 → 500 → 250 with ``L = 3``) and the
  readout summarises what is left.
* Clustering poolers need a fixed number of assignment columns per level: level ``l`` of ``L``
  has ``c_l = T * 2**(L - l)`` (:func:`cluster_caps`: 40, 20, 10 for ``L = 3``, ``T = 10``), so
  a graph keeps ``min(s_l, c_l)`` clusters there: larger graphs are pooled harder than halving,
  and every graph ends at most ``T`` nodes after the last level.
* Contraction poolers (EdgePool, Graclus) merge at most ``n_cur - s_l`` of their matched pairs
  per graph (the best-scored first), so they stop merging a graph that is already small; they
  never go below half a graph per level (what one matching can do).

What a skipped level means for each family (the graph's readout at that level is then the
readout of its unchanged node set, after that level's conv block):

* **selection** (``topk``, ``sag``, ``asap``): every node is kept; ``topk``/``sag`` still gate
  the features by their scores, as at every selection level, and ASAP still replaces each node
  by its attention cluster;
* **clustering**: the graph's assignment is the identity (each node its own cluster, no
  gradient through it; its auxiliary losses are then constants);
* **contraction**: no pair is merged: the graph passes unchanged.
"""

from __future__ import annotations

import math
from typing import List, Optional

import torch
from torch import Tensor

#: The word of the schedule (``schedule: auto``).
AUTO = "auto"
#: The top size a graph is halved toward (``auto_top``).
DEFAULT_TOP = 10
#: Levels of an auto schedule when ``levels`` is not given.
DEFAULT_LEVELS = 3


def auto_sizes(num_nodes: Tensor, level: int, top: int) -> Tensor:
    """The most nodes each graph may keep at ``level`` (1-based): ``max(top, ceil(n / 2**level))``
    for input sizes ``num_nodes`` ``[B]`` (an integer tensor); a graph with fewer nodes than that
    keeps them all."""
    if level < 1:
        raise ValueError(f"auto_sizes: 'level' is 1-based, got {level}")
    half = torch.div(num_nodes + (2**level - 1), 2**level, rounding_mode="floor")
    return half.clamp(min=top)


def cluster_caps(levels: int, top: int) -> List[int]:
    """The clusters per graph of the clustering poolers at every level of an auto schedule:
    ``top * 2**(levels - l)`` at level ``l`` (``[40, 20, 10]`` for 3 levels and top 10)."""
    return [top * 2 ** (levels - level) for level in range(1, levels + 1)]


def auto_plan(n: int, levels: int, top: int = DEFAULT_TOP, caps: Optional[List[int]] = None) -> List[int]:
    """The node count of a graph of ``n`` input nodes after every level of an auto schedule
    (``caps``: the clustering caps of the levels, ``None`` for selection and contraction).
    Contraction poolers halve at most: their real sizes are at least these."""
    sizes, cur = [], n
    for level in range(1, levels + 1):
        target = max(top, math.ceil(n / 2**level))
        if caps is not None:
            target = min(target, caps[level - 1])
        cur = min(cur, target)
        sizes.append(cur)
    return sizes


def levels_used(n: int, levels: int, top: int = DEFAULT_TOP) -> int:
    """How many of ``levels`` levels pool a graph of ``n`` nodes (the others are skipped)."""
    sizes = auto_plan(n, levels, top)
    prev, used = n, 0
    for s in sizes:
        used += s < prev
        prev = s
    return used


def suggested_levels(n: float, top: int = DEFAULT_TOP, most: int = 4) -> int:
    """Levels that halve a graph of ``n`` nodes to about ``top``: ``ceil(log2(n / top))``, between
    1 and ``most``."""
    if not n > top:
        return 1
    return max(1, min(most, math.ceil(math.log2(n / top))))
