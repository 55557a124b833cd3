"""What the pictures share: colours, sizes that scale with the graph, panels, notes, saving.

matplotlib is imported only inside these functions, after ``_import_plot_libs``
has checked that it is installed; the figure is rendered with the Agg canvas
directly (no pyplot, no GUI, no global backend change).
"""

from __future__ import annotations

import math
import pathlib
from typing import List, Optional, Sequence

import numpy as np

from ...io import atomic_path

# tab20 without its two greys (those would read as "dropped"), strong colours
# first and their light partners after, so that neighbouring ids differ well.
_TAB20_ORDER = [0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19]
_DROPPED_COLOUR = "#b8b8b8"
_EDGE_COLOUR = "#c8c8c8"
_BIG_EDGE_COLOUR = "#a0a0a0"  # thin faint edges of large graphs need a darker grey
_POOLED_EDGE_COLOUR = "#505050"
_BACKDROP_COLOUR = "#d8d8d8"
_NOTE_COLOUR = "#666666"
_HIGHLIGHT_COLOUR = "#d62728"

_MAX_COLUMNS = 4  # panels a row


def _import_plot_libs(fn: str):
    try:
        import networkx  # noqa: F401  (layouts; checked up front so that no half work is done)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(f"{fn} needs matplotlib and networkx: pip install 'hipool[plot]'") from err
    return Figure, FigureCanvasAgg, LineCollection


# --------------------------------------------------------------------------- colours and sizes


def _palette() -> np.ndarray:
    from matplotlib import colormaps

    tab20 = colormaps["tab20"]
    return np.array([tab20(i) for i in _TAB20_ORDER])


def _colours(ids: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The colour of pooled / group id ``i`` in every picture of this package."""
    return palette[ids % len(palette)]


class _Style:
    """Sizes that scale with the number of nodes ``n`` and edges ``m``."""

    def __init__(self, n: int, m: int, panel_in: float):
        self.panel_in = panel_in
        grow = (panel_in / 3.4) ** 2
        damp = float(np.clip(1.0 - 0.4 * math.log10(max(n, 1) / 200.0), 0.55, 1.0))
        self.node = float(np.clip(4000.0 / n * grow * damp, 2.0, 90.0 * panel_in / 3.4))
        self.node_edge = 0.4 if n <= 300 else 0.0  # white rims only while they show
        self.edge_width = float(np.clip(0.6 * math.sqrt(500.0 / max(n, 1)), 0.3, 0.6)) if n > 150 else 0.8
        self.edge_alpha = float(np.clip((400.0 / max(m, 1)) ** 0.5, 0.22, 1.0))
        self.edge_colour = _EDGE_COLOUR if n <= 500 else _BIG_EDGE_COLOUR
        self.dpi = 110 if n < 1000 else 120


def _panel_inches(n: int) -> float:
    """Side of one panel of a multi-panel figure: 3.4 in up to 200 nodes, ~5.8 in at 2000."""
    return 3.4 if n <= 200 else min(6.5, 3.4 + 2.4 * math.log10(n / 200.0))


def _large_panel_inches(n: int) -> float:
    """Side of the one panel of a single-panel figure: 5.5 in up to 100 nodes, 9 in from ~1500."""
    return 5.5 if n <= 100 else min(9.0, 5.5 + 3.0 * math.log10(n / 100.0))


# --------------------------------------------------------------------------- figure and panels


def _figure(Figure, panels: int, panel_in: float, has_title: bool):
    nrows = -(-panels // _MAX_COLUMNS)  # rows balanced
    ncols = -(-panels // nrows)
    fig = Figure(
        figsize=(panel_in * ncols, (panel_in + 0.3) * nrows + (0.4 if has_title else 0.1)), layout="constrained"
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes


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
        ax.set_ylim(c[1] - half - self.strip, c[1] + half)  # the strip is inside the axes


def _label_panel(ax, title: Optional[str], lines: Sequence[str]) -> None:
    """The panel's title above it (none for ``None``) and its note lines in the strip under it."""
    if title is not None:
        ax.set_title(title, fontsize=11)
    _note(ax, lines)


def _note(ax, lines: Sequence[str]) -> None:
    if lines:
        ax.text(
            0.5,
            0.0,
            "\n".join(lines),
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=8.5,
            color=_NOTE_COLOUR,
            linespacing=1.25,
        )


def _save(fig, canvas_cls, path, title: str, dpi: int) -> pathlib.Path:
    """Give ``fig`` its ``title`` (none for ``""``) and write it to ``path`` as a PNG, atomically."""
    if title:
        _suptitle(fig, title)
    out = pathlib.Path(path)
    canvas_cls(fig)  # attach the Agg canvas: no pyplot, no GUI backend
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    return out


def _suptitle(fig, title: str) -> None:
    """The figure title, its font shrunk (13 pt down to 7) so that its longest line fits the width."""
    longest = max(len(line) for line in title.split("\n"))
    width_pt = fig.get_figwidth() * 72.0
    fig.suptitle(title, fontsize=max(7.0, min(13.0, 0.95 * width_pt / (0.58 * max(longest, 1)))))


# --------------------------------------------------------------------------- the original graph


def _segments(xy: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return xy[pairs] if len(pairs) else np.zeros((0, 2, 2))


def _draw_edges(ax, segments: np.ndarray, style: _Style, LineCollection) -> None:
    if len(segments):
        ax.add_collection(
            LineCollection(
                segments, colors=style.edge_colour, alpha=style.edge_alpha, linewidths=style.edge_width, zorder=1
            )
        )


def _draw_nodes(ax, xy: np.ndarray, ids: Optional[np.ndarray], style: _Style, palette) -> None:
    """Original nodes: one colour (``ids`` None), else by id with ``-1`` small and grey."""
    if ids is None:
        ax.scatter(
            xy[:, 0], xy[:, 1], s=style.node, c=[palette[0]], linewidths=style.node_edge, edgecolors="white", zorder=3
        )
        return
    kept = ids >= 0
    if (~kept).any():
        ax.scatter(xy[~kept, 0], xy[~kept, 1], s=style.node * 0.35, c=_DROPPED_COLOUR, linewidths=0, zorder=2)
    if kept.any():
        ax.scatter(
            xy[kept, 0],
            xy[kept, 1],
            s=style.node,
            c=_colours(ids[kept], palette),
            linewidths=style.node_edge,
            edgecolors="white",
            zorder=3,
        )


def _draw_highlight(ax, xy: np.ndarray, mask: Optional[np.ndarray], style: _Style) -> None:
    """Red rings around the highlighted nodes (e.g. a circuit's defect)."""
    if mask is not None and mask.any():
        ax.scatter(
            xy[mask, 0],
            xy[mask, 1],
            s=style.node * 4.0,
            facecolors="none",
            edgecolors=_HIGHLIGHT_COLOUR,
            linewidths=max(1.0, 2 * style.node_edge),
            zorder=4,
        )


# --------------------------------------------------------------------------- notes


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _group_note(ids: np.ndarray, what: str) -> str:
    k = int(np.unique(ids[ids >= 0]).size)
    return f"coloured by {what} ({_count(k, 'group')})"


def _highlight_note(mask: Optional[np.ndarray], label: str) -> List[str]:
    """The note line naming the highlighted nodes, if there are any."""
    if mask is not None and mask.any():
        return [f"red rings: {label} ({_count(int(mask.sum()), 'node')})"]
    return []
