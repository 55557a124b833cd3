"""A picture of one graph's pooling hierarchy.

:func:`plot_hierarchy` draws one panel per level, each with the same layout of
the *original* graph: at level ``l`` every original node is coloured by the
pooled node it ended up in, and nodes dropped on the way (``-1``, see
:data:`hipool.record.DROPPED`) are drawn small and light grey.  Level 0 is the
original graph, coloured by ``ground_truth`` when given (e.g. community ids),
else in one colour.

matplotlib and networkx are optional dependencies (``pip install 'hipool[plot]'``);
they are imported only when a picture is drawn.  The figure is rendered with the
Agg canvas directly (no pyplot, no GUI, no global backend change).
"""
from __future__ import annotations

import os
import pathlib
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ..io import atomic_path

__all__ = ["plot_hierarchy"]

_LAYOUTS = ("spring", "kamada_kawai")
_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)

# tab20 without its two greys (those would read as "dropped"), strong colours
# first and their light partners after, so that neighbouring ids differ well.
_TAB20_ORDER = [0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19]
_DROPPED_COLOUR = "#b8b8b8"
_EDGE_COLOUR = "#c8c8c8"
_NOTE_COLOUR = "#666666"


def _as_int_vector(value, name: str) -> Tensor:
    t = torch.as_tensor(value)
    if t.dtype not in _INT_DTYPES:
        raise ValueError(f"plot_hierarchy: '{name}' must be an integer tensor, got dtype {t.dtype}")
    if t.dim() != 1:
        raise ValueError(f"plot_hierarchy: '{name}' must be 1-D [num_nodes], got shape {tuple(t.shape)}")
    return t.detach().cpu().to(torch.int64)


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _check_inputs(edge_index, assignments, num_nodes, ground_truth, layout
                  ) -> Tuple[Tensor, List[Tensor], int, Optional[Tensor]]:
    if layout not in _LAYOUTS:
        raise ValueError(f"plot_hierarchy: 'layout' must be one of {_LAYOUTS}, got {layout!r}")

    ei = torch.as_tensor(edge_index)
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ValueError(f"plot_hierarchy: 'edge_index' must have shape [2, E], got {tuple(ei.shape)}")
    if ei.dtype not in _INT_DTYPES:
        raise ValueError(f"plot_hierarchy: 'edge_index' must be an integer tensor, got dtype {ei.dtype}")
    ei = ei.detach().cpu().to(torch.int64)

    if isinstance(assignments, Tensor) and assignments.dim() == 1:
        raise ValueError("plot_hierarchy: 'assignments' must be a sequence of 1-D tensors "
                         "(one per level), got a single 1-D tensor; wrap it in a list")
    levels = [_as_int_vector(a, f"assignments[{i}]") for i, a in enumerate(assignments)]
    gt = None if ground_truth is None else _as_int_vector(ground_truth, "ground_truth")

    # Number of nodes: given, else from the per-node tensors, else from the edges.
    if num_nodes is not None:
        n = int(num_nodes)
        if n != num_nodes or n < 1:
            raise ValueError(f"plot_hierarchy: 'num_nodes' must be a positive integer, got {num_nodes!r}")
        origin = "num_nodes"
    elif levels:
        n, origin = levels[0].numel(), "the length of assignments[0]"
    elif gt is not None:
        n, origin = gt.numel(), "the length of ground_truth"
    else:
        n, origin = (int(ei.max()) + 1 if ei.numel() > 0 else 0), "edge_index"
    if n < 1:
        raise ValueError("plot_hierarchy: the graph has no nodes; pass 'num_nodes' for a graph "
                         "without edges")

    if ei.numel() > 0:
        lo, hi = int(ei.min()), int(ei.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"plot_hierarchy: 'edge_index' ids must be in [0, {n - 1}] "
                             f"(num_nodes={n}, from {origin}), got range [{lo}, {hi}]")
    for i, a in enumerate(levels):
        if a.numel() != n:
            raise ValueError(f"plot_hierarchy: 'assignments[{i}]' (level {i + 1}) must have one "
                             f"entry per original node ({n}, from {origin}), got {a.numel()}")
        if a.numel() > 0 and int(a.min()) < -1:
            raise ValueError(f"plot_hierarchy: 'assignments[{i}]' (level {i + 1}) ids must be "
                             f">= 0, or -1 for a dropped node; got {int(a.min())}")
    if gt is not None:
        if gt.numel() != n:
            raise ValueError(f"plot_hierarchy: 'ground_truth' must have one entry per original "
                             f"node ({n}, from {origin}), got {gt.numel()}")
        if int(gt.min()) < -1:
            raise ValueError(f"plot_hierarchy: 'ground_truth' labels must be >= 0 (or -1 for "
                             f"unlabelled), got {int(gt.min())}")
    return ei, levels, n, gt


def _import_plot_libs():
    try:
        import networkx as nx
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("plot_hierarchy needs matplotlib and networkx: "
                          "pip install 'hipool[plot]'") from err
    return Figure, FigureCanvasAgg, LineCollection, nx


def _palette():
    from matplotlib import colormaps

    tab20 = colormaps["tab20"]
    return [tab20(i) for i in _TAB20_ORDER]


