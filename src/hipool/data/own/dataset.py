"""From the graphs as read to a :class:`~hipool.data.base.GraphDataset`: the dataset-wide checks
and choices (features, edge attribute width, level padding), edges cleaned, degree features."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch_geometric.data import Data

from ..base import LEVEL_LABELS, GraphDataset
from . import limits  # the constants (limits.MAX_TOTAL_NODES, ...), read at call time
from .common import _show
from .graph import _Graph
from .labels import classes


def degree_features(degree: torch.Tensor) -> torch.Tensor:
    """float32 ``[N, NUM_DEGREE_FEATURES]``: one-hot ``min(degree, DEGREE_CAP)``, then ``log(1 + degree)``."""
    degree = degree.long()
    x = torch.zeros(degree.numel(), limits.NUM_DEGREE_FEATURES, dtype=torch.float32)
    x[torch.arange(degree.numel()), degree.clamp(max=limits.DEGREE_CAP)] = 1.0
    x[:, -1] = torch.log1p(degree.float())
    return x


def _edge_index(g: _Graph, width: int) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor, int, int]:
    """``edge_index``, ``edge_attr`` (width 0: none), degrees, self-loops dropped, repeats merged."""
    n = g.num_nodes
    src, dst = g.src.astype(np.int64), g.dst.astype(np.int64)
    attr = g.edge_attr if g.edge_attr is not None else np.ones((len(src), width))
    keep = src != dst
    loops = int((~keep).sum())
    src, dst, attr = src[keep], dst[keep], attr[keep]
    key = src * n + dst if g.directed else np.minimum(src, dst) * n + np.maximum(src, dst)
    _, first = np.unique(key, return_index=True)  # the first of each repeated pair
    repeats = len(key) - len(first)
    src, dst, attr = src[first], dst[first], attr[first]
    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    if not g.directed:
        src, dst, attr = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([attr, attr])
    order = np.argsort(src * n + dst, kind="stable")
    edge_index = torch.from_numpy(np.stack([src[order], dst[order]]).astype(np.int64))
    edge_attr = torch.from_numpy(attr[order].astype(np.float32)) if width else None
    return edge_index, edge_attr, torch.from_numpy(degree), loops, repeats


def _dataset(
    graphs: List[_Graph],
    labels: List[Tuple[Any, str]],
    *,
    name: str,
    source: str,
    notes: List[str],
    degree_only: bool = False,
) -> GraphDataset:
    y, num_classes, class_names, label_notes = classes(labels)
    first = graphs[0]

    def columns(g: _Graph) -> str:
        n = len(g.x_names)
        return f"{n} node feature columns ({_show(g.x_names)})" if n else "no numeric node attributes"

    total = sum(g.num_nodes for g in graphs)
    if total > limits.MAX_TOTAL_NODES:
        raise ValueError(
            f"{source}: {total} nodes in all, more than MAX_TOTAL_NODES = {limits.MAX_TOTAL_NODES} "
            f"in one dataset; split it"
        )
    for g in graphs:  # x is checked finite and within float32 where it is read
        if g.x_names != first.x_names:
            raise ValueError(
                f"{g.where}: {columns(g)} but {first.where} has {columns(first)}; every graph "
                f"of a dataset must give the same node features"
            )
    widths = {g.edge_attr.shape[1] for g in graphs if g.edge_attr is not None}
    if len(widths) > 1:
        g0 = next(g for g in graphs if g.edge_attr is not None)
        g1 = next(g for g in graphs if g.edge_attr is not None and g.edge_attr.shape[1] != g0.edge_attr.shape[1])
        raise ValueError(
            f"{g1.where}: edge attributes of width {g1.edge_attr.shape[1]} but {g0.where} "
            f"has width {g0.edge_attr.shape[1]}"
        )
    width = widths.pop() if widths else 0
    depth = max((g.levels.shape[1] for g in graphs if g.levels is not None), default=0)

    edges = [_edge_index(g, width) for g in graphs]
    if width and not any(e[0].size(1) for e in edges):  # no edge left anywhere: nothing to attribute
        notes.append("edge_attr left out: no graph has an edge after dropping self-loops")
        width = 0
    out, loops, repeats = [], 0, 0
    for g, label, (edge_index, edge_attr, degree, n_loops, n_repeats) in zip(graphs, y, edges):
        loops, repeats = loops + n_loops, repeats + n_repeats
        if not width:
            edge_attr = None
        x = degree_features(degree) if g.x is None else torch.from_numpy(g.x.astype(np.float32))
        data = Data(x=x, edge_index=edge_index, y=torch.tensor([label], dtype=torch.long), num_nodes=g.num_nodes)
        if edge_attr is not None:
            data.edge_attr = edge_attr
        if depth:
            levels = np.full((g.num_nodes, depth), -1, dtype=np.int64)
            if g.levels is not None:
                levels[:, : g.levels.shape[1]] = g.levels
            data[LEVEL_LABELS] = torch.from_numpy(levels)
        data.graph_id = g.graph_id
        out.append(data)

    if first.x is None:
        why = "node_features='degree'" if degree_only else "no numeric node attributes"
        notes.append(
            f"x: degree features ({why}): one-hot degree 0..{limits.DEGREE_CAP - 1}, >={limits.DEGREE_CAP}, "
            f"then log(1 + degree)"
        )
    else:
        notes.append(f"x: {len(first.x_names)} columns: {_show(first.x_names)}")
    ignored: Dict[str, int] = {}
    for g in graphs:
        for k in g.ignored:
            ignored[k] = ignored.get(k, 0) + 1
    if ignored:
        notes.append(
            "ignored (not a number on every node, or not read): "
            + _show(f"{k} (in {c} of {len(graphs)} graphs)" for k, c in ignored.items())
        )
    if width:
        notes.append(f"edge_attr: {width} column(s): edge weights or attributes, 1.0 where an edge or a graph has none")
    if depth:
        notes.append(f"{LEVEL_LABELS}: {depth} levels, groups renumbered 0..G-1 per graph, -1 = none")
    if loops:
        notes.append(f"dropped {loops} self-loops")
    if repeats:
        notes.append(f"merged {repeats} repeated edges (kept the first)")
    return GraphDataset(
        name=name,
        graphs=out,
        num_features=out[0].x.size(1),
        num_classes=num_classes,
        class_names=class_names,
        source=source,
        notes=notes + label_notes,
    )
