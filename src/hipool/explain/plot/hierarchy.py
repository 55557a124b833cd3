"""The hierarchy picture: one panel per level, every level on the layout of the original graph."""

from __future__ import annotations

import os
import pathlib
from typing import List, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .checks import _check_highlight, _check_inputs, _has_labels
from .draw import (
    _count,
    _draw_edges,
    _draw_highlight,
    _draw_nodes,
    _figure,
    _Frame,
    _group_note,
    _highlight_note,
    _import_plot_libs,
    _label_panel,
    _palette,
    _panel_inches,
    _save,
    _segments,
    _Style,
)
from .layout import _positions_for, _undirected_pairs

__all__ = ["plot_hierarchy"]


class _Panel(NamedTuple):
    title: str
    notes: List[str]
    ids: Optional[np.ndarray]  # the colour id of every original node; None: one colour


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
            or ``"auto"``; see :func:`~hipool.explain.plot.layout.layout_positions`.  Ignored
            when ``positions`` is given.
        positions: optional precomputed positions ``[N, 2]`` (e.g. from
            :func:`~hipool.explain.plot.layout.layout_positions`, to share one layout between
            pictures).
        groups: optional nested ground-truth groups ``[N, K]``, finest first, for
            the ``"structure"`` layout (see
            :func:`~hipool.explain.plot.layout.layout_positions`).
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
    ei, levels, n, gt, grp, xy = _check_inputs(
        edge_index, assignments, num_nodes, ground_truth, layout, groups, positions, fn
    )
    ring = _check_highlight(highlight, n, fn)
    Figure, FigureCanvasAgg, LineCollection = _import_plot_libs(fn)

    pairs = _undirected_pairs(ei, n)
    xy = _positions_for(xy, n, pairs, grp, layout, int(seed), fn)
    panels = [_level0_panel(n, gt, grp, _highlight_note(ring, highlight_label))]
    panels += [_level_panel(lvl, a, n) for lvl, a in enumerate(levels, start=1)]

    has_title = title is None or title != ""
    style = _Style(n, len(pairs), _panel_inches(n))
    fig, axes = _figure(Figure, len(panels), style.panel_in, has_title)
    frame = _Frame(xy, max(len(p.notes) for p in panels))
    segments = _segments(xy, pairs)
    palette = _palette()
    for ax, panel in zip(axes, panels):
        frame.apply(ax)
        _draw_edges(ax, segments, style, LineCollection)
        _draw_nodes(ax, xy, panel.ids, style, palette)
        _draw_highlight(ax, xy, ring, style)
        _label_panel(ax, panel.title, panel.notes)

    if title is None:
        title = f"pooling hierarchy: {_count(n, 'node')}, {_count(len(pairs), 'edge')}"
    return _save(fig, FigureCanvasAgg, path, title, style.dpi)


def _level0_panel(n: int, gt: Optional[Tensor], grp: Optional[Tensor], extra: List[str]) -> _Panel:
    """The original graph, coloured by the ground truth, else by ``groups[:, 0]``, else in one colour."""
    title = f"level 0: {_count(n, 'node')}"
    if gt is not None:
        return _Panel(title, [_group_note(gt.numpy(), "ground truth")] + extra, gt.numpy())
    if _has_labels(grp):
        ids = grp[:, 0].numpy()
        return _Panel(title, [_group_note(ids, "groups[:, 0]")] + extra, ids)
    return _Panel(title, extra, None)


def _level_panel(lvl: int, a: Tensor, n: int) -> _Panel:
    """Pooled level ``lvl``: every original node coloured by the pooled node it ended up in."""
    kept = a >= 0
    n_l = int(torch.unique(a[kept]).numel())
    dropped = n - int(kept.sum())
    notes = [f"{dropped} of {n} nodes dropped"] if dropped else []
    return _Panel(f"level {lvl}: {_count(n_l, 'node')}", notes, a.numpy())
