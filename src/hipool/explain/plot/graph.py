"""The picture of one graph alone, in one large panel."""

from __future__ import annotations

import os
import pathlib
from typing import List, Optional, Tuple, Union

import numpy as np
from torch import Tensor

from .checks import _check_graph_inputs, _has_labels
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
    _large_panel_inches,
    _palette,
    _save,
    _segments,
    _Style,
)
from .layout import _positions_for, _undirected_pairs

__all__ = ["plot_graph"]


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
            :func:`~hipool.explain.plot.layout.layout_positions`); used by the layout
            and, without ``colour_by``, for the colours (``groups[:, 0]``).
        colour_by: optional int labels ``[N]`` to colour the nodes by (``-1`` = grey).
            Default: ``groups[:, 0]`` when given, else one colour.
        title: default ``"graph: N nodes, E edges"``, ``""`` for none.
        seed: seed of the layout.
        layout: see :func:`~hipool.explain.plot.layout.layout_positions` (``"auto"``:
            ``"structure"`` when ``groups`` has labels); ignored when ``positions``
            is given.
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
    ei, n, col, grp, xy, ring = _check_graph_inputs(
        edge_index, num_nodes, colour_by, layout, groups, positions, highlight, fn
    )
    Figure, FigureCanvasAgg, LineCollection = _import_plot_libs(fn)

    pairs = _undirected_pairs(ei, n)
    xy = _positions_for(xy, n, pairs, grp, layout, int(seed), fn)
    ids, auto_note = _colour_ids(col, grp)
    lines = _note_lines(ids, auto_note, note) + _highlight_note(ring, highlight_label)

    style = _Style(n, len(pairs), _large_panel_inches(n))
    has_title = title is None or title != ""
    fig, axes = _figure(Figure, 1, style.panel_in, has_title)
    ax = axes[0]
    _Frame(xy, len(lines)).apply(ax)
    _draw_edges(ax, _segments(xy, pairs), style, LineCollection)
    _draw_nodes(ax, xy, ids, style, _palette())
    _draw_highlight(ax, xy, ring, style)
    _label_panel(ax, None, lines)
    if title is None:
        title = f"graph: {_count(n, 'node')}, {_count(len(pairs), 'edge')}"
    return _save(fig, FigureCanvasAgg, path, title, style.dpi)


def _colour_ids(col: Optional[Tensor], grp: Optional[Tensor]) -> Tuple[Optional[np.ndarray], str]:
    """``(the colour id of every node or None for one colour, the note that says so)``."""
    if col is not None:
        return col.numpy(), _group_note(col.numpy(), "colour_by")
    if _has_labels(grp):
        return grp[:, 0].numpy(), _group_note(grp[:, 0].numpy(), "groups[:, 0]")
    return None, ""


def _note_lines(ids: Optional[np.ndarray], auto_note: str, note: Optional[str]) -> List[str]:
    """The caller's ``note`` (else ``auto_note``) as lines, and how many nodes have no label."""
    lines = [ln for ln in (auto_note if note is None else note).split("\n") if ln]
    if ids is not None and note is None and (ids < 0).any():
        lines.append(f"{_count(int((ids < 0).sum()), 'node')} without a label (grey)")
    return lines
