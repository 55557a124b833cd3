"""Argument checks of the pictures and of :func:`~hipool.explain.plot.layout.layout_positions`.

Every check names the function (``fn``), the argument and what is allowed, and
returns the argument in the one form the rest of the package works with (int64
tensors on the CPU, float64 numpy positions, bool numpy masks).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

_LAYOUTS = ("spring", "kamada_kawai", "structure", "auto")
_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _as_int_vector(value, name: str, fn: str) -> Tensor:
    t = torch.as_tensor(value)
    if t.dtype not in _INT_DTYPES:
        raise ValueError(f"{fn}: '{name}' must be an integer tensor, got dtype {t.dtype}")
    if t.dim() != 1:
        raise ValueError(f"{fn}: '{name}' must be 1-D [num_nodes], got shape {tuple(t.shape)}")
    return t.detach().cpu().to(torch.int64)


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
            raise ValueError(
                f"{fn}: 'edge_index' ids must be in [0, {n - 1}] (num_nodes={n}, from {origin}), got range [{lo}, {hi}]"
            )
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
        raise ValueError(f"{fn}: 'groups' must have shape [num_nodes, K] (finest level first), got {tuple(g.shape)}")
    g = g.detach().cpu().to(torch.int64)
    if g.numel() > 0 and int(g.min()) < -1:
        raise ValueError(f"{fn}: 'groups' labels must be >= 0 (or -1 for no group), got {int(g.min())}")
    return g


def _has_labels(groups: Optional[Tensor]) -> bool:
    return groups is not None and groups.numel() > 0 and bool((groups >= 0).any())


def _check_per_node(t: Optional[Tensor], name: str, n: int, origin: str, fn: str) -> None:
    if t is not None and t.shape[0] != n:
        raise ValueError(
            f"{fn}: '{name}' must have one entry (row) per original node ({n}, from {origin}), got {t.shape[0]}"
        )


def _check_labels(t: Optional[Tensor], name: str, fn: str) -> None:
    if t is not None and t.numel() > 0 and int(t.min()) < -1:
        raise ValueError(f"{fn}: '{name}' labels must be >= 0 (or -1 for unlabelled), got {int(t.min())}")


def _check_positions(positions, n: int, fn: str) -> Optional[np.ndarray]:
    if positions is None:
        return None
    if isinstance(positions, Tensor):
        positions = positions.detach().cpu().numpy()
    try:
        xy = np.array(positions, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{fn}: 'positions' must be a float array [N, 2], got {type(positions).__name__}") from err
    if xy.shape != (n, 2):
        raise ValueError(f"{fn}: 'positions' must have shape [{n}, 2] (one row per node), got {tuple(xy.shape)}")
    if not np.isfinite(xy).all():
        raise ValueError(f"{fn}: 'positions' must be finite (no NaN or inf)")
    return xy


def _check_structure_groups(layout: str, grp: Optional[Tensor], xy: Optional[np.ndarray], fn: str) -> None:
    """The ``"structure"`` layout needs groups, unless the positions are given."""
    if xy is None and layout == "structure" and not _has_labels(grp):
        raise ValueError(
            f"{fn}: layout 'structure' needs 'groups' with at least one non-negative label (or pass 'positions')"
        )


def _check_highlight(highlight, n: int, fn: str) -> Optional[np.ndarray]:
    """``highlight`` as a bool array ``[n]`` (or ``None``), with errors that name it."""
    if highlight is None:
        return None
    t = torch.as_tensor(highlight)
    if t.dim() != 1 or t.numel() != n:
        raise ValueError(
            f"{fn}: 'highlight' must be a bool mask with one entry per node ({n}), got shape {tuple(t.shape)}"
        )
    if t.dtype != torch.bool:
        if t.dtype not in _INT_DTYPES or bool(((t != 0) & (t != 1)).any()):
            raise ValueError(f"{fn}: 'highlight' must be a bool (or 0/1) mask, got dtype {t.dtype}")
        t = t.bool()
    return t.detach().cpu().numpy()


def _check_assignments(assignments, fn: str) -> List[Tensor]:
    if isinstance(assignments, Tensor) and assignments.dim() == 1:
        raise ValueError(
            f"{fn}: 'assignments' must be a sequence of 1-D tensors "
            "(one per level), got a single 1-D tensor; wrap it in a list"
        )
    return [_as_int_vector(a, f"assignments[{i}]", fn) for i, a in enumerate(assignments)]


def _check_levels(levels: List[Tensor], n: int, origin: str, fn: str) -> None:
    for i, a in enumerate(levels):
        if a.numel() != n:
            raise ValueError(
                f"{fn}: 'assignments[{i}]' (level {i + 1}) must have one "
                f"entry per original node ({n}, from {origin}), got {a.numel()}"
            )
        if a.numel() > 0 and int(a.min()) < -1:
            raise ValueError(
                f"{fn}: 'assignments[{i}]' (level {i + 1}) ids must be "
                f">= 0, or -1 for a dropped node; got {int(a.min())}"
            )


def _check_inputs(edge_index, assignments, num_nodes, ground_truth, layout, groups, positions, fn: str):
    """The arguments of a picture of levels, checked: ``(edge_index, levels, N, ground_truth,
    groups, positions)``."""
    _check_layout(layout, fn)
    ei = _check_edge_index(edge_index, fn)
    levels = _check_assignments(assignments, fn)
    gt = None if ground_truth is None else _as_int_vector(ground_truth, "ground_truth", fn)
    grp = _check_groups(groups, fn)
    n, origin = _resolve_num_nodes(
        num_nodes, ei, [("assignments[0]", levels[0] if levels else None), ("ground_truth", gt), ("groups", grp)], fn
    )
    _check_levels(levels, n, origin, fn)
    _check_per_node(gt, "ground_truth", n, origin, fn)
    _check_labels(gt, "ground_truth", fn)
    _check_per_node(grp, "groups", n, origin, fn)
    xy = _check_positions(positions, n, fn)
    _check_structure_groups(layout, grp, xy, fn)
    return ei, levels, n, gt, grp, xy


def _check_graph_inputs(edge_index, num_nodes, colour_by, layout, groups, positions, highlight, fn: str):
    """The arguments of :func:`~hipool.explain.plot.graph.plot_graph`, checked:
    ``(edge_index, N, colour_by, groups, positions, highlight)``."""
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
    _check_structure_groups(layout, grp, xy, fn)
    return ei, n, col, grp, xy, ring


# --------------------------------------------------------------------------- pooled graphs


def _check_pooled(levels: List[Tensor], pooled_edges, pooled_sizes, pooled_weights, fn: str):
    """Per level: ``(edges [2, E_l] int64, n_l, weights [E_l] float64 or None)``."""
    edges = _check_pooled_edges(pooled_edges, len(levels), fn)
    sizes = _check_pooled_sizes(pooled_sizes, levels, edges, fn)
    weights = _check_pooled_weights(pooled_weights, edges, fn)
    return edges, sizes, weights


def _check_pooled_edges(pooled_edges, num_levels: int, fn: str) -> List[Tensor]:
    if isinstance(pooled_edges, Tensor):
        raise ValueError(
            f"{fn}: 'pooled_edges' must be a sequence of [2, E_l] tensors "
            "(one per level), got a single tensor; wrap it in a list"
        )
    pooled_edges = list(pooled_edges)
    if len(pooled_edges) != num_levels:
        raise ValueError(
            f"{fn}: 'pooled_edges' must have one edge_index per level "
            f"({num_levels}, as assignments), got {len(pooled_edges)}"
        )
    edges = [_check_edge_index(e, fn, f"pooled_edges[{i}]") for i, e in enumerate(pooled_edges)]
    for i, e in enumerate(edges):
        if e.numel() and int(e.min()) < 0:
            raise ValueError(f"{fn}: 'pooled_edges[{i}]' (level {i + 1}) ids must be >= 0, got {int(e.min())}")
    return edges


def _check_pooled_sizes(pooled_sizes, levels: List[Tensor], edges: List[Tensor], fn: str) -> List[int]:
    """``n_l`` per level: ``pooled_sizes`` checked against the ids, else the largest id plus one."""
    if pooled_sizes is None:
        sizes = [
            max(int(a.max()) + 1 if a.numel() else 0, int(e.max()) + 1 if e.numel() else 0)
            for a, e in zip(levels, edges)
        ]
    else:
        if isinstance(pooled_sizes, Tensor):
            pooled_sizes = pooled_sizes.tolist()
        pooled_sizes = list(pooled_sizes)
        if len(pooled_sizes) != len(levels):
            raise ValueError(
                f"{fn}: 'pooled_sizes' must have one size per level ({len(levels)}), got {len(pooled_sizes)}"
            )
        sizes = []
        for i, s in enumerate(pooled_sizes):
            try:
                ok = int(s) == s and int(s) >= 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{fn}: 'pooled_sizes[{i}]' (level {i + 1}) must be a non-negative integer, got {s!r}")
            sizes.append(int(s))
        for i, (a, s) in enumerate(zip(levels, sizes)):
            if a.numel() and int(a.max()) >= s:
                raise ValueError(
                    f"{fn}: 'assignments[{i}]' (level {i + 1}) ids must be < pooled_sizes[{i}]={s}, got {int(a.max())}"
                )
    for i, (e, s) in enumerate(zip(edges, sizes)):
        if e.numel() and int(e.max()) >= s:
            raise ValueError(
                f"{fn}: 'pooled_edges[{i}]' (level {i + 1}) ids must be in "
                f"[0, {s - 1}] (pooled_sizes[{i}]={s}), got {int(e.max())}"
            )
    return sizes


def _check_pooled_weights(pooled_weights, edges: List[Tensor], fn: str) -> List[Optional[np.ndarray]]:
    if pooled_weights is None:
        return [None] * len(edges)
    if isinstance(pooled_weights, Tensor):
        raise ValueError(
            f"{fn}: 'pooled_weights' must be a sequence (one [E_l] tensor or "
            "None per level), got a single tensor; wrap it in a list"
        )
    pooled_weights = list(pooled_weights)
    if len(pooled_weights) != len(edges):
        raise ValueError(
            f"{fn}: 'pooled_weights' must have one entry per level ({len(edges)}), got {len(pooled_weights)}"
        )
    weights = []
    for i, (w, e) in enumerate(zip(pooled_weights, edges)):
        if w is None:
            weights.append(None)
            continue
        w = torch.as_tensor(w).detach().cpu()
        if not (w.is_floating_point() or w.dtype in _INT_DTYPES):
            raise ValueError(
                f"{fn}: 'pooled_weights[{i}]' (level {i + 1}) must be a numeric tensor, got dtype {w.dtype}"
            )
        w = w.to(torch.float64).reshape(-1) if w.dim() == 2 and w.size(-1) == 1 else w.to(torch.float64)
        if w.dim() != 1 or w.numel() != e.size(1):
            raise ValueError(
                f"{fn}: 'pooled_weights[{i}]' (level {i + 1}) must have shape "
                f"[{e.size(1)}] (one weight per pooled edge), got {tuple(w.shape)}"
            )
        if not bool(torch.isfinite(w).all()):
            raise ValueError(f"{fn}: 'pooled_weights[{i}]' (level {i + 1}) must be finite")
        weights.append(w.numpy())
    return weights
