"""Pictures of one graph and of its pooling hierarchy.

* :func:`plot_hierarchy` draws one panel per level, each with the same layout of
  the *original* graph: at level ``l`` every original node is coloured by the
  pooled node it ended up in, and nodes dropped on the way (``-1``, see
  :data:`hipool.record.DROPPED`) are drawn small and light grey.  Level 0 is the
  original graph, coloured by ``ground_truth`` when given (e.g. community ids),
  else in one colour.
* :func:`plot_coarsened` draws the coarsened graph of every pooled level: each
  pooled node at the centre of its original members, with the same colour as in
  :func:`plot_hierarchy`, and the pooled edges (by weight for clustering poolers).
* :func:`plot_graph` draws the original graph alone, in one large panel.
* :func:`layout_positions` computes the node positions all three share; its
  ``"structure"`` layout places nested ground-truth groups (e.g. the blocks of a
  circuit inside its subsystems) as visible clumps.

matplotlib and networkx are optional dependencies (``pip install 'hipool[plot]'``);
they are imported only when a picture is drawn.  The figure is rendered with the
Agg canvas directly (no pyplot, no GUI, no global backend change).  Marker sizes,
edge widths and transparency, and the figure size scale with the number of nodes,
so that a graph of a few thousand nodes stays readable.
"""
from __future__ import annotations

import math
import os
import pathlib
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from ..io import atomic_path

__all__ = ["layout_positions", "plot_coarsened", "plot_graph", "plot_hierarchy"]

_LAYOUTS = ("spring", "kamada_kawai", "structure", "auto")
_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)

# tab20 without its two greys (those would read as "dropped"), strong colours
# first and their light partners after, so that neighbouring ids differ well.
_TAB20_ORDER = [0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19]
_DROPPED_COLOUR = "#b8b8b8"
_EDGE_COLOUR = "#c8c8c8"
_BIG_EDGE_COLOUR = "#a0a0a0"      # thin faint edges of large graphs need a darker grey
_POOLED_EDGE_COLOUR = "#505050"
_BACKDROP_COLOUR = "#d8d8d8"
_NOTE_COLOUR = "#666666"

_SMALL_SPRING = 500    # below this many nodes "spring" is networkx's own spring_layout
_KK_AUTO_MAX = 300     # "auto" uses kamada_kawai up to this many nodes


# --------------------------------------------------------------------------- input checks


def _as_int_vector(value, name: str, fn: str = "plot_hierarchy") -> Tensor:
    t = torch.as_tensor(value)
    if t.dtype not in _INT_DTYPES:
        raise ValueError(f"{fn}: '{name}' must be an integer tensor, got dtype {t.dtype}")
    if t.dim() != 1:
        raise ValueError(f"{fn}: '{name}' must be 1-D [num_nodes], got shape {tuple(t.shape)}")
    return t.detach().cpu().to(torch.int64)


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _check_layout(layout, fn: str, name: str = "layout") -> str:
    if layout not in _LAYOUTS:
        raise ValueError(f"{fn}: '{name}' must be one of {_LAYOUTS}, got {layout!r}")
    return layout


def _check_edge_index(edge_index, fn: str, name: str = "edge_index") -> Tensor:
    ei = torch.as_tensor(edge_index)
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ValueError(f"{fn}: '{name}' must have shape [2, E], got {tuple(ei.shape)}")
    if ei.dtype not in _INT_DTYPES:
        raise ValueError(f"{fn}: '{name}' must be an integer tensor, got dtype {ei.dtype}")
    return ei.detach().cpu().to(torch.int64)


def _check_num_nodes(num_nodes, fn: str) -> int:
    try:
        n = int(num_nodes)
        ok = n == num_nodes and n >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{fn}: 'num_nodes' must be a positive integer, got {num_nodes!r}")
    return n


def _resolve_num_nodes(num_nodes, ei: Tensor, candidates, fn: str) -> Tuple[int, str]:
    """``(N, where it came from)``: ``num_nodes``, else the first per-node tensor, else the edges."""
    if num_nodes is not None:
        n, origin = _check_num_nodes(num_nodes, fn), "num_nodes"
    else:
        n, origin = None, ""
        for what, t in candidates:
            if t is not None:
                n, origin = int(t.shape[0]), f"the length of {what}"
                break
        if n is None:
            n, origin = (int(ei.max()) + 1 if ei.numel() > 0 else 0), "edge_index"
    if n < 1:
        raise ValueError(f"{fn}: the graph has no nodes; pass 'num_nodes' for a graph without edges")
    if ei.numel() > 0:
        lo, hi = int(ei.min()), int(ei.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"{fn}: 'edge_index' ids must be in [0, {n - 1}] "
                             f"(num_nodes={n}, from {origin}), got range [{lo}, {hi}]")
    return n, origin


def _check_groups(groups, fn: str) -> Optional[Tensor]:
    """``groups`` as an int64 tensor ``[N, K]`` (a 1-D tensor is one column); N is checked later."""
    if groups is None:
        return None
    g = torch.as_tensor(groups)
    if g.dtype not in _INT_DTYPES:
        raise ValueError(f"{fn}: 'groups' must be an integer tensor, got dtype {g.dtype}")
    if g.dim() == 1:
        g = g[:, None]
    if g.dim() != 2 or g.size(1) < 1:
        raise ValueError(f"{fn}: 'groups' must have shape [num_nodes, K] (finest level first), "
                         f"got {tuple(g.shape)}")
    g = g.detach().cpu().to(torch.int64)
    if g.numel() > 0 and int(g.min()) < -1:
        raise ValueError(f"{fn}: 'groups' labels must be >= 0 (or -1 for no group), got {int(g.min())}")
    return g


def _check_per_node(t: Optional[Tensor], name: str, n: int, origin: str, fn: str) -> None:
    if t is not None and t.shape[0] != n:
        raise ValueError(f"{fn}: '{name}' must have one entry (row) per original node "
                         f"({n}, from {origin}), got {t.shape[0]}")


def _check_labels(t: Optional[Tensor], name: str, fn: str) -> None:
    if t is not None and t.numel() > 0 and int(t.min()) < -1:
        raise ValueError(f"{fn}: '{name}' labels must be >= 0 (or -1 for unlabelled), "
                         f"got {int(t.min())}")


