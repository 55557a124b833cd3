"""The coarsened graphs: every pooled level's nodes and edges, drawn where their members are."""

from __future__ import annotations

import os
import pathlib
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from torch import Tensor

from .checks import _check_inputs, _check_pooled
from .draw import (
    _BACKDROP_COLOUR,
    _POOLED_EDGE_COLOUR,
    _colours,
    _count,
    _figure,
    _Frame,
    _import_plot_libs,
    _label_panel,
    _palette,
    _panel_inches,
    _save,
    _segments,
    _Style,
)
from .layout import _positions_for, _undirected_pairs

__all__ = ["plot_coarsened"]


class _Panel(NamedTuple):
    title: str
    notes: List[str]
    centres: np.ndarray  # [n_l, 2]: the mean position of every pooled node's members
    ids: np.ndarray  # [k]: the pooled nodes drawn (those with members)
    members: np.ndarray  # [k]: how many original nodes each of them has
    pairs: np.ndarray  # [M, 2]: the pooled edges drawn
    weights: Optional[np.ndarray]  # [M]: their weights, or None


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
    :func:`~hipool.explain.plot.hierarchy.plot_hierarchy` gives that pooled id (so the two
    pictures match).  The original graph is drawn very faintly behind, for orientation.

    Args:
        edge_index: edges ``[2, E]`` of the original graph, node ids ``0..N-1``.
        assignments: one int tensor ``[N]`` per pooled level, as for
            :func:`~hipool.explain.plot.hierarchy.plot_hierarchy` (ids ``0..n_l-1``,
            ``-1`` = dropped).
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
            :func:`~hipool.explain.plot.graph.plot_graph`.
        title: default ``"coarsened graphs: N nodes, E edges"``, ``""`` for none.

    Returns:
        the path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: malformed inputs (the message names the argument and the level).
        ImportError: matplotlib or networkx missing (``pip install 'hipool[plot]'``).
    """
    fn = "plot_coarsened"
    ei, levels, n, _, grp, xy = _check_inputs(edge_index, assignments, num_nodes, None, layout, groups, positions, fn)
    if not levels:
        raise ValueError(f"{fn}: 'assignments' must have at least one level")
    edges, sizes, weights = _check_pooled(levels, pooled_edges, pooled_sizes, pooled_weights, fn)
    Figure, FigureCanvasAgg, LineCollection = _import_plot_libs(fn)

    pairs = _undirected_pairs(ei, n)
    xy = _positions_for(xy, n, pairs, grp, layout, int(seed), fn)
    panels = [
        _level_panel(lvl, a.numpy(), e, n_l, w, xy)
        for lvl, (a, e, n_l, w) in enumerate(zip(levels, edges, sizes, weights), start=1)
    ]

    has_title = title is None or title != ""
    style = _Style(n, len(pairs), _panel_inches(n))
    fig, axes = _figure(Figure, len(panels), style.panel_in, has_title)
    frame = _Frame(xy, max(len(p.notes) for p in panels))
    backdrop = _segments(xy, pairs)
    palette = _palette()
    for ax, panel in zip(axes, panels):
        frame.apply(ax)
        _draw_backdrop(ax, xy, backdrop, style, LineCollection)
        _draw_pooled_edges(ax, panel.centres, panel.pairs, panel.weights, LineCollection)
        _draw_pooled_nodes(ax, panel.centres[panel.ids], panel.ids, panel.members, style, palette)
        _label_panel(ax, panel.title, panel.notes)

    if title is None:
        title = f"coarsened graphs: {_count(n, 'node')}, {_count(len(pairs), 'edge')}"
    return _save(fig, FigureCanvasAgg, path, title, style.dpi)


def _level_panel(lvl: int, a: np.ndarray, e: Tensor, n_l: int, w: Optional[np.ndarray], xy: np.ndarray) -> _Panel:
    """Pooled level ``lvl``: where its nodes go, which of its edges are drawn, and the notes."""
    n = len(a)
    kept = a >= 0
    members = np.bincount(a[kept], minlength=n_l)
    ids = np.flatnonzero(members > 0)
    centres = np.zeros((n_l, 2))
    for c in range(2):
        centres[ids, c] = np.bincount(a[kept], xy[kept, c], minlength=n_l)[ids] / members[ids]
    pp, pw = _pooled_pairs(e, w, n_l)
    m_l = len(pp)
    notes = []
    empty = n_l - len(ids)
    visible = (members[pp[:, 0]] > 0) & (members[pp[:, 1]] > 0) if m_l else np.zeros(0, bool)
    if empty:
        hidden = int((~visible).sum())
        notes.append(
            f"{empty} empty cluster{'s' if empty != 1 else ''} not drawn"
            + (f" (nor {_count(hidden, 'edge')})" if hidden else "")
        )
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
    return _Panel(
        f"level {lvl}: {_count(n_l, 'node')}, {_count(m_l, 'edge')}", notes, centres, ids, members[ids], pp, pw
    )


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


def _draw_backdrop(ax, xy: np.ndarray, segments: np.ndarray, style: _Style, LineCollection) -> None:
    """The original graph, very faint, for orientation."""
    if len(segments):
        ax.add_collection(
            LineCollection(
                segments,
                colors=_BACKDROP_COLOUR,
                alpha=style.edge_alpha * 0.45,
                linewidths=style.edge_width * 0.8,
                zorder=1,
            )
        )
    ax.scatter(xy[:, 0], xy[:, 1], s=style.node * 0.3, c=_BACKDROP_COLOUR, linewidths=0, zorder=1)


def _draw_pooled_edges(
    ax, centres: np.ndarray, pairs: np.ndarray, weights: Optional[np.ndarray], LineCollection
) -> None:
    """Pooled edges between the centres, wider and more opaque the heavier they are."""
    if not len(pairs):
        return
    # Fewer, thinner, fainter lines the more pooled edges there are.
    thin = float(np.clip((60.0 / len(pairs)) ** 0.25, 0.45, 1.0))
    faint = float(np.clip((60.0 / len(pairs)) ** 0.5, 0.2, 1.0))
    if weights is not None:
        frac = weights / float(weights.max())
        widths = (0.3 + 2.2 * frac) * thin
        alphas = (0.15 + 0.65 * frac) * max(faint, 0.5)
    else:
        widths = np.full(len(pairs), 1.2 * thin)
        alphas = np.full(len(pairs), 0.75 * faint)
    rgba = np.tile(
        np.array([int(_POOLED_EDGE_COLOUR[i : i + 2], 16) / 255 for i in (1, 3, 5)] + [1.0]), (len(pairs), 1)
    )
    rgba[:, 3] = alphas
    ax.add_collection(LineCollection(centres[pairs], colors=rgba, linewidths=widths, zorder=3))


def _draw_pooled_nodes(
    ax, centres: np.ndarray, ids: np.ndarray, members: np.ndarray, style: _Style, palette: np.ndarray
) -> None:
    """Pooled nodes in their hierarchy-picture colour, with an area growing with the square
    root of their number of members; the small ones on top."""
    if not len(ids):
        return
    base = min(style.node * 3.0, 60.0)
    cap_size = 0.012 * (style.panel_in * 72) ** 2
    sizes_pt = np.clip(base * np.sqrt(members), base, cap_size)
    order = np.argsort(-sizes_pt, kind="stable")
    ax.scatter(
        centres[order, 0],
        centres[order, 1],
        s=sizes_pt[order],
        c=_colours(ids[order], palette),
        linewidths=0.5,
        edgecolors="white",
        zorder=4,
    )
