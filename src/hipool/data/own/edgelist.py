"""Edge list files of :mod:`hipool.data.own`: one edge ``u v`` or ``u v weight`` per line."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .common import _FLOAT32_MAX, _NUMBER, _brief, _check_nodes, _read_text
from .graph import _edge_weights, _Graph


def _read_edge_list(path: Path) -> _Graph:
    index: Dict[str, int] = {}
    src: List[int] = []
    dst: List[int] = []
    weights: List[Optional[float]] = []
    for lineno, line in enumerate(_read_text(path).split("\n"), 1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise ValueError(f"{path}:{lineno}: expected 'u v' or 'u v weight', got {_brief(line.strip())}")
        weight = None
        if len(parts) == 3:
            if not _NUMBER.fullmatch(parts[2]):
                raise ValueError(
                    f"{path}:{lineno}: weight {_brief(parts[2])} is not a number (a decimal "
                    f"number such as 2, -0.5 or 1e-3)"
                )
            weight = float(parts[2])
            if not abs(weight) <= _FLOAT32_MAX:
                raise ValueError(
                    f"{path}:{lineno}: weight {parts[2]}; must be finite, within float32 range (|v| <= 3.4e38)"
                )
        src.append(index.setdefault(parts[0], len(index)))
        dst.append(index.setdefault(parts[1], len(index)))
        weights.append(weight)
    if not src:
        raise ValueError(f"{path}: no edges (an edge list holds a graph through its edges)")
    _check_nodes(len(index), str(path))
    return _Graph(
        where=str(path),
        graph_id=path.name,
        num_nodes=len(index),
        src=np.asarray(src),
        dst=np.asarray(dst),
        directed=False,
        edge_attr=_edge_weights(weights, str(path), "edges"),
    )
