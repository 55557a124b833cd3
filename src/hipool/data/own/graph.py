"""One graph as a reader of :mod:`hipool.data.own` leaves it, and how node attributes (features,
levels) and edge weights fill it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import limits  # the constants (limits.MAX_LEVELS, ...), read at call time
from .common import _brief, _check_float32, _is_number, _natural_key

_LEVEL_KEY = re.compile(r"level(\d+)", re.ASCII)


@dataclass
class _Graph:
    """One graph as read, before the dataset-wide choices (features, widths, padding)."""

    where: str
    graph_id: Any
    num_nodes: int
    src: np.ndarray
    dst: np.ndarray
    directed: bool
    edge_attr: Optional[np.ndarray] = None  # [E, D] before dropping loops and repeats
    x_names: Tuple[str, ...] = ()
    x: Optional[np.ndarray] = None  # [N, F]
    levels: Optional[np.ndarray] = None  # [N, L], renumbered
    ignored: List[str] = field(default_factory=list)  # node / edge attributes left out


def _numeric_column(values: Sequence[Any]) -> Optional[np.ndarray]:
    """``[N, k]`` floats when every value is a number (k = 1) or a list of k numbers; else None.

    Raises OverflowError for an integer beyond float64."""
    if all(_is_number(v) for v in values):
        return np.asarray(values, dtype=np.float64).reshape(-1, 1)
    if all(isinstance(v, list) for v in values):
        widths = {len(v) for v in values}
        if len(widths) == 1 and 0 not in widths and all(_is_number(a) for v in values for a in v):
            return np.asarray(values, dtype=np.float64)
    return None


def _renumber(values: Sequence[Any], where: str, level: int) -> np.ndarray:
    """Groups of one level renumbered ``0 .. G-1`` in sorted order (numbers first), ``-1`` = none."""
    out = np.full(len(values), -1, dtype=np.int64)
    present = []
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bool) or not (_is_number(v) or isinstance(v, str)):
            raise ValueError(f"{where}: level {level} group {_brief(v)} of node {i} is neither a number nor a name")
        if _is_number(v):
            if isinstance(v, (float, np.floating)) and not math.isfinite(v):
                raise ValueError(
                    f"{where}: level {level} group of node {i} is {v!r}; a group is a finite "
                    f"number or a name (null or a negative number for none)"
                )
            if v < 0:
                continue
        present.append((i, v))
    groups = sorted({v for _, v in present}, key=lambda g: (isinstance(g, str), g))
    index = {g: k for k, g in enumerate(groups)}
    for i, v in present:
        out[i] = index[v]
    return out


def _levels(columns: Sequence[Sequence[Any]], where: str) -> Optional[np.ndarray]:
    if not columns:
        return None
    return np.stack([_renumber(col, where, lvl) for lvl, col in enumerate(columns, 1)], axis=1)


def _node_attributes(
    g: _Graph, ids: Sequence[Any], attrs: Sequence[Dict[str, Any]], wanted: Optional[Sequence[str]]
) -> None:
    """Fill ``g.x``, ``g.x_names``, ``g.levels`` from per-node attribute dicts."""
    keys: Dict[str, int] = {}  # attribute -> number of nodes that have it, in order of appearance
    for a in attrs:
        for k in a:
            keys[k] = keys.get(k, 0) + 1
    level_of: Dict[str, int] = {}
    by_level: Dict[int, str] = {}
    for key in keys:
        m = _LEVEL_KEY.fullmatch(key) if isinstance(key, str) else None
        if m:
            digits = m.group(1)
            if not digits.strip("0"):
                raise ValueError(f"{g.where}: node attribute {key!r}: levels start at level1 (the finest groups)")
            if digits.startswith("0"):  # level01 next to level1 would silently hide one of them
                raise ValueError(
                    f"{g.where}: node attribute {key!r}: a level is named level1, level2, ... without a leading zero"
                )
            if len(digits) > 2 or int(digits) > limits.MAX_LEVELS:  # level99999 would pad every node to that depth
                raise ValueError(
                    f"{g.where}: node attribute {_brief(key)}: at most {limits.MAX_LEVELS} levels "
                    f"(MAX_LEVELS): level1 .. level{limits.MAX_LEVELS}"
                )
            level_of[key] = int(digits)
            by_level[int(digits)] = key
    if level_of:
        g.levels = _levels(
            [
                [a.get(by_level[lvl]) for a in attrs] if lvl in by_level else [None] * len(attrs)
                for lvl in range(1, max(by_level) + 1)
            ],
            g.where,
        )
    candidates = [k for k in keys if k not in level_of]
    if wanted == "degree":
        g.ignored += candidates
        return
    names = candidates if wanted is None else list(wanted)
    named = set(names)
    g.ignored += [k for k in candidates if k not in named]
    blocks: List[Tuple[str, np.ndarray]] = []
    for key in names:
        if wanted is None and keys[key] < len(attrs):  # not on every node (and never a scan per such key:
            g.ignored.append(key)  # a node-link file of n nodes with n names was n**2)
            continue
        values = [a.get(key) for a in attrs]
        try:
            col = _numeric_column(values)
        except OverflowError:
            i = next(
                i
                for i, v in enumerate(values)
                if any(isinstance(a, int) and abs(a) >= 2**1024 for a in (v if isinstance(v, list) else [v]))
            )
            raise ValueError(
                f"{g.where}: node {_brief(ids[i])} has {_brief(values[i])} for {key!r}; must be "
                f"finite, within float32 range (|v| <= 3.4e38)"
            ) from None
        if col is None:
            if wanted is None:
                g.ignored.append(key)
                continue
            bad = next(i for i, v in enumerate(values) if not _is_number(v))
            what = "has none" if values[bad] is None else f"has {_brief(values[bad])}"
            raise ValueError(
                f"{g.where}: node attribute {key!r} is not a number on every node (node {_brief(ids[bad])} {what})"
            )
        _check_float32(col, g.where, lambda at, v, key=key: f"node {_brief(ids[at[0]])} has {v} for {key!r}")
        blocks.append((key, col))
    if wanted is None:
        blocks.sort(key=lambda b: _natural_key(b[0]))
    g.x_names = tuple(
        name
        for key, col in blocks
        for name in ([key] if _is_number(attrs[0][key]) else [f"{key}[{j}]" for j in range(col.shape[1])])
    )
    if blocks:
        g.x = np.concatenate([col for _, col in blocks], axis=1)


def _edge_weights(weights: Sequence[Any], where: str, what: str) -> Optional[np.ndarray]:
    """``[E, 1]`` weights (1.0 where missing), or None when no edge has one."""
    if all(w is None for w in weights):
        return None
    for j, w in enumerate(weights):
        if w is not None and (isinstance(w, bool) or not _is_number(w)):
            raise ValueError(f"{where}: {what}[{j}]: weight {_brief(w)} is not a number")
        if isinstance(w, int) and abs(w) >= 2**1024:
            raise ValueError(
                f"{where}: {what}[{j}]: weight {_brief(w)} is too large; must be finite, "
                f"within float32 range (|v| <= 3.4e38)"
            )
    arr = np.asarray([1.0 if w is None else w for w in weights], dtype=np.float64).reshape(-1, 1)
    _check_float32(arr, where, lambda at, v: f"{what}[{at[0]}]: weight {v}")
    return arr
