"""JSON Lines files of :mod:`hipool.data.own`, one graph per line: :func:`load_jsonl` reads them,
:func:`save_jsonl` writes them."""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ...io import PathLike, atomic_write_text
from ..base import LEVEL_LABELS, GraphDataset, as_path, columns, path_kind
from . import limits  # the constants (limits.MAX_NODES, ...), read at call time
from .common import _brief, _check_float32, _check_name, _check_nodes, _json_type, _load_json, _read_text
from .dataset import _dataset
from .graph import _Graph, _levels
from .labels import _json_label

_JSONL_KEYS = ("id", "label", "num_nodes", "directed", "edges", "edge_attr", "x", "levels")
_INT64 = (-(2**63), 2**63)


# -- reading --------------------------------------------------------------------


def _first(items: Iterable[Any], bad) -> int:
    """Index of the first item for which ``bad(item)``."""
    return next(i for i, v in enumerate(items) if bad(v))


def _matrix(value: Any, where: str, what: str, rows: int, unit: str, vector_ok: bool = False) -> np.ndarray:
    """``value`` as a float64 ``[rows, k]`` array (k >= 1) of float32-safe numbers, or a ValueError
    naming the first wrong row or entry."""
    shape = f"a list of {rows} rows (one per {unit}) of numbers, all of one length"
    if not isinstance(value, list) or len(value) != rows:
        got = f"{len(value)} rows" if isinstance(value, list) else _json_type(value)
        raise ValueError(f"{where}: {what} must be {shape}; got {got}")
    if vector_ok and rows and set(map(type, value)) <= {int, float}:
        value = [[v] for v in value]
    if set(map(type, value)) != {list}:
        i = _first(value, lambda r: type(r) is not list)
        raise ValueError(f"{where}: {what}[{i}] is {_brief(value[i])}, not a row of numbers")
    widths = set(map(len, value))
    if len(widths) > 1:
        i = _first(value, lambda r: len(r) != len(value[0]))
        raise ValueError(
            f"{where}: {what}[{i}] has {len(value[i])} numbers but {what}[0] has "
            f"{len(value[0])}; {what} must be {shape}"
        )
    if widths == {0}:
        raise ValueError(f"{where}: the rows of {what} are empty; give at least one number per {unit}")
    if not set(map(type, chain.from_iterable(value))) <= {int, float}:
        i = _first(value, lambda r: not set(map(type, r)) <= {int, float})
        j = _first(value[i], lambda v: type(v) not in (int, float))
        raise ValueError(f"{where}: {what}[{i}][{j}] is {_brief(value[i][j])}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        i = _first(value, lambda r: any(type(v) is int and abs(v) >= 2**1024 for v in r))
        j = _first(value[i], lambda v: type(v) is int and abs(v) >= 2**1024)
        raise ValueError(
            f"{where}: {what}[{i}][{j}] is {_brief(value[i][j])}; must be finite, within float32 range (|v| <= 3.4e38)"
        ) from None
    _check_float32(arr, where, lambda at, v: f"{unit} {at[0]} has {v} in {what} (column {at[1]})")
    return arr


def _node_pairs(edges: Any, where: str) -> np.ndarray:
    """JSONL ``edges`` as int64 ``[E, 2]`` of indices ``0 .. MAX_NODES - 1``."""
    if not isinstance(edges, list):
        raise ValueError(f"{where}: 'edges' must be a list of [u, v] pairs of node indices, got {_json_type(edges)}")
    if not edges:
        return np.zeros((0, 2), dtype=np.int64)

    def bad(e):
        return not (type(e) is list and len(e) == 2 and type(e[0]) is int and type(e[1]) is int)

    if (
        set(map(type, edges)) != {list}
        or set(map(len, edges)) != {2}
        or set(map(type, chain.from_iterable(edges))) != {int}
    ):
        j = _first(edges, bad)
        raise ValueError(
            f"{where}: edges[{j}] is {_brief(edges[j])}, not a pair [u, v] of node indices "
            f"(whole numbers 0, 1, ..., written without a fraction)"
        )
    try:
        ei = np.array(edges, dtype=np.int64)
    except OverflowError:
        ei = None
    if ei is None or ei.min() < 0 or ei.max() >= limits.MAX_NODES:
        j = _first(edges, lambda e: not (0 <= e[0] < limits.MAX_NODES and 0 <= e[1] < limits.MAX_NODES))
        why = "a negative node index" if min(edges[j]) < 0 else f"a node index beyond MAX_NODES = {limits.MAX_NODES}"
        raise ValueError(f"{where}: edges[{j}] = {_brief(edges[j])} has {why}")
    return ei


def _jsonl_graph(obj: Any, where: str, graph_id: Any) -> Tuple[_Graph, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object (one graph), got {_json_type(obj)}")
    for key in ("label", "edges"):
        if key not in obj:
            raise ValueError(f"{where}: no {key!r}")
    edges, x, levels = obj["edges"], obj.get("x"), obj.get("levels")
    directed = obj.get("directed", False)
    if not isinstance(directed, bool):
        raise ValueError(f"{where}: 'directed' must be true or false, got {_brief(directed)}")
    ei = _node_pairs(edges, where)
    n = obj.get("num_nodes")
    if n is not None and (type(n) is not int or not 1 <= n <= limits.MAX_NODES):
        raise ValueError(
            f"{where}: 'num_nodes' must be a whole number 1 .. {limits.MAX_NODES} (MAX_NODES), got {_brief(n)}"
        )
    for key, value in (("x", x), ("levels", levels)):
        if value is not None and not isinstance(value, list):
            raise ValueError(f"{where}: {key!r} must be a list with one row per node, got {_json_type(value)}")
        if n is None and value is not None:
            n = len(value)
    if n is None:
        n = int(ei.max()) + 1 if ei.size else 0
    if n < 1:
        raise ValueError(f"{where}: no nodes (give 'num_nodes', 'x' or some edges)")
    _check_nodes(n, where)
    if ei.size and ei.max() >= n:
        j = int(np.flatnonzero((ei >= n).any(axis=1))[0])
        raise ValueError(f"{where}: edges[{j}] = {_brief(edges[j])} is out of range for {n} nodes (0..{n - 1})")
    g = _Graph(where=where, graph_id=graph_id, num_nodes=n, src=ei[:, 0], dst=ei[:, 1], directed=directed)
    if x is not None:
        g.x = _matrix(x, where, "'x'", n, "node")
        g.x_names = tuple(f"x[{j}]" for j in range(g.x.shape[1]))
    if levels is not None:
        if len(levels) != n or set(map(type, levels)) != {list} or len(set(map(len, levels))) != 1:
            raise ValueError(f"{where}: 'levels' must be {n} rows (one per node) of the same length")
        if len(levels[0]) > limits.MAX_LEVELS:
            raise ValueError(
                f"{where}: 'levels' rows of {len(levels[0])} groups; at most {limits.MAX_LEVELS} levels (MAX_LEVELS)"
            )
        g.levels = _levels(list(zip(*levels)), where)
    edge_attr = obj.get("edge_attr")
    if edge_attr is not None and not (edge_attr == [] and not len(ei)):
        g.edge_attr = _matrix(edge_attr, where, "'edge_attr'", len(ei), "edge", vector_ok=True)
    g.ignored = [f"key {k}" for k in obj if k not in _JSONL_KEYS]
    return g, obj["label"]


def _jsonl_id(obj: Dict[str, Any], where: str) -> Union[str, int]:
    graph_id = obj["id"]
    if isinstance(graph_id, str) or (type(graph_id) is int and _INT64[0] <= graph_id < _INT64[1]):
        return graph_id
    raise ValueError(f"{where}: 'id' must be a string or a whole number (int64), got {_brief(graph_id)}")


def load_jsonl(path: PathLike, *, name: Optional[str] = None, progress: bool = False) -> GraphDataset:
    """Read one graph per line (schema: see :mod:`hipool.data.own`).

    Args:
        path: the ``.jsonl`` file.
        name: the dataset's name; default the file name without its ending.
        progress: show a progress bar over the lines.
    """
    path = as_path(path, "load_jsonl: path")
    kind = path_kind(path)
    if kind != "file":
        raise ValueError(
            f"{path}: "
            + (
                "no such file"
                if kind == "missing"
                else "a folder, not a file"
                if kind == "folder"
                else "not a regular file (a pipe or a device)"
            )
        )
    _check_name(name)
    lines = _read_text(path).split("\n")
    graphs: List[_Graph] = []
    labels: List[Tuple[Any, str]] = []
    seen: Dict[Any, int] = {}
    first: Optional[Tuple[Any, int]] = None  # (id or None, line) of the first graph
    for lineno, line in tqdm(
        enumerate(lines, 1),
        total=len(lines),
        desc=f"reading {path.name}",
        disable=not progress,
        leave=False,
        unit="line",
    ):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        obj = _load_json(line, where, one_line=True)
        graph_id = _jsonl_id(obj, where) if isinstance(obj, dict) and "id" in obj else None
        if first is None:
            first = (graph_id, lineno)
        elif (graph_id is None) != (first[0] is None):
            has, lacks = (lineno, first[1]) if first[0] is None else (first[1], lineno)
            raise ValueError(
                f"{where}: line {has} has an 'id' but line {lacks} has none; give every graph an id, or none"
            )
        elif graph_id is not None and type(graph_id) is not type(first[0]):
            raise ValueError(
                f"{where}: id {_brief(graph_id)} but line {first[1]} has the id {_brief(first[0])}; "
                f"ids are all strings or all whole numbers"
            )
        if graph_id is not None:
            if graph_id in seen:
                raise ValueError(f"{where}: graph id {_brief(graph_id)} repeats line {seen[graph_id]}")
            seen[graph_id] = lineno
        g, label = _jsonl_graph(obj, where, len(graphs) if graph_id is None else graph_id)
        graphs.append(g)
        labels.append((_json_label(label, where), where))
    if not graphs:
        raise ValueError(f"{path}: no graphs (every non-blank line is one graph)")
    has_x = [g.x is not None for g in graphs]
    if any(has_x) and not all(has_x):
        a, b = graphs[has_x.index(True)], graphs[has_x.index(False)]
        raise ValueError(f"{b.where}: no 'x', but {a.where} has one; give 'x' for every graph or none")
    return _dataset(graphs, labels, name=name or path.stem, source=str(path), notes=[])


# -- writing --------------------------------------------------------------------


def _edge_rows(data: Data) -> Optional[np.ndarray]:
    """``edge_attr`` as ``[E, D]`` (``[E]`` read as one column), or None."""
    attr = data.get("edge_attr")
    return None if attr is None else attr.reshape(data.edge_index.size(1), columns(attr)).numpy()


def _half_edges(data: Data) -> Optional[Tuple[np.ndarray, Optional[np.ndarray]]]:
    """The ``u < v`` half of a symmetric graph (attributes too), or None if it is not one."""
    ei = data.edge_index.numpy()
    ea = _edge_rows(data)
    src, dst, n = ei[0], ei[1], max(int(data.num_nodes), 1)
    if (src == dst).any():
        return None
    key, rkey = src * n + dst, dst * n + src
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    if (np.diff(sorted_key) == 0).any():
        return None
    pos = np.minimum(np.searchsorted(sorted_key, rkey), max(len(key) - 1, 0))
    if len(key) and not np.array_equal(sorted_key[pos], rkey):
        return None
    if ea is not None and not np.array_equal(ea[order[pos]], ea, equal_nan=True):
        return None
    half = src < dst
    return ei[:, half], (ea[half] if ea is not None else None)


def _save_ids(graphs: Sequence[Data]) -> List[Union[str, int]]:
    """The ``id`` of every graph as :func:`load_jsonl` takes them back: all strings, all whole
    numbers, or the positions when no graph has a ``graph_id``."""
    ids = [data.get("graph_id") for data in graphs]
    if all(g is None for g in ids):
        return list(range(len(graphs)))
    seen: Dict[Any, int] = {}
    for i, graph_id in enumerate(ids):
        if isinstance(graph_id, np.integer):
            graph_id = ids[i] = int(graph_id)
        if not (isinstance(graph_id, str) or (type(graph_id) is int and _INT64[0] <= graph_id < _INT64[1])):
            raise ValueError(
                f"save_jsonl: graph {i}: graph_id {_brief(graph_id)} is not a string nor a whole "
                f"number (every graph needs one once a graph has one)"
            )
        if type(graph_id) is not type(ids[0]):
            raise ValueError(
                f"save_jsonl: graph {i}: graph_id {_brief(graph_id)} but graph 0 has "
                f"{_brief(ids[0])}; graph ids must be all strings or all whole numbers"
            )
        if graph_id in seen:
            raise ValueError(f"save_jsonl: graphs {seen[graph_id]} and {i} have the same graph_id {_brief(graph_id)}")
        seen[graph_id] = i
    return ids


def save_jsonl(dataset: Union[GraphDataset, Sequence[Data]], path: PathLike) -> Path:
    """Write graphs in the JSONL format of :func:`load_jsonl`, atomically.

    ``load_jsonl(path)`` gives back the same ``x``, ``edge_index``, ``edge_attr``,
    ``level_labels``, ``y`` and ``graph_id`` (the position where a graph has none)
    for graphs as the loaders make them (edges sorted, no self-loops or repeats,
    groups numbered ``0 .. G-1``).  A graph whose edges and edge attributes are
    symmetric is written undirected (each edge once), any other as directed.
    Labels are written as class names when ``dataset.class_names`` is sorted and
    every class has a graph (so they read back to the same numbers and names);
    otherwise as numbers, and the names are not stored.
    """
    graphs = list(dataset)
    class_names = getattr(dataset, "class_names", None)
    ys = []
    for i, data in enumerate(graphs):
        y = data.get("y")
        if y is None or y.numel() != 1 or y.is_floating_point():
            raise ValueError(
                f"save_jsonl: graph {i}: y must be one class number per graph, got "
                f"{None if y is None else tuple(y.shape)} {'' if y is None else y.dtype}"
            )
        ys.append(int(y.view(-1)[0]))
        if not 0 <= ys[-1] < limits.MAX_CLASSES:
            raise ValueError(f"save_jsonl: graph {i}: class {ys[-1]} is not one of 0 .. {limits.MAX_CLASSES - 1}")
        for key in ("x", "edge_attr"):
            value = data.get(key)
            if value is not None and value.is_floating_point() and not torch.isfinite(value).all():
                raise ValueError(f"save_jsonl: graph {i}: {key} holds NaN or infinite values, which load_jsonl refuses")
    use_names = (
        bool(class_names)
        and all(isinstance(c, str) and c.strip() for c in class_names)
        and list(class_names) == sorted(set(class_names))
        and set(ys) == set(range(len(class_names)))
    )
    ids = _save_ids(graphs)
    lines = []
    for data, y, graph_id in zip(graphs, ys, ids):
        half = _half_edges(data)
        if half is None:
            edges = data.edge_index.numpy()
            attr = _edge_rows(data)
        else:
            edges, attr = half
        record: Dict[str, Any] = {
            "id": graph_id,
            "label": class_names[y] if use_names else y,
            "num_nodes": int(data.num_nodes),
            "directed": half is None,
            "edges": edges.T.tolist(),
        }
        if attr is not None:
            record["edge_attr"] = attr.tolist()
        if data.get("x") is not None:
            record["x"] = data.x.tolist()
        if data.get(LEVEL_LABELS) is not None:
            record["levels"] = data[LEVEL_LABELS].tolist()
        lines.append(json.dumps(record, separators=(",", ":")))
    return atomic_write_text(path, "\n".join(lines) + "\n")
