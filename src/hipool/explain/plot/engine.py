"""The hand-written layout engine: spring layouts by component, and nested groups as clumps.

* ``_fruchterman_reingold``: networkx's dense spring layout, vectorised in row
  blocks, for graphs too large for networkx.
* ``_spring_by_component``: every connected component laid out on its own, the
  components packed as discs (``_pack_circles``).
* ``_structure_layout``: nested ground-truth groups packed as nested discs, the
  nodes of a finest group by a small spring layout of its induced subgraph.

Everything here is numpy on the undirected pairs ``[M, 2]`` of the graph, seeded by
a :class:`numpy.random.Generator`; no networkx, no matplotlib.
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np


def _fruchterman_reingold(n: int, pairs: np.ndarray, rng: np.random.Generator, iterations: int = 50) -> np.ndarray:
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
            np.maximum(f, 1e-4, out=f)  # distances below 0.01 count as 0.01
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
    weight = (r * r)[None, :] / ((r * r)[:, None] + (r * r)[None, :])  # the smaller moves more
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
        if m <= 4:  # tiny: a polygon
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
    parts = [pieces.layout(order[bounds[c] : bounds[c + 1]], rng) for c in range(k)]
    radii = np.array([r for _, r in parts])
    centres = _pack_circles(radii + 0.6)
    xy = np.zeros((n, 2))
    for c, ((p, _), cen) in enumerate(zip(parts, centres)):
        xy[order[bounds[c] : bounds[c + 1]]] = p + cen
    return xy


def _structure_layout(n: int, pairs: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """Nested groups as nested clumps; see :func:`~hipool.explain.plot.layout.layout_positions`."""
    rng = np.random.default_rng(seed)
    cols = [c for c in range(groups.shape[1]) if (groups[:, c] >= 0).any()]
    g = groups[:, cols]
    labelled = g[:, 0] >= 0
    xy = np.zeros((n, 2))

    # Leaf = finest group, identified by its whole path of labels (finer ids may be local).
    leaf = np.full(n, -1, dtype=np.int64)
    if labelled.any():
        _, inv = np.unique(g[labelled][:, ::-1], axis=0, return_inverse=True)
        leaf[labelled] = inv.reshape(-1)
    leaves = _Pieces(n, pairs, leaf)

    def place(idx: np.ndarray, col: int) -> Tuple[np.ndarray, float]:
        """Positions of ``idx`` around their own centre, and the radius they take."""
        if col < 0:
            return leaves.layout(idx, rng)
        labels = g[idx, col]
        parts = []
        for lab in np.unique(labels):
            parts.append((idx[labels == lab], *place(idx[labels == lab], col - 1)))
        if len(parts) == 1:
            return parts[0][1], parts[0][2]
        radii = np.array([r for _, _, r in parts])
        gap = (0.8 + 0.18 * float(np.median(radii))) * (1.0 + col)  # wider between coarser groups
        centres = _pack_circles(radii + gap / 2)
        out = np.zeros((len(idx), 2))
        where = {int(i): j for j, i in enumerate(idx)}
        for (members, p, _), cen in zip(parts, centres):
            out[[where[int(i)] for i in members]] = p + cen
        reach = float((np.sqrt((centres * centres).sum(axis=1)) + radii).max())
        return out, reach + gap / 2

    if labelled.any():
        idx = np.flatnonzero(labelled)
        xy[idx] = place(idx, g.shape[1] - 1)[0]
    _place_ungrouped(xy, labelled.copy(), pairs, rng)
    return xy


def _place_ungrouped(xy: np.ndarray, placed: np.ndarray, pairs: np.ndarray, rng: np.random.Generator) -> None:
    """Place (in ``xy``) the nodes not yet ``placed``: at the mean of their placed
    neighbours, a layer a round, and those never reached on a ring around everything."""
    n = len(xy)
    u, v = pairs[:, 0], pairs[:, 1]
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
    if not placed.all():
        rest = np.flatnonzero(~placed)
        if placed.any():
            centre = (xy[placed].min(axis=0) + xy[placed].max(axis=0)) / 2
            ring = float(np.sqrt(((xy[placed] - centre) ** 2).sum(axis=1)).max()) * 1.08 + 1.0
        else:
            centre, ring = np.zeros(2), 1.0
        a = np.arange(len(rest)) * (2 * math.pi / len(rest))
        xy[rest] = centre + ring * np.stack([np.cos(a), np.sin(a)], axis=1)