def _check_positions(positions, n: int, fn: str) -> Optional[np.ndarray]:
    if positions is None:
        return None
    if isinstance(positions, Tensor):
        positions = positions.detach().cpu().numpy()
    try:
        xy = np.array(positions, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{fn}: 'positions' must be a float array [N, 2], got {type(positions).__name__}"
                         ) from err
    if xy.shape != (n, 2):
        raise ValueError(f"{fn}: 'positions' must have shape [{n}, 2] (one row per node), "
                         f"got {tuple(xy.shape)}")
    if not np.isfinite(xy).all():
        raise ValueError(f"{fn}: 'positions' must be finite (no NaN or inf)")
    return xy


def _check_assignments(assignments, fn: str) -> List[Tensor]:
    if isinstance(assignments, Tensor) and assignments.dim() == 1:
        raise ValueError(f"{fn}: 'assignments' must be a sequence of 1-D tensors "
                         "(one per level), got a single 1-D tensor; wrap it in a list")
    return [_as_int_vector(a, f"assignments[{i}]", fn) for i, a in enumerate(assignments)]


def _check_levels(levels: List[Tensor], n: int, origin: str, fn: str) -> None:
    for i, a in enumerate(levels):
        if a.numel() != n:
            raise ValueError(f"{fn}: 'assignments[{i}]' (level {i + 1}) must have one "
                             f"entry per original node ({n}, from {origin}), got {a.numel()}")
        if a.numel() > 0 and int(a.min()) < -1:
            raise ValueError(f"{fn}: 'assignments[{i}]' (level {i + 1}) ids must be "
                             f">= 0, or -1 for a dropped node; got {int(a.min())}")


def _check_inputs(edge_index, assignments, num_nodes, ground_truth, layout, groups=None,
                  positions=None, fn: str = "plot_hierarchy"):
    """Checked ``(edge_index, levels, N, origin, ground_truth, groups, positions)``."""
    _check_layout(layout, fn)
    ei = _check_edge_index(edge_index, fn)
    levels = _check_assignments(assignments, fn)
    gt = None if ground_truth is None else _as_int_vector(ground_truth, "ground_truth", fn)
    grp = _check_groups(groups, fn)
    n, origin = _resolve_num_nodes(num_nodes, ei, [("assignments[0]", levels[0] if levels else None),
                                                   ("ground_truth", gt), ("groups", grp)], fn)
    _check_levels(levels, n, origin, fn)
    _check_per_node(gt, "ground_truth", n, origin, fn)
    _check_labels(gt, "ground_truth", fn)
    _check_per_node(grp, "groups", n, origin, fn)
    xy = _check_positions(positions, n, fn)
    if xy is None and layout == "structure" and not _has_labels(grp):
        raise ValueError(f"{fn}: layout 'structure' needs 'groups' with at least one "
                         "non-negative label (or pass 'positions')")
    return ei, levels, n, origin, gt, grp, xy


def _has_labels(groups: Optional[Tensor]) -> bool:
    return groups is not None and groups.numel() > 0 and bool((groups >= 0).any())


# --------------------------------------------------------------------------- layouts