def _layout(nx, n: int, ei: Tensor, layout: str, seed: int):
    """Positions ``[n, 2]`` of the original nodes, and the (undirected) networkx graph."""
    import numpy as np

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((u, v) for u, v in ei.t().tolist() if u != v)
    try:  # networkx needs scipy for spring layouts of 500+ nodes and for kamada_kawai
        pos = nx.spring_layout(graph, seed=seed) if layout == "spring" else nx.kamada_kawai_layout(graph)
    except ImportError as err:
        raise ImportError("plot_hierarchy needs scipy for this layout: pip install 'hipool[plot]'") from err
    xy = np.zeros((n, 2))
    for node, p in pos.items():
        xy[node] = p
    return xy, graph


def _write_atomically(fig, canvas_cls, path: pathlib.Path, dpi: int) -> None:
    canvas_cls(fig)  # attach the Agg canvas: no pyplot, no GUI backend
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})


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
            ``ground_truth``, else ``edge_index.max() + 1``.
        ground_truth: optional int labels ``[N]`` (e.g. community ids, ``-1`` =
            unlabelled).  The level-0 panel (the first) is then the ground-truth
            panel: coloured by these labels, with the number of groups noted under
            it.  Without it level 0 is drawn in one colour.
        title: figure title; default ``"pooling hierarchy: N nodes, E edges"``,
            ``""`` for none.
        seed: seed of the spring layout; the same inputs and seed give the same picture.
        layout: ``"spring"`` (networkx spring layout) or ``"kamada_kawai"`` (needs scipy).

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
    ei, levels, n, gt = _check_inputs(edge_index, assignments, num_nodes, ground_truth, layout)
    Figure, FigureCanvasAgg, LineCollection, nx = _import_plot_libs()
    import numpy as np

    xy, graph = _layout(nx, n, ei, layout, int(seed))
    palette = np.array(_palette())
    num_colours = len(palette)

    # One panel per level: (title, note, node ids or None for "one colour").
    panels = []
    if gt is not None:
        k = int(torch.unique(gt[gt >= 0]).numel())
        note = f"coloured by ground truth ({_count(k, 'group')})"
        panels.append((f"level 0: {_count(n, 'node')}", note, gt.numpy()))
    else:
        panels.append((f"level 0: {_count(n, 'node')}", None, None))
    for lvl, a in enumerate(levels, start=1):
        kept = a >= 0
        n_l = int(torch.unique(a[kept]).numel())
        dropped = n - int(kept.sum())
        note = f"{dropped} of {n} nodes dropped" if dropped else None
        panels.append((f"level {lvl}: {_count(n_l, 'node')}", note, a.numpy()))

    nrows = -(-len(panels) // 4)                 # at most 4 panels a row, rows balanced
    ncols = -(-len(panels) // nrows)
    panel_in = 3.4
    has_title = title is None or title != ""
    fig = Figure(figsize=(panel_in * ncols, (panel_in + 0.3) * nrows + (0.4 if has_title else 0.1)),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    size = float(np.clip(4000.0 / n, 14.0, 90.0))
    edges = list(graph.edges())  # self-loops were left out of the graph
    segments = xy[np.array(edges, dtype=np.int64)] if edges else np.zeros((0, 2, 2))
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float(max((hi - lo).max(), 1e-9))
    pad = 0.06 * span
    note_strip = 0.08 * span
    centre = (lo + hi) / 2

    # Fewer, fainter edges for dense graphs so that the node colours stay readable.
    edge_alpha = float(min(1.0, (400.0 / max(len(edges), 1)) ** 0.5))
    for ax, (panel_title, note, ids) in zip(axes, panels):
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(centre[0] - span / 2 - pad, centre[0] + span / 2 + pad)
        # A strip at the bottom of every panel for its note (kept inside the axes).
        ax.set_ylim(centre[1] - span / 2 - pad - note_strip, centre[1] + span / 2 + pad)
        if len(segments):
            ax.add_collection(LineCollection(segments, colors=_EDGE_COLOUR, alpha=edge_alpha,
                                             linewidths=0.6 if n > 150 else 0.8, zorder=1))
        if ids is None:
            ax.scatter(xy[:, 0], xy[:, 1], s=size, c=[palette[0]], linewidths=0.4,
                       edgecolors="white", zorder=3)
        else:
            kept = ids >= 0
            if (~kept).any():
                ax.scatter(xy[~kept, 0], xy[~kept, 1], s=size * 0.35, c=_DROPPED_COLOUR,
                           linewidths=0, zorder=2)
            if kept.any():
                ax.scatter(xy[kept, 0], xy[kept, 1], s=size, c=palette[ids[kept] % num_colours],
                           linewidths=0.4, edgecolors="white", zorder=3)
        ax.set_title(panel_title, fontsize=11)
        if note:
            ax.text(0.5, 0.0, note, transform=ax.transAxes, ha="center", va="bottom",
                    fontsize=8.5, color=_NOTE_COLOUR)
    for ax in axes[len(panels):]:
        ax.set_visible(False)

    if title is None:
        m = graph.number_of_edges()
        title = f"pooling hierarchy: {_count(n, 'node')}, {_count(m, 'edge')}"
    if title:
        fig.suptitle(title, fontsize=13)

    out = pathlib.Path(path)
    _write_atomically(fig, FigureCanvasAgg, out, dpi=110)
    return out
