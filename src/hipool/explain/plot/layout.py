"""Node positions shared by all pictures: :func:`~hipool.explain.plot.layout.layout_positions`
and the layouts it picks from.

networkx (and scipy) are imported only when a layout needs them; the layouts of
large graphs and of known groups are hipool's own (``engine.py``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from torch import Tensor

from .checks import (
    _check_edge_index,
    _check_groups,
    _check_layout,
    _check_num_nodes,
    _check_per_node,
    _has_labels,
    _resolve_num_nodes,
)
from .engine import _spring_by_component, _structure_layout

__all__ = ["layout_positions"]

_SMALL_SPRING = 500  # below this many nodes "spring" is networkx's own spring_layout
_KK_AUTO_MAX = 300  # "auto" uses kamada_kawai up to this many nodes


def layout_positions(
    edge_index: Tensor,
    num_nodes: int,
    *,
    groups: Optional[Tensor] = None,
    method: str = "auto",
    seed: int = 0,
) -> np.ndarray:
    """Positions ``[N, 2]`` of a graph's nodes, scaled into ``[-1, 1]``.

    Args:
        edge_index: edges ``[2, E]``, node ids ``0..N-1`` (direction and duplicates
            do not matter, self-loops are ignored).
        num_nodes: ``N``.
        groups: optional int tensor ``[N, K]`` of nested ground-truth groups, finest
            level first (e.g. circuits: column 0 = block, column 1 = subsystem;
            communities: column 0 = community, column 1 = super-community); ``-1`` =
            the node is in no group at that level.  A 1-D tensor is one level.
        method: ``"spring"`` (Fruchterman-Reingold, seeded: networkx's
            ``spring_layout`` below 500 nodes, an equivalent vectorised one above),
            ``"kamada_kawai"`` (networkx, needs scipy; slow beyond a few hundred
            nodes), ``"structure"`` (needs ``groups``: the coarsest groups are packed
            apart as discs with area proportional to their size, the finer groups as
            discs inside them, the nodes of a finest group by a small seeded spring
            layout of its induced subgraph; nodes without a finest group go to the
            mean position of their placed neighbours, a layer a round, and any left
            on a ring around everything), or ``"auto"``: ``"structure"`` when
            ``groups`` has a non-negative label, else ``"kamada_kawai"`` up to 300
            nodes, else ``"spring"``.
        seed: seed of the random parts; the same inputs and seed give the same positions.

    Returns:
        a float64 numpy array ``[N, 2]``.

    Raises:
        ValueError: malformed inputs (the message names the argument).
        ImportError: networkx (or scipy) missing for ``"spring"`` below 500 nodes or
            ``"kamada_kawai"``.
    """
    fn = "layout_positions"
    _check_layout(method, fn, "method")
    ei = _check_edge_index(edge_index, fn)
    grp = _check_groups(groups, fn)
    n, origin = _resolve_num_nodes(_check_num_nodes(num_nodes, fn), ei, [], fn)
    _check_per_node(grp, "groups", n, origin, fn)
    if method == "structure" and not _has_labels(grp):
        raise ValueError(f"{fn}: method 'structure' needs 'groups' with at least one non-negative label")
    return _compute_layout(n, _undirected_pairs(ei, n), grp, method, int(seed), fn)


def _undirected_pairs(ei: Tensor, n: int) -> np.ndarray:
    """The distinct undirected edges ``[M, 2]`` (``u < v``, sorted), self-loops left out."""
    if ei.numel() == 0:
        return np.zeros((0, 2), dtype=np.int64)
    e = ei.numpy()
    u, v = np.minimum(e[0], e[1]), np.maximum(e[0], e[1])
    keep = u != v
    key = np.unique(u[keep] * n + v[keep])
    return np.stack([key // n, key % n], axis=1)


def _positions_for(
    xy: Optional[np.ndarray], n: int, pairs: np.ndarray, grp: Optional[Tensor], layout: str, seed: int, fn: str
) -> np.ndarray:
    """The positions a picture was given, else those of its ``layout``."""
    return xy if xy is not None else _compute_layout(n, pairs, grp, layout, seed, fn)


def _compute_layout(n: int, pairs: np.ndarray, groups: Optional[Tensor], method: str, seed: int, fn: str) -> np.ndarray:
    """The layout ``method`` of checked inputs (``"structure"`` only with labelled ``groups``)."""
    if method == "auto":
        if _has_labels(groups):
            method = "structure"
        else:
            method = "kamada_kawai" if n <= _KK_AUTO_MAX else "spring"
    if method == "spring":
        xy = _spring(n, pairs, seed, fn)
    elif method == "kamada_kawai":
        xy = _kamada_kawai(n, pairs, fn)
    else:
        xy = _structure_layout(n, pairs, groups.numpy(), seed)
    return _normalise(xy)


def _normalise(xy: np.ndarray) -> np.ndarray:
    """Centre the bounding box at 0 and scale the largest coordinate to 1."""
    if len(xy) == 0:
        return xy
    xy = xy - (xy.min(axis=0) + xy.max(axis=0)) / 2
    m = float(np.abs(xy).max())
    return xy / m if m > 1e-12 else xy


def _spring(n: int, pairs: np.ndarray, seed: int, fn: str) -> np.ndarray:
    if n >= _SMALL_SPRING:  # networkx's sparse variant is several times slower
        return _spring_by_component(n, pairs, seed)
    nx = _import_networkx(fn)
    try:  # networkx may need scipy here
        pos = nx.spring_layout(_networkx_graph(nx, n, pairs), seed=seed)
    except ImportError as err:
        raise ImportError(f"{fn} needs scipy for this layout: pip install 'hipool[plot]'") from err
    return np.array([pos[i] for i in range(n)], dtype=np.float64).reshape(n, 2)


def _kamada_kawai(n: int, pairs: np.ndarray, fn: str) -> np.ndarray:
    nx = _import_networkx(fn)
    try:
        pos = nx.kamada_kawai_layout(_networkx_graph(nx, n, pairs))
    except ImportError as err:
        raise ImportError(f"{fn} needs scipy for this layout: pip install 'hipool[plot]'") from err
    return np.array([pos[i] for i in range(n)], dtype=np.float64).reshape(n, 2)


def _import_networkx(fn: str):
    try:
        import networkx as nx
    except ImportError as err:
        raise ImportError(f"{fn} needs networkx for this layout: pip install 'hipool[plot]'") from err
    return nx


def _networkx_graph(nx, n: int, pairs: np.ndarray):
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(pairs.tolist())
    return graph