def _undirected_pairs(ei: Tensor, n: int) -> np.ndarray:
    """The distinct undirected edges ``[M, 2]`` (``u < v``, sorted), self-loops left out."""
    if ei.numel() == 0:
        return np.zeros((0, 2), dtype=np.int64)
    e = ei.numpy()
    u, v = np.minimum(e[0], e[1]), np.maximum(e[0], e[1])
    keep = u != v
    key = np.unique(u[keep] * n + v[keep])
    return np.stack([key // n, key % n], axis=1)


def _normalise(xy: np.ndarray) -> np.ndarray:
    """Centre the bounding box at 0 and scale the largest coordinate to 1."""
    if len(xy) == 0:
        return xy
    xy = xy - (xy.min(axis=0) + xy.max(axis=0)) / 2
    m = float(np.abs(xy).max())
    return xy / m if m > 1e-12 else xy


def _fruchterman_reingold(n: int, pairs: np.ndarray, rng: np.random.Generator,
                          iterations: int = 50) -> np.ndarray:
    """Fruchterman-Reingold spring layout, as networkx's dense one, vectorised in row blocks.

    Repulsion between all pairs (``k^2 / d``), attraction along the edges (``d^2 / k``),
    with a linearly cooling step; ``O(N^2)`` a step but with bounded memory.
    """
    pos = rng.random((n, 2))
    if n <= 1:
        return np.zeros((n, 2))
    k = math.sqrt(1.0 / n)
    t = float(max(pos.max(axis=0) - pos.min(axis=0)) * 0.1)
    dt = t / (iterations + 1)
    u, v = pairs[:, 0], pairs[:, 1]
    block = max(1, 2_000_000 // n)
    disp = np.empty((n, 2))
    for _ in range(iterations):
        for s in range(0, n, block):
            e = min(n, s + block)
            dx = pos[s:e, 0, None] - pos[None, :, 0]
            dy = pos[s:e, 1, None] - pos[None, :, 1]
            f = dx * dx + dy * dy
            np.maximum(f, 1e-4, out=f)               # distances below 0.01 count as 0.01
            np.divide(k * k, f, out=f)
            disp[s:e, 0] = (dx * f).sum(axis=1)
            disp[s:e, 1] = (dy * f).sum(axis=1)
        if len(u):
            d = pos[u] - pos[v]
            dist = np.maximum(np.sqrt((d * d).sum(axis=1)), 0.01)
            fa = d * (dist / k)[:, None]
            for c in range(2):
                disp[:, c] -= np.bincount(u, fa[:, c], minlength=n)
                disp[:, c] += np.bincount(v, fa[:, c], minlength=n)
        length = np.sqrt((disp * disp).sum(axis=1))
        length = np.where(length < 0.01, 0.1, length)
        pos += disp * (t / length)[:, None]
        t -= dt
    return pos


def _networkx_graph(nx, n: int, pairs: np.ndarray):
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(pairs.tolist())
    return graph


def _spring(n: int, pairs: np.ndarray, seed: int, fn: str) -> np.ndarray:
    if n >= _SMALL_SPRING:      # networkx's sparse variant is several times slower
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


def _pack_circles(radii: np.ndarray) -> np.ndarray:
    """Centres ``[k, 2]`` of non-overlapping circles packed around 0, largest in the middle.

    Sunflower (Vogel) start, largest first, with the distance from the centre growing
    with the area placed so far; then a few rounds of "pull to the centre, push
    overlapping pairs apart", ending with push-only rounds.
    """
    k = len(radii)
    if k == 1:
        return np.zeros((1, 2))
    order = np.argsort(-radii, kind="stable")
    r = radii[order]
    area = np.cumsum(r * r) - r * r / 2
    dist = np.sqrt(area) * 1.1
    dist[0] = 0.0
    angle = np.arange(k) * (math.pi * (3.0 - math.sqrt(5.0)))
    c = np.stack([dist * np.cos(angle), dist * np.sin(angle)], axis=1)
    rounds = 60 if k <= 300 else (12 if k <= 1500 else 0)
    need = r[:, None] + r[None, :]
    weight = (r * r)[None, :] / ((r * r)[:, None] + (r * r)[None, :])   # the smaller moves more
    np.fill_diagonal(need, 0.0)
    for it in range(rounds):
        if it < rounds * 2 // 3:
            c *= 0.97
        for _ in range(3):
            d = c[:, None, :] - c[None, :, :]
            dist = np.sqrt((d * d).sum(axis=2))
            overlap = np.clip(need - dist, 0.0, None)
            if not overlap.any():
                break
            np.fill_diagonal(dist, 1.0)
            unit = d / np.maximum(dist, 1e-9)[:, :, None]
            c += (unit * (overlap * weight)[:, :, None]).sum(axis=1) * 0.9
    out = np.empty_like(c)
    out[order] = c
    return out


class _Pieces:
    """Small spring layouts of the pieces of a partition of the nodes (``key[i]``: the
    piece of node ``i``, ``-1`` = none), each scaled to a disc of radius ``sqrt(size)``."""

    def __init__(self, n: int, pairs: np.ndarray, key: np.ndarray):
        u, v = pairs[:, 0], pairs[:, 1]
        inside = (key[u] == key[v]) & (key[u] >= 0)
        iu, iv = u[inside], v[inside]
        order = np.argsort(key[iu], kind="stable")
        self.iu, self.iv, self.key = iu[order], iv[order], key
        self.starts = np.searchsorted(key[self.iu], np.arange(int(key.max(initial=-1)) + 2))
        self.local = np.zeros(n, dtype=np.int64)

    def layout(self, idx: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, float]:
        """Positions of the piece ``idx`` around 0, and its radius."""
        m = len(idx)
        radius = math.sqrt(m)
        if m == 1:
            return np.zeros((1, 2)), 0.6
        if m <= 4:                                    # tiny: a polygon
            a = np.arange(m) * (2 * math.pi / m) + rng.random() * 2 * math.pi
            return np.stack([np.cos(a), np.sin(a)], axis=1) * 0.75 * radius, radius
        k = self.key[idx[0]]
        s, e = self.starts[k], self.starts[k + 1]
        self.local[idx] = np.arange(m)
        sub = np.stack([self.local[self.iu[s:e]], self.local[self.iv[s:e]]], axis=1)
        p = _fruchterman_reingold(m, sub, rng)
        p -= p.mean(axis=0)
        far = float(np.sqrt((p * p).sum(axis=1)).max())
        return p * (0.9 * radius / max(far, 1e-9)), radius


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component label of every node (labels in order of the smallest node)."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs.tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(n)], dtype=np.int64)
    return np.unique(roots, return_inverse=True)[1].reshape(-1)


def _spring_by_component(n: int, pairs: np.ndarray, seed: int) -> np.ndarray:
    """Spring layout of every connected component, the components packed as discs.

    One global spring layout would push isolated nodes and small components far out
    and squeeze the big component into a blob in the middle.
    """
    rng = np.random.default_rng(seed)
    comp = _components(n, pairs)
    k = int(comp.max()) + 1 if n else 0
    if k <= 1:
        return _fruchterman_reingold(n, pairs, rng)
    pieces = _Pieces(n, pairs, comp)
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(k + 1))
    parts = [pieces.layout(order[bounds[c]:bounds[c + 1]], rng) for c in range(k)]
    radii = np.array([r for _, r in parts])
    centres = _pack_circles(radii + 0.6)
    xy = np.zeros((n, 2))
    for c, ((p, _), cen) in enumerate(zip(parts, centres)):
        xy[order[bounds[c]:bounds[c + 1]]] = p + cen
    return xy


def _structure_layout(n: int, pairs: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """Nested groups as nested clumps; see :func:`layout_positions`."""
    rng = np.random.default_rng(seed)
    cols = [c for c in range(groups.shape[1]) if (groups[:, c] >= 0).any()]
    g = groups[:, cols]
    depth = g.shape[1]
    labelled = g[:, 0] >= 0
    xy = np.zeros((n, 2))

    # Leaf = finest group, identified by its whole path of labels (finer ids may be local).
    leaf = np.full(n, -1, dtype=np.int64)
    if labelled.any():
        _, inv = np.unique(g[labelled][:, ::-1], axis=0, return_inverse=True)
        leaf[labelled] = inv.reshape(-1)
    leaves = _Pieces(n, pairs, leaf)
    u, v = pairs[:, 0], pairs[:, 1]

    def place_leaf(idx: np.ndarray) -> Tuple[np.ndarray, float]:
        return leaves.layout(idx, rng)

    def place(idx: np.ndarray, col: int) -> Tuple[np.ndarray, float]:
        """Positions of ``idx`` around their own centre, and the radius they take."""
        if col < 0:
            return place_leaf(idx)
        labels = g[idx, col]
        parts = []
        for lab in np.unique(labels):
            parts.append((idx[labels == lab], *place(idx[labels == lab], col - 1)))
        if len(parts) == 1:
            return parts[0][1], parts[0][2]
        radii = np.array([r for _, _, r in parts])
        gap = (0.8 + 0.18 * float(np.median(radii))) * (1.0 + col)   # wider between coarser groups
        centres = _pack_circles(radii + gap / 2)
        out = np.zeros((len(idx), 2))
        where = {int(i): j for j, i in enumerate(idx)}
        for (members, p, _), cen in zip(parts, centres):
            out[[where[int(i)] for i in members]] = p + cen
        reach = float((np.sqrt((centres * centres).sum(axis=1)) + radii).max())
        return out, reach + gap / 2

    placed = labelled.copy()
    if labelled.any():
        idx = np.flatnonzero(labelled)
        xy[idx] = place(idx, depth - 1)[0]

    # Nodes in no finest group: the mean of their placed neighbours, a layer a round.
    spread = 0.5
    both_u = np.concatenate([u, v])
    both_v = np.concatenate([v, u])
    for _ in range(10):
        if placed.all():
            break
        step = ~placed[both_u] & placed[both_v]
        if not step.any():
            break
        tgt, src = both_u[step], both_v[step]
        cnt = np.bincount(tgt, minlength=n)
        new = cnt > 0
        for c in range(2):
            xy[new, c] = np.bincount(tgt, xy[src, c], minlength=n)[new] / cnt[new]
        xy[new] += rng.normal(scale=spread, size=(int(new.sum()), 2))
        placed |= new
    if not placed.all():  # still unreached: on a ring around everything
        rest = np.flatnonzero(~placed)
        if placed.any():
            centre = (xy[placed].min(axis=0) + xy[placed].max(axis=0)) / 2
            ring = float(np.sqrt(((xy[placed] - centre) ** 2).sum(axis=1)).max()) * 1.08 + 1.0
        else:
            centre, ring = np.zeros(2), 1.0
        a = np.arange(len(rest)) * (2 * math.pi / len(rest))
        xy[rest] = centre + ring * np.stack([np.cos(a), np.sin(a)], axis=1)
    return xy


def _compute_layout(n: int, pairs: np.ndarray, groups: Optional[Tensor], method: str,
                    seed: int, fn: str) -> np.ndarray:
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
        if not _has_labels(groups):
            raise ValueError(f"{fn}: layout 'structure' needs 'groups' with at least one "
                             "non-negative label")
        xy = _structure_layout(n, pairs, groups.numpy(), seed)
    return _normalise(xy)


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


# --------------------------------------------------------------------------- drawing


def _import_networkx(fn: str = "plot_hierarchy"):
    try:
        import networkx as nx
    except ImportError as err:
        raise ImportError(f"{fn} needs networkx for this layout: pip install 'hipool[plot]'") from err
    return nx


def _import_plot_libs(fn: str = "plot_hierarchy"):
    try:
        import networkx  # noqa: F401  (layouts; checked up front so that no half work is done)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(f"{fn} needs matplotlib and networkx: pip install 'hipool[plot]'") from err
    return Figure, FigureCanvasAgg, LineCollection


def _palette() -> np.ndarray:
    from matplotlib import colormaps

    tab20 = colormaps["tab20"]
    return np.array([tab20(i) for i in _TAB20_ORDER])


def _colours(ids: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The colour of pooled / group id ``i`` in every picture of this module."""
    return palette[ids % len(palette)]


class _Style:
    """Sizes that scale with the number of nodes ``n`` and edges ``m``."""

    def __init__(self, n: int, m: int, panel_in: float):
        self.panel_in = panel_in
        grow = (panel_in / 3.4) ** 2
        damp = float(np.clip(1.0 - 0.4 * math.log10(max(n, 1) / 200.0), 0.55, 1.0))
        self.node = float(np.clip(4000.0 / n * grow * damp, 2.0, 90.0 * panel_in / 3.4))
        self.node_edge = 0.4 if n <= 300 else 0.0             # white rims only while they show
        self.edge_width = float(np.clip(0.6 * math.sqrt(500.0 / max(n, 1)), 0.3, 0.6)) if n > 150 else 0.8
        self.edge_alpha = float(np.clip((400.0 / max(m, 1)) ** 0.5, 0.22, 1.0))
        self.edge_colour = _EDGE_COLOUR if n <= 500 else _BIG_EDGE_COLOUR
        self.dpi = 110 if n < 1000 else 120


def _panel_inches(n: int) -> float:
    """Side of one panel of a multi-panel figure: 3.4 in up to 200 nodes, ~5.8 in at 2000."""
    return 3.4 if n <= 200 else min(6.5, 3.4 + 2.4 * math.log10(n / 200.0))


class _Frame:
    """The square data window every panel of a figure shares, with a strip for notes."""

    def __init__(self, xy: np.ndarray, note_lines: int):
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        self.span = float(max((hi - lo).max(), 1e-9))
        self.pad = 0.06 * self.span
        self.strip = (0.02 + 0.06 * max(1, note_lines)) * self.span
        self.centre = (lo + hi) / 2

    def apply(self, ax) -> None:
        c, half = self.centre, self.span / 2 + self.pad
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(c[0] - half, c[0] + half)
        ax.set_ylim(c[1] - half - self.strip, c[1] + half)   # the strip is inside the axes


def _note(ax, lines: Sequence[str]) -> None:
    if lines:
        ax.text(0.5, 0.0, "\n".join(lines), transform=ax.transAxes, ha="center", va="bottom",
                fontsize=8.5, color=_NOTE_COLOUR, linespacing=1.25)


def _segments(xy: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return xy[pairs] if len(pairs) else np.zeros((0, 2, 2))


def _draw_nodes(ax, xy: np.ndarray, ids: Optional[np.ndarray], style: _Style, palette) -> None:
    """Original nodes: one colour (``ids`` None), else by id with ``-1`` small and grey."""
    if ids is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=style.node, c=[palette[0]], linewidths=style.node_edge,
                   edgecolors="white", zorder=3)
        return
    kept = ids >= 0
    if (~kept).any():
        ax.scatter(xy[~kept, 0], xy[~kept, 1], s=style.node * 0.35, c=_DROPPED_COLOUR,
                   linewidths=0, zorder=2)
    if kept.any():
        ax.scatter(xy[kept, 0], xy[kept, 1], s=style.node, c=_colours(ids[kept], palette),
                   linewidths=style.node_edge, edgecolors="white", zorder=3)


_HIGHLIGHT_COLOUR = "#d62728"


def _check_highlight(highlight, n: int, fn: str) -> Optional[np.ndarray]:
    """``highlight`` as a bool array ``[n]`` (or ``None``), with errors that name it."""
    if highlight is None:
        return None
    t = torch.as_tensor(highlight)
    if t.dim() != 1 or t.numel() != n:
        raise ValueError(f"{fn}: 'highlight' must be a bool mask with one entry per node ({n}), "
                         f"got shape {tuple(t.shape)}")
    if t.dtype != torch.bool:
        if t.dtype not in _INT_DTYPES or bool(((t != 0) & (t != 1)).any()):
            raise ValueError(f"{fn}: 'highlight' must be a bool (or 0/1) mask, got dtype {t.dtype}")
        t = t.bool()
    return t.detach().cpu().numpy()


def _draw_highlight(ax, xy: np.ndarray, mask: Optional[np.ndarray], style) -> None:
    """Red rings around the highlighted nodes (e.g. a circuit's defect)."""
    if mask is not None and mask.any():
        ax.scatter(xy[mask, 0], xy[mask, 1], s=style.node * 4.0, facecolors="none",
                   edgecolors=_HIGHLIGHT_COLOUR, linewidths=max(1.0, 2 * style.node_edge), zorder=4)


def _figure(Figure, panels: int, panel_in: float, has_title: bool, max_cols: int = 4):
    nrows = -(-panels // max_cols)                 # rows balanced
    ncols = -(-panels // nrows)
    fig = Figure(figsize=(panel_in * ncols, (panel_in + 0.3) * nrows + (0.4 if has_title else 0.1)),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes


def _suptitle(fig, title: str) -> None:
    """The figure title, its font shrunk (13 pt down to 7) so that its longest line fits the width."""
    longest = max(len(line) for line in title.split("\n"))
    width_pt = fig.get_figwidth() * 72.0
    fig.suptitle(title, fontsize=max(7.0, min(13.0, 0.95 * width_pt / (0.58 * max(longest, 1)))))


def _write_atomically(fig, canvas_cls, path: pathlib.Path, dpi: int) -> None:
    canvas_cls(fig)  # attach the Agg canvas: no pyplot, no GUI backend
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})


def _positions_for(xy: Optional[np.ndarray], n: int, pairs: np.ndarray, grp: Optional[Tensor],
                   layout: str, seed: int, fn: str) -> np.ndarray:
    return xy if xy is not None else _compute_layout(n, pairs, grp, layout, seed, fn)


def _group_note(ids: np.ndarray, what: str) -> str:
    k = int(np.unique(ids[ids >= 0]).size)
    return f"coloured by {what} ({_count(k, 'group')})"


def plot_hierarchy(
    edge_index: Tensor,
    assignments: Sequence[Tensor],
    path: Union[str, "os.PathLike[str]"],
    *,
    num_nodes: Optional[int] = None,
    ground_truth: Optional[Tensor] = None,
    title: Optional[str] = None,
    seed: int = 0,
    layout: str = "spring",
    positions=None,
    groups: Optional[Tensor] = None,
    highlight: Optional[Tensor] = None,
    highlight_label: str = "highlighted",
) -> pathlib.Path:
    """Draw one graph's pooling hierarchy as a PNG, one panel per level.

    Args:
        edge_index: edges ``[2, E]`` of *one* graph, node ids ``0..N-1``.
        assignments: one int tensor ``[N]`` per pooled level ``l = 1..L``: for every
            original node the pooled node it belongs to at that level (local to the
            graph, ``0..n_l-1``), or ``-1`` if it was dropped; this is what
            :meth:`hipool.Hierarchy.graph` returns for one graph of the batch.
        path: where to write the PNG (parent folders are created; the file is
            written to a temporary file next to it and moved into place).
        num_nodes: ``N``; default: the length of the first assignment, else of
            ``ground_truth``, else of ``groups``, else ``edge_index.max() + 1``.
        ground_truth: optional int labels ``[N]`` (e.g. community ids, ``-1`` =
            unlabelled).  The level-0 panel (the first) is then the ground-truth
            panel: coloured by these labels, with the number of groups noted under
            it.  Without it level 0 is coloured by ``groups[:, 0]`` when ``groups``
            is given, else drawn in one colour.
        title: figure title; default ``"pooling hierarchy: N nodes, E edges"``,
            ``""`` for none.
        seed: seed of the layout; the same inputs and seed give the same picture.
        layout: ``"spring"``, ``"kamada_kawai"``, ``"structure"`` (needs ``groups``)
            or ``"auto"``; see :func:`layout_positions`.  Ignored when ``positions``
            is given.
        positions: optional precomputed positions ``[N, 2]`` (e.g. from
            :func:`layout_positions`, to share one layout between pictures).
        groups: optional nested ground-truth groups ``[N, K]``, finest first, for
            the ``"structure"`` layout (see :func:`layout_positions`).
        highlight: optional bool mask ``[N]`` of nodes ringed in red on every panel
            (e.g. the parts and nets a circuit's defect touches); ``highlight_label``
            names them in the first panel's note.

    Every panel uses the same layout of the original graph; panel ``l`` is titled
    ``"level l: n_l nodes"`` with ``n_l`` the number of distinct non-negative ids at
    that level.  Colours come from a qualitative palette and repeat when a level
    has more pooled nodes than colours.

    Returns:
        the path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: malformed inputs (the message names the argument).
        ImportError: matplotlib or networkx missing (``pip install 'hipool[plot]'``).
    """
    fn = "plot_hierarchy"
    ei, levels, n, _, gt, grp, xy = _check_inputs(edge_index, assignments, num_nodes, ground_truth,
                                                  layout, groups, positions, fn)
    ring = _check_highlight(highlight, n, fn)
    Figure, FigureCanvasAgg, LineCollection = _import_plot_libs(fn)

    pairs = _undirected_pairs(ei, n)
    xy = _positions_for(xy, n, pairs, grp, layout, int(seed), fn)
    palette = _palette()

    # One panel per level: (title, note lines, node ids or None for "one colour").
    panels = []
    level0 = f"level 0: {_count(n, 'node')}"
    if gt is not None:
        panels.append((level0, [_group_note(gt.numpy(), "ground truth")], gt.numpy()))
    elif _has_labels(grp):
        ids = grp[:, 0].numpy()
        panels.append((level0, [_group_note(ids, "groups[:, 0]")], ids))
    else:
        panels.append((level0, [], None))
    if ring is not None and ring.any():
        panels[0][1].append(f"red rings: {highlight_label} ({_count(int(ring.sum()), 'node')})")
    for lvl, a in enumerate(levels, start=1):
        kept = a >= 0
        n_l = int(torch.unique(a[kept]).numel())
        dropped = n - int(kept.sum())
        note = [f"{dropped} of {n} nodes dropped"] if dropped else []
        panels.append((f"level {lvl}: {_count(n_l, 'node')}", note, a.numpy()))

    has_title = title is None or title != ""
    style = _Style(n, len(pairs), _panel_inches(n))
    fig, axes = _figure(Figure, len(panels), style.panel_in, has_title)
    frame = _Frame(xy, max(len(p[1]) for p in panels))
    segments = _segments(xy, pairs)
    for ax, (panel_title, note, ids) in zip(axes, panels):
        frame.apply(ax)
        if len(segments):
            ax.add_collection(LineCollection(segments, colors=style.edge_colour, alpha=style.edge_alpha,
                                             linewidths=style.edge_width, zorder=1))
        _draw_nodes(ax, xy, ids, style, palette)
        _draw_highlight(ax, xy, ring, style)
        ax.set_title(panel_title, fontsize=11)
        _note(ax, note)

    if title is None:
        title = f"pooling hierarchy: {_count(n, 'node')}, {_count(len(pairs), 'edge')}"
    if title:
        _suptitle(fig, title)

    out = pathlib.Path(path)
    _write_atomically(fig, FigureCanvasAgg, out, dpi=style.dpi)
    return out


def plot_graph(
    edge_index: Tensor,
    path: Union[str, "os.PathLike[str]"],
    *,
    num_nodes: Optional[int] = None,
    positions=None,
    groups: Optional[Tensor] = None,
    colour_by: Optional[Tensor] = None,
    title: Optional[str] = None,
    seed: int = 0,
    layout: str = "auto",
    note: Optional[str] = None,
    highlight: Optional[Tensor] = None,
    highlight_label: str = "highlighted",
) -> pathlib.Path:
    """Draw one graph as a PNG, in one large panel.

    Args:
        edge_index: edges ``[2, E]``, node ids ``0..N-1``.
        path: where to write the PNG (atomically, parent folders created).
        num_nodes: ``N``; default: the length of ``colour_by``, else of ``groups``,
            else ``edge_index.max() + 1``.
        positions: optional precomputed positions ``[N, 2]``.
        groups: optional nested ground-truth groups ``[N, K]``, finest first (see
            :func:`layout_positions`); used by the layout and, without
            ``colour_by``, for the colours (``groups[:, 0]``).
        colour_by: optional int labels ``[N]`` to colour the nodes by (``-1`` = grey).
            Default: ``groups[:, 0]`` when given, else one colour.
        title: default ``"graph: N nodes, E edges"``, ``""`` for none.
        seed: seed of the layout.
        layout: see :func:`layout_positions` (``"auto"``: ``"structure"`` when
            ``groups`` has labels); ignored when ``positions`` is given.
        note: a line under the panel; default says what the colours are, e.g.
            ``"coloured by groups[:, 0] (37 groups)"``; ``""`` for none.
        highlight, highlight_label: optional bool mask ``[N]`` of nodes ringed in red,
            and what they are (named in the note).

    Returns:
        the path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: malformed inputs (the message names the argument).
        ImportError: matplotlib or networkx missing (``pip install 'hipool[plot]'``).
    """
    fn = "plot_graph"
    _check_layout(layout, fn)
    ei = _check_edge_index(edge_index, fn)
    col = None if colour_by is None else _as_int_vector(colour_by, "colour_by", fn)
    grp = _check_groups(groups, fn)
    n, origin = _resolve_num_nodes(num_nodes, ei, [("colour_by", col), ("groups", grp)], fn)
    _check_per_node(col, "colour_by", n, origin, fn)
    _check_labels(col, "colour_by", fn)
    _check_per_node(grp, "groups", n, origin, fn)
    xy = _check_positions(positions, n, fn)
    ring = _check_highlight(highlight, n, fn)
    if xy is None and layout == "structure" and not _has_labels(grp):
        raise ValueError(f"{fn}: layout 'structure' needs 'groups' with at least one "
                         "non-negative label (or pass 'positions')")
    Figure, FigureCanvasAgg, LineCollection = _import_plot_libs(fn)

    pairs = _undirected_pairs(ei, n)
    xy = _positions_for(xy, n, pairs, grp, layout, int(seed), fn)
    palette = _palette()
    if col is not None:
        ids, auto_note = col.numpy(), _group_note(col.numpy(), "colour_by")
    elif _has_labels(grp):
        ids, auto_note = grp[:, 0].numpy(), _group_note(grp[:, 0].numpy(), "groups[:, 0]")
    else:
        ids, auto_note = None, ""
    lines = [ln for ln in (auto_note if note is None else note).split("\n") if ln]
    if ids is not None and note is None and (ids < 0).any():
        lines.append(f"{_count(int((ids < 0).sum()), 'node')} without a label (grey)")
    if ring is not None and ring.any():
        lines.append(f"red rings: {highlight_label} ({_count(int(ring.sum()), 'node')})")

    panel_in = 5.5 if n <= 100 else min(9.0, 5.5 + 3.0 * math.log10(n / 100.0))
    style = _Style(n, len(pairs), panel_in)
    has_title = title is None or title != ""
    fig, axes = _figure(Figure, 1, panel_in, has_title)
    ax = axes[0]
    _Frame(xy, len(lines)).apply(ax)
    segments = _segments(xy, pairs)
    if len(segments):
        ax.add_collection(LineCollection(segments, colors=style.edge_colour, alpha=style.edge_alpha,
                                         linewidths=style.edge_width, zorder=1))
    _draw_nodes(ax, xy, ids, style, palette)
    _draw_highlight(ax, xy, ring, style)
    _note(ax, lines)
    if title is None:
        title = f"graph: {_count(n, 'node')}, {_count(len(pairs), 'edge')}"
    if title:
        _suptitle(fig, title)
    out = pathlib.Path(path)
    _write_atomically(fig, FigureCanvasAgg, out, dpi=style.dpi)
    return out


def _check_pooled(levels: List[Tensor], pooled_edges, pooled_sizes, pooled_weights, fn: str):
    """Per level: ``(edges [2, E_l] int64, n_l, weights [E_l] float64 or None)``."""
    L = len(levels)
    if isinstance(pooled_edges, Tensor):
        raise ValueError(f"{fn}: 'pooled_edges' must be a sequence of [2, E_l] tensors "
                         "(one per level), got a single tensor; wrap it in a list")
    pooled_edges = list(pooled_edges)
    if len(pooled_edges) != L:
        raise ValueError(f"{fn}: 'pooled_edges' must have one edge_index per level "
                         f"({L}, as assignments), got {len(pooled_edges)}")
    edges = [_check_edge_index(e, fn, f"pooled_edges[{i}]") for i, e in enumerate(pooled_edges)]
    for i, e in enumerate(edges):
        if e.numel() and int(e.min()) < 0:
            raise ValueError(f"{fn}: 'pooled_edges[{i}]' (level {i + 1}) ids must be >= 0, "
                             f"got {int(e.min())}")

    if pooled_sizes is None:
        sizes = [max(int(a.max()) + 1 if a.numel() else 0, int(e.max()) + 1 if e.numel() else 0)
                 for a, e in zip(levels, edges)]
    else:
        if isinstance(pooled_sizes, Tensor):
            pooled_sizes = pooled_sizes.tolist()
        pooled_sizes = list(pooled_sizes)
        if len(pooled_sizes) != L:
            raise ValueError(f"{fn}: 'pooled_sizes' must have one size per level ({L}), "
                             f"got {len(pooled_sizes)}")
        sizes = []
        for i, s in enumerate(pooled_sizes):
            try:
                ok = int(s) == s and int(s) >= 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{fn}: 'pooled_sizes[{i}]' (level {i + 1}) must be a "
                                 f"non-negative integer, got {s!r}")
            sizes.append(int(s))
        for i, (a, s) in enumerate(zip(levels, sizes)):
            if a.numel() and int(a.max()) >= s:
                raise ValueError(f"{fn}: 'assignments[{i}]' (level {i + 1}) ids must be < "
                                 f"pooled_sizes[{i}]={s}, got {int(a.max())}")
    for i, (e, s) in enumerate(zip(edges, sizes)):
        if e.numel() and int(e.max()) >= s:
            raise ValueError(f"{fn}: 'pooled_edges[{i}]' (level {i + 1}) ids must be in "
                             f"[0, {s - 1}] (pooled_sizes[{i}]={s}), got {int(e.max())}")

    if pooled_weights is None:
        weights = [None] * L
    else:
        if isinstance(pooled_weights, Tensor):
            raise ValueError(f"{fn}: 'pooled_weights' must be a sequence (one [E_l] tensor or "
                             "None per level), got a single tensor; wrap it in a list")
        pooled_weights = list(pooled_weights)
        if len(pooled_weights) != L:
            raise ValueError(f"{fn}: 'pooled_weights' must have one entry per level ({L}), "
                             f"got {len(pooled_weights)}")
        weights = []
        for i, (w, e) in enumerate(zip(pooled_weights, edges)):
            if w is None:
                weights.append(None)
                continue
            w = torch.as_tensor(w).detach().cpu()
            if not (w.is_floating_point() or w.dtype in _INT_DTYPES):
                raise ValueError(f"{fn}: 'pooled_weights[{i}]' (level {i + 1}) must be a "
                                 f"numeric tensor, got dtype {w.dtype}")
            w = w.to(torch.float64).reshape(-1) if w.dim() == 2 and w.size(-1) == 1 else w.to(torch.float64)
            if w.dim() != 1 or w.numel() != e.size(1):
                raise ValueError(f"{fn}: 'pooled_weights[{i}]' (level {i + 1}) must have shape "
                                 f"[{e.size(1)}] (one weight per pooled edge), got {tuple(w.shape)}")
            if not bool(torch.isfinite(w).all()):
                raise ValueError(f"{fn}: 'pooled_weights[{i}]' (level {i + 1}) must be finite")
            weights.append(w.numpy())
    return edges, sizes, weights


def _pooled_pairs(e: Tensor, w: Optional[np.ndarray], n_l: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Undirected pooled edges ``[M, 2]`` once each, self-loops left out, with the
    largest weight of a pair's copies; edges of weight <= 0 are left out."""
    if e.numel() == 0:
        return np.zeros((0, 2), dtype=np.int64), (None if w is None else np.zeros(0))
    a = e.numpy()
    u, v = np.minimum(a[0], a[1]), np.maximum(a[0], a[1])
    keep = u != v
    if w is not None:
        keep &= w > 0
    key = u[keep] * max(n_l, 1) + v[keep]
    uniq, inv = np.unique(key, return_inverse=True)
    pairs = np.stack([uniq // max(n_l, 1), uniq % max(n_l, 1)], axis=1)
    if w is None:
        return pairs, None
    best = np.full(len(uniq), -np.inf)
    np.maximum.at(best, inv.reshape(-1), w[keep])
    return pairs, best


def plot_coarsened(
    edge_index: Tensor,
    assignments: Sequence[Tensor],
    pooled_edges: Sequence[Tensor],
    path: Union[str, "os.PathLike[str]"],
    *,
    num_nodes: Optional[int] = None,
    pooled_sizes: Optional[Sequence[int]] = None,
    pooled_weights: Optional[Sequence[Optional[Tensor]]] = None,
    positions=None,
    groups: Optional[Tensor] = None,
    title: Optional[str] = None,
    seed: int = 0,
    layout: str = "auto",
) -> pathlib.Path:
    """Draw the coarsened graph of every pooled level as a PNG, one panel per level.

    Every pooled node of level ``l`` is drawn at the mean position of its original
    members (the nodes ``i`` with ``assignments[l-1][i]`` equal to it), with an area
    growing with the square root of their number, in the colour
    :func:`plot_hierarchy` gives that pooled id (so the two pictures match).  The
    original graph is drawn very faintly behind, for orientation.

    Args:
        edge_index: edges ``[2, E]`` of the original graph, node ids ``0..N-1``.
        assignments: one int tensor ``[N]`` per pooled level, as for
            :func:`plot_hierarchy` (ids ``0..n_l-1``, ``-1`` = dropped).
        pooled_edges: one ``edge_index [2, E_l]`` per pooled level over the pooled
            ids ``0..n_l-1``; self-loops are skipped, an undirected pair is drawn once.
        path: where to write the PNG (atomically, parent folders created).
        num_nodes: ``N``; default: the length of ``assignments[0]``.
        pooled_sizes: ``n_l`` per level; default: the largest id in that level's
            assignments and edges, plus one.  Pooled nodes without members (empty
            clusters) are not drawn, nor are their edges; the panel's note counts them.
        pooled_weights: optional, per level ``None`` or the weights ``[E_l]`` of that
            level's edges (clustering poolers give dense weighted graphs): line width
            and opacity grow with the weight, edges of weight <= 0 are left out, and
            of more than ``4 n_l`` edges only the ``4 n_l`` strongest are drawn.
        positions, groups, seed, layout: the layout of the original graph, as for
            :func:`plot_graph`.
        title: default ``"coarsened graphs: N nodes, E edges"``, ``""`` for none.

    Returns:
        the path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: malformed inputs (the message names the argument and the level).
        ImportError: matplotlib or networkx missing (``pip install 'hipool[plot]'``).
    """
    fn = "plot_coarsened"
    ei, levels, n, _, _, grp, xy = _check_inputs(edge_index, assignments, num_nodes, None, layout,
                                                 groups, positions, fn)
    if not levels:
        raise ValueError(f"{fn}: 'assignments' must have at least one level")
    edges, sizes, weights = _check_pooled(levels, pooled_edges, pooled_sizes, pooled_weights, fn)
    Figure, FigureCanvasAgg, LineCollection = _import_plot_libs(fn)

    pairs = _undirected_pairs(ei, n)
    xy = _positions_for(xy, n, pairs, grp, layout, int(seed), fn)
    palette = _palette()

    panels = []   # (title, note lines, centres [k, 2], ids [k], members [k], segments, widths, rgba)
    for lvl, (a, e, n_l, w) in enumerate(zip(levels, edges, sizes, weights), start=1):
        a = a.numpy()
        kept = a >= 0
        members = np.bincount(a[kept], minlength=n_l)
        ids = np.flatnonzero(members > 0)
        centre = np.zeros((n_l, 2))
        for c in range(2):
            centre[ids, c] = np.bincount(a[kept], xy[kept, c], minlength=n_l)[ids] / members[ids]
        pp, pw = _pooled_pairs(e, w, n_l)
        m_l = len(pp)
        notes = []
        empty = n_l - len(ids)
        visible = (members[pp[:, 0]] > 0) & (members[pp[:, 1]] > 0) if m_l else np.zeros(0, bool)
        if empty:
            hidden = int((~visible).sum())
            notes.append(f"{empty} empty cluster{'s' if empty != 1 else ''} not drawn"
                         + (f" (nor {_count(hidden, 'edge')})" if hidden else ""))
        pp = pp[visible]
        pw = None if pw is None else pw[visible]
        cap = 4 * max(len(ids), 1)
        if pw is not None and len(pp) > cap:
            strongest = np.sort(np.argsort(-pw, kind="stable")[:cap])
            notes.append(f"strongest {cap} of {len(pp)} edges drawn")
            pp, pw = pp[strongest], pw[strongest]
        dropped = n - int(kept.sum())
        if dropped:
            notes.append(f"{dropped} of {n} original nodes dropped")
        panels.append((f"level {lvl}: {_count(n_l, 'node')}, {_count(m_l, 'edge')}", notes,
                       centre[ids], ids, members[ids], pp, pw, centre))

    has_title = title is None or title != ""
    style = _Style(n, len(pairs), _panel_inches(n))
    fig, axes = _figure(Figure, len(panels), style.panel_in, has_title)
    frame = _Frame(xy, max(len(p[1]) for p in panels))
    backdrop = _segments(xy, pairs)
    base = min(style.node * 3.0, 60.0)
    cap_size = 0.012 * (style.panel_in * 72) ** 2
    for ax, (panel_title, notes, cen, ids, mem, pp, pw, centre) in zip(axes, panels):
        frame.apply(ax)
        if len(backdrop):
            ax.add_collection(LineCollection(backdrop, colors=_BACKDROP_COLOUR,
                                             alpha=style.edge_alpha * 0.45,
                                             linewidths=style.edge_width * 0.8, zorder=1))
        ax.scatter(xy[:, 0], xy[:, 1], s=style.node * 0.3, c=_BACKDROP_COLOUR, linewidths=0, zorder=1)
        if len(pp):
            seg = centre[pp]
            # Fewer, thinner, fainter lines the more pooled edges there are.
            thin = float(np.clip((60.0 / len(pp)) ** 0.25, 0.45, 1.0))
            faint = float(np.clip((60.0 / len(pp)) ** 0.5, 0.2, 1.0))
            if pw is not None:
                frac = pw / float(pw.max())
                widths = (0.3 + 2.2 * frac) * thin
                alphas = (0.15 + 0.65 * frac) * max(faint, 0.5)
            else:
                widths = np.full(len(pp), 1.2 * thin)
                alphas = np.full(len(pp), 0.75 * faint)
            rgba = np.tile(np.array([int(_POOLED_EDGE_COLOUR[i:i + 2], 16) / 255 for i in (1, 3, 5)]
                                    + [1.0]), (len(pp), 1))
            rgba[:, 3] = alphas
            ax.add_collection(LineCollection(seg, colors=rgba, linewidths=widths, zorder=3))
        if len(ids):
            sizes_pt = np.clip(base * np.sqrt(mem), base, cap_size)
            order = np.argsort(-sizes_pt, kind="stable")   # small ones on top
            ax.scatter(cen[order, 0], cen[order, 1], s=sizes_pt[order],
                       c=_colours(ids[order], palette), linewidths=0.5, edgecolors="white", zorder=4)
        ax.set_title(panel_title, fontsize=11)
        _note(ax, notes)

    if title is None:
        title = f"coarsened graphs: {_count(n, 'node')}, {_count(len(pairs), 'edge')}"
    if title:
        _suptitle(fig, title)
    out = pathlib.Path(path)
    _write_atomically(fig, FigureCanvasAgg, out, dpi=style.dpi)
    return out
