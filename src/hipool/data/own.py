"""The user's own graphs: a folder of graph files with a labels CSV, or one JSONL file.

Two entry points return a :class:`~hipool.data.base.GraphDataset`:

* :func:`load_graph_folder` reads a folder of graph files plus ``labels.csv``;
* :func:`load_jsonl` reads one graph per line; :func:`save_jsonl` writes that
  format, and ``load_jsonl(save_jsonl(ds, path))`` gives ``ds`` back.

Nothing is ever written into the folder or next to the files being read.

**A folder** holds one graph per file (only the folder itself, not sub-folders;
names starting with ``.`` are skipped, as are ``README``, ``LICENSE``, ``NOTES`` and
``CHANGELOG`` whatever their ending; other files are left alone and listed in ``notes``):

* GraphML, ``*.graphml`` (read with networkx: ``pip install 'hipool[graphs]'``);
* node-link JSON, ``*.json``: ``{"directed": false, "nodes": [{"id": ..., attr: ...},
  ...], "links": [{"source": ..., "target": ..., "weight": ...}, ...]}`` as written by
  ``json.dumps(networkx.node_link_data(G))`` (``"edges"`` is accepted for
  ``"links"``; ``"directed"`` defaults to false);
* edge lists, ``*.edgelist``, ``*.txt``, ``*.edges``: one edge ``u v`` or
  ``u v weight`` per line, separated by whitespace; ``#`` starts a comment; blank
  lines are skipped.  Always undirected; a node exists only through its edges
  (there are no isolated nodes, and no node attributes).

and a labels CSV (default ``labels.csv`` in the folder) with a header naming the
columns ``file`` and ``label`` (others are ignored).  ``file`` is a file name in
the folder.  Every row must name a graph file of the folder, no file may appear
twice, and every graph file must have a row.  Graphs come in the natural order of
their file names (``g2`` before ``g10``).

**Labels** (the CSV column, or JSONL ``"label"``) are either all class numbers
``0, 1, ...`` (``num_classes`` = largest + 1) or all class names: the names are
sorted, class ``i`` is the ``i``-th name and ``class_names`` keeps them.  Numbers
with a fraction part, negative numbers and a mix of numbers and names are errors.

**A JSONL file** holds one graph per line (blank lines are skipped), a JSON object
with these keys:

=============  ========  ==================================================================
key            needed    value
=============  ========  ==================================================================
``label``      yes       class number or class name (see above)
``edges``      yes       ``[[u, v], ...]``: node indices ``0 .. num_nodes - 1``, may be ``[]``
``id``         no        any JSON value, unique in the file (default: the graph's position)
``num_nodes``  no        integer >= 1; default ``len(x)``, else ``len(levels)``, else the
                         largest index in ``edges`` + 1
``directed``   no        ``true`` keeps ``edges`` as given; default ``false``: undirected,
                         every edge ``[u, v]`` stands for both directions
``x``          no        ``[[...], ...]``: one row of numbers per node, the node features
``levels``     no        ``[[l1, l2, ...], ...]``: one row per node, its group at level 1, 2,
                         ...; a group is a number or a name, ``null`` or a negative number
                         for none
``edge_attr``  no        ``[[...], ...]`` (or ``[w, ...]``): one row of numbers per edge
=============  ========  ==================================================================

Other keys are ignored (and named in ``notes``).

**What every graph becomes** (a :class:`~torch_geometric.data.Data`):

* Nodes are numbered ``0 .. N-1`` in file order: the order of the GraphML node
  elements or of the node-link ``nodes`` list, the order of first appearance in an
  edge list.  Node ids may be any value (for node-link JSON, two ids are the same
  node when they are equal JSON values).
* ``edge_index``: int64 ``[2, E]``, sorted by (source, target).  Undirected graphs
  get both directions; directed ones (GraphML with ``edgedefault="directed"``,
  node-link or JSONL with ``"directed": true``) keep their direction.
  **Self-loops are dropped and repeated edges merged** (the same pair again, in
  either direction for an undirected graph), keeping the weight of the first one;
  ``notes`` counts them.
* ``edge_attr``: float32 ``[E, D]`` when edges carry weights: the third column of an
  edge list, the numeric ``weight`` attribute of GraphML / node-link edges (1.0
  where an edge has none), JSONL ``edge_attr``.  Once one graph of a dataset has
  them, every graph has them (1.0 for a graph without).  Other edge attributes are
  ignored.
* ``x``: float32 ``[N, F]``, the numeric node attributes, those that are a number
  (``bool`` counts as 0/1) on every node of the graph, or, in node-link JSON, a
  list of numbers of the same length on every node.  Columns are sorted by
  attribute name, digit runs compared as numbers (``f2`` before ``f10``); a list
  attribute ``a`` gives the columns ``a[0], a[1], ...`` in list order.  Every graph
  of a dataset must give the same columns, otherwise the loader names the file.
  ``notes`` names the columns and the attributes left out.  With no numeric node
  attribute anywhere (or ``node_features="degree"``), ``x`` is the degree features:
  one-hot degree ``0, 1, ..., DEGREE_CAP - 1, >= DEGREE_CAP`` then
  ``log(1 + degree)`` (:data:`NUM_DEGREE_FEATURES` columns; the degree counts
  edges after dropping self-loops and repeats, in + out for a directed graph).
  For JSONL, ``x`` is given or degree features for every graph.
* ``level_labels`` (:data:`~hipool.data.base.LEVEL_LABELS`): int64 ``[N, L]`` from
  the node attributes ``level1``, ``level2``, ... (or JSONL ``levels``): column
  ``l - 1`` is the group at level ``l``.  Within each graph and level the groups
  are renumbered ``0 .. G-1`` in sorted order of their ids (numbers before names),
  so ids that already are ``0 .. G-1`` stay as they are.  ``-1`` where a node has
  no group (attribute absent, ``null``, negative).  ``L`` is the deepest level in
  the dataset; graphs with fewer levels (or none) are padded with ``-1``.  Present
  only when some graph has levels; level attributes never become features.
* ``y``: int64 ``[1]``; ``graph_id``: the file name, or the JSONL ``id``.

Every problem is a :class:`ValueError` naming the file, the line where there is one
(edge lists, JSONL, the labels CSV; JSON syntax errors with line and column) and
what is wrong.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..io import PathLike, atomic_write_text
from .base import LEVEL_LABELS, GraphDataset

__all__ = [
    "DEGREE_CAP",
    "EDGE_LIST_SUFFIXES",
    "GRAPH_SUFFIXES",
    "NUM_DEGREE_FEATURES",
    "degree_features",
    "load_graph_folder",
    "load_jsonl",
    "save_jsonl",
]

#: Degrees from this one up share the last one-hot column of the degree features.
DEGREE_CAP: int = 10
#: Width of the degree features: one-hot ``0 .. DEGREE_CAP`` and ``log(1 + degree)``.
NUM_DEGREE_FEATURES: int = DEGREE_CAP + 2
#: File endings read as edge lists.
EDGE_LIST_SUFFIXES: Tuple[str, ...] = (".edgelist", ".txt", ".edges")
#: File endings read as graphs by :func:`load_graph_folder` (case-insensitive).
GRAPH_SUFFIXES: Tuple[str, ...] = (".graphml", ".json") + EDGE_LIST_SUFFIXES
#: File stems never read as graphs, whatever their ending.
_NOT_GRAPHS = ("README", "LICENSE", "LICENCE", "NOTES", "CHANGELOG")

_LEVEL_KEY = re.compile(r"level(\d+)", re.ASCII)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_JSONL_KEYS = ("id", "label", "num_nodes", "directed", "edges", "edge_attr", "x", "levels")
_SHOW = 8  # names listed in a message before "..."


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


# -- small helpers ----------------------------------------------------------------

def _natural_key(name: str) -> list:
    return [int(t) if t.isascii() and t.isdigit() else t for t in re.split(r"(\d+)", name, flags=re.ASCII)]


def _show(names: Iterable[Any]) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:_SHOW])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOW else "") if names else "(none)"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}:{e.lineno}:{e.colno}: malformed JSON: {e.msg}") from None


def _json_key(value: Any) -> str:
    """A hashable stand-in for any JSON value (equal values, equal keys)."""
    return json.dumps(value, sort_keys=True)


# -- labels -----------------------------------------------------------------------

def _csv_label(text: str, where: str) -> Union[int, str]:
    text = text.strip()
    if not text:
        raise ValueError(f"{where}: empty label")
    if _NUMBER.fullmatch(text):
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{where}: label {text!r} is not a whole number; labels are class "
                             f"numbers 0, 1, ... or class names")
        return int(value)
    return text


def _json_label(value: Any, where: str) -> Union[int, str]:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{where}: label {value!r} is neither a class number (0, 1, ...) "
                         f"nor a class name")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{where}: empty label")
    return value


def _classes(labels: Sequence[Tuple[Union[int, str], str]]
             ) -> Tuple[List[int], int, Optional[List[str]], List[str]]:
    """Class indices, number of classes, class names and notes from ``(label, where)`` pairs."""
    numbers = [(v, w) for v, w in labels if isinstance(v, int)]
    names = [(v, w) for v, w in labels if isinstance(v, str)]
    if numbers and names:
        (n, nw), (s, sw) = numbers[0], names[0]
        raise ValueError(f"labels mix class numbers and class names ({nw}: {n!r}; {sw}: {s!r}); "
                         f"use one kind for every graph")
    if names:
        class_names = sorted({v for v, _ in names})
        index = {c: i for i, c in enumerate(class_names)}
        return [index[v] for v, _ in names], len(class_names), class_names, []
    for v, w in numbers:
        if v < 0:
            raise ValueError(f"{w}: label {v} is negative; class numbers are 0, 1, ...")
    num_classes = max(v for v, _ in numbers) + 1
    missing = sorted(set(range(num_classes)) - {v for v, _ in numbers})
    notes = [f"classes {_show(missing)} have no graph"] if missing else []
    return [v for v, _ in numbers], num_classes, None, notes


# -- node attributes --------------------------------------------------------------

def _numeric_column(values: Sequence[Any]) -> Optional[np.ndarray]:
    """``[N, k]`` floats when every value is a number (k = 1) or a list of k numbers; else None."""
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
        if v is None or (_is_number(v) and not (v >= 0)):  # None, negative, NaN
            continue
        if not (_is_number(v) or isinstance(v, str)):
            raise ValueError(f"{where}: level {level} group {v!r} of node {i} is neither a number "
                             f"nor a name")
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


def _node_attributes(g: _Graph, ids: Sequence[Any], attrs: Sequence[Dict[str, Any]],
                     wanted: Optional[Sequence[str]]) -> None:
    """Fill ``g.x``, ``g.x_names``, ``g.levels`` from per-node attribute dicts."""
    keys: Dict[str, None] = {}
    for a in attrs:
        keys.update(dict.fromkeys(a))
    level_of = {}
    for key in keys:
        m = _LEVEL_KEY.fullmatch(key)
        if m:
            if int(m.group(1)) == 0:
                raise ValueError(f"{g.where}: node attribute {key!r}: levels start at level1 "
                                 f"(the finest groups)")
            level_of[key] = int(m.group(1))
    if level_of:
        by_level = {lvl: key for key, lvl in level_of.items()}
        g.levels = _levels([[a.get(by_level[lvl]) for a in attrs] if lvl in by_level else [None] * len(attrs)
                            for lvl in range(1, max(by_level) + 1)], g.where)
    candidates = [k for k in keys if k not in level_of]
    if wanted == "degree":
        g.ignored += candidates
        return
    names = candidates if wanted is None else list(wanted)
    g.ignored += [k for k in candidates if k not in names]
    blocks: List[Tuple[str, np.ndarray]] = []
    for key in names:
        values = [a.get(key) for a in attrs]
        col = _numeric_column(values)
        if col is None:
            if wanted is None:
                g.ignored.append(key)
                continue
            bad = next(i for i, v in enumerate(values) if not _is_number(v))
            what = "has none" if values[bad] is None else f"has {values[bad]!r}"
            raise ValueError(f"{g.where}: node attribute {key!r} is not a number on every node "
                             f"(node {ids[bad]!r} {what})")
        blocks.append((key, col))
    if wanted is None:
        blocks.sort(key=lambda b: _natural_key(b[0]))
    g.x_names = tuple(name for key, col in blocks for name in
                      ([key] if _is_number(attrs[0][key]) else [f"{key}[{j}]" for j in range(col.shape[1])]))
    if blocks:
        g.x = np.concatenate([col for _, col in blocks], axis=1)


def _edge_weights(weights: Sequence[Any], where: str, what: str) -> Optional[np.ndarray]:
    """``[E, 1]`` weights (1.0 where missing), or None when no edge has one."""
    if all(w is None for w in weights):
        return None
    for j, w in enumerate(weights):
        if w is not None and (not _is_number(w) or not math.isfinite(w)):
            raise ValueError(f"{where}: {what}[{j}]: weight {w!r} is not a finite number")
    return np.asarray([1.0 if w is None else w for w in weights], dtype=np.float64).reshape(-1, 1)


# -- readers: one file, one graph -------------------------------------------------

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
            raise ValueError(f"{path}:{lineno}: expected 'u v' or 'u v weight', got {line.strip()!r}")
        weight = None
        if len(parts) == 3:
            try:
                weight = float(parts[2])
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight):
                raise ValueError(f"{path}:{lineno}: weight {parts[2]!r} is not a finite number")
        src.append(index.setdefault(parts[0], len(index)))
        dst.append(index.setdefault(parts[1], len(index)))
        weights.append(weight)
    if not src:
        raise ValueError(f"{path}: no edges (an edge list holds a graph through its edges)")
    return _Graph(where=str(path), graph_id=path.name, num_nodes=len(index), src=np.asarray(src),
                  dst=np.asarray(dst), directed=False, edge_attr=_edge_weights(weights, str(path), "edges"))


def _read_node_link(path: Path, wanted) -> _Graph:
    data = _load_json(_read_text(path), str(path))
    if not isinstance(data, dict) or "nodes" not in data or not ({"links", "edges"} & set(data)):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: not a node-link graph: needs the keys 'nodes' and 'links' "
                         f"(or 'edges'), got {got}")
    links_key = "links" if "links" in data else "edges"
    nodes, links, directed = data["nodes"], data[links_key], data.get("directed", False)
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise ValueError(f"{path}: 'nodes' and '{links_key}' must be lists")
    if not isinstance(directed, bool):
        raise ValueError(f"{path}: 'directed' must be true or false, got {directed!r}")
    if not nodes:
        raise ValueError(f"{path}: no nodes")
    index: Dict[str, int] = {}
    attrs: List[Dict[str, Any]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise ValueError(f"{path}: nodes[{i}] is not an object with an 'id'")
        key = _json_key(node["id"])
        if key in index:
            raise ValueError(f"{path}: nodes[{i}]: node id {node['id']!r} repeats nodes[{index[key]}]")
        index[key] = i
        attrs.append({k: v for k, v in node.items() if k != "id"})
    src, dst, weights, ignored = [], [], [], set()
    for j, link in enumerate(links):
        if not isinstance(link, dict) or "source" not in link or "target" not in link:
            raise ValueError(f"{path}: {links_key}[{j}] is not an object with 'source' and 'target'")
        for end, out in (("source", src), ("target", dst)):
            k = index.get(_json_key(link[end]))
            if k is None:
                raise ValueError(f"{path}: {links_key}[{j}]: {end} {link[end]!r} is not among the nodes")
            out.append(k)
        weights.append(link.get("weight"))
        ignored.update(k for k in link if k not in ("source", "target", "weight", "key"))
    g = _Graph(where=str(path), graph_id=path.name, num_nodes=len(nodes), src=np.asarray(src, dtype=np.int64),
               dst=np.asarray(dst, dtype=np.int64), directed=directed,
               edge_attr=_edge_weights(weights, str(path), links_key))
    _node_attributes(g, [n["id"] for n in nodes], attrs, wanted)
    g.ignored += [f"edge {k}" for k in sorted(ignored)]
    return g


def _read_graphml(path: Path, wanted) -> _Graph:
    try:
        import networkx as nx
    except ImportError as e:  # pragma: no cover - networkx is in the dev/plot extras
        raise ImportError(f"{path}: reading GraphML needs networkx (pip install 'hipool[graphs]')") from e
    from xml.etree.ElementTree import ParseError

    try:
        G = nx.read_graphml(path)
    except ParseError as e:
        line, col = e.position
        raise ValueError(f"{path}:{line}:{col}: malformed GraphML: {e}") from None
    except (nx.NetworkXError, KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: cannot read GraphML: {e}") from None
    ids = list(G.nodes)
    if not ids:
        raise ValueError(f"{path}: no nodes")
    index = {v: i for i, v in enumerate(ids)}
    edges = list(G.edges(data=True))
    ignored = {k for _, _, d in edges for k in d if k != "weight"}
    g = _Graph(where=str(path), graph_id=path.name, num_nodes=len(ids),
               src=np.asarray([index[u] for u, _, _ in edges], dtype=np.int64),
               dst=np.asarray([index[v] for _, v, _ in edges], dtype=np.int64),
               directed=G.is_directed(),
               edge_attr=_edge_weights([d.get("weight") for _, _, d in edges], str(path), "edges"))
    _node_attributes(g, ids, [G.nodes[v] for v in ids], wanted)
    g.ignored += [f"edge {k}" for k in sorted(ignored)]
    return g


def _read_file(path: Path, wanted) -> _Graph:
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        return _read_graphml(path, wanted)
    if suffix == ".json":
        return _read_node_link(path, wanted)
    if wanted not in (None, "degree"):
        raise ValueError(f"{path}: node_features={list(wanted)!r} asks for node attributes, "
                         f"but an edge list has none")
    return _read_edge_list(path)


# -- JSONL ------------------------------------------------------------------------

def _numbers(value: Any, where: str, what: str, rows: int, vector_ok: bool = False) -> np.ndarray:
    """``value`` as a float ``[rows, k]`` array, or a ValueError saying what it should be."""
    arr = np.asarray(value, dtype=object) if isinstance(value, list) else None
    if arr is not None and vector_ok and arr.ndim == 1 and all(_is_number(v) for v in arr):
        arr = arr.reshape(-1, 1)
    if arr is None or arr.ndim != 2 or arr.shape[0] != rows or not all(_is_number(v) for v in arr.flat):
        raise ValueError(f"{where}: {what} must be a list of {rows} rows of numbers, all of one length")
    return arr.astype(np.float64)


def _node_pairs(edges: Any, where: str) -> np.ndarray:
    """JSONL ``edges`` as int64 ``[E, 2]``."""
    if not isinstance(edges, list):
        raise ValueError(f"{where}: 'edges' must be a list of [u, v] pairs of node indices")
    for j, e in enumerate(edges):
        if not (isinstance(e, list) and len(e) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in e)):
            raise ValueError(f"{where}: edges[{j}] is {e!r}, not a pair [u, v] of node indices")
    return np.asarray(edges, dtype=np.int64).reshape(-1, 2)


def _jsonl_graph(obj: Any, where: str, position: int) -> Tuple[_Graph, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object (one graph), got {type(obj).__name__}")
    for key in ("label", "edges"):
        if key not in obj:
            raise ValueError(f"{where}: no {key!r}")
    edges, x, levels = obj["edges"], obj.get("x"), obj.get("levels")
    directed = obj.get("directed", False)
    if not isinstance(directed, bool):
        raise ValueError(f"{where}: 'directed' must be true or false, got {directed!r}")
    ei = _node_pairs(edges, where)
    n = obj.get("num_nodes")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"{where}: 'num_nodes' must be an integer >= 1, got {n!r}")
    for key, value in (("x", x), ("levels", levels)):
        if value is not None and not isinstance(value, list):
            raise ValueError(f"{where}: {key!r} must be a list with one row per node")
        if n is None and value is not None:
            n = len(value)
    if n is None:
        n = int(ei.max()) + 1 if ei.size else 0
    if n < 1:
        raise ValueError(f"{where}: no nodes (give 'num_nodes', 'x' or some edges)")
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        j = int(np.flatnonzero(((ei < 0) | (ei >= n)).any(axis=1))[0])
        raise ValueError(f"{where}: edges[{j}] = {edges[j]} is out of range for {n} nodes (0..{n - 1})")
    g = _Graph(where=where, graph_id=obj.get("id", position), num_nodes=n, src=ei[:, 0], dst=ei[:, 1],
               directed=directed)
    if x is not None:
        g.x = _numbers(x, where, "'x'", n)
        g.x_names = tuple(f"x[{j}]" for j in range(g.x.shape[1]))
    if levels is not None:
        if len(levels) != n or not all(isinstance(r, list) for r in levels) or len({len(r) for r in levels}) != 1:
            raise ValueError(f"{where}: 'levels' must be {n} rows (one per node) of the same length")
        g.levels = _levels(list(zip(*levels)), where)
    if obj.get("edge_attr") not in (None, []):
        g.edge_attr = _numbers(obj["edge_attr"], where, "'edge_attr'", len(ei), vector_ok=True)
    g.ignored = [f"key {k}" for k in obj if k not in _JSONL_KEYS]
    return g, obj["label"]


# -- from parsed graphs to the dataset --------------------------------------------

def degree_features(degree: torch.Tensor) -> torch.Tensor:
    """float32 ``[N, NUM_DEGREE_FEATURES]``: one-hot ``min(degree, DEGREE_CAP)``, then ``log(1 + degree)``."""
    degree = degree.long()
    x = torch.zeros(degree.numel(), NUM_DEGREE_FEATURES, dtype=torch.float32)
    x[torch.arange(degree.numel()), degree.clamp(max=DEGREE_CAP)] = 1.0
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


def _dataset(graphs: List[_Graph], labels: List[Tuple[Any, str]], *, name: str, source: str,
             notes: List[str], degree_only: bool = False) -> GraphDataset:
    y, num_classes, class_names, label_notes = _classes(labels)
    first = graphs[0]

    def columns(g: _Graph) -> str:
        n = len(g.x_names)
        return f"{n} node feature columns ({_show(g.x_names)})" if n else "no numeric node attributes"

    for g in graphs:
        if g.x is not None and not np.isfinite(g.x).all():
            node, col = np.argwhere(~np.isfinite(g.x))[0]
            name_of = g.x_names[col] if col < len(g.x_names) else f"column {col}"
            raise ValueError(f"{g.where}: node {node} has {g.x[node, col]} for {name_of}; node features "
                             f"must be finite numbers")
        if g.x_names != first.x_names:
            raise ValueError(f"{g.where}: {columns(g)} but {first.where} has {columns(first)}; every graph "
                             f"of a dataset must give the same node features")
    widths = {g.edge_attr.shape[1] for g in graphs if g.edge_attr is not None}
    if len(widths) > 1:
        g0 = next(g for g in graphs if g.edge_attr is not None)
        g1 = next(g for g in graphs if g.edge_attr is not None and g.edge_attr.shape[1] != g0.edge_attr.shape[1])
        raise ValueError(f"{g1.where}: edge attributes of width {g1.edge_attr.shape[1]} but {g0.where} "
                         f"has width {g0.edge_attr.shape[1]}")
    width = widths.pop() if widths else 0
    depth = max((g.levels.shape[1] for g in graphs if g.levels is not None), default=0)

    out, loops, repeats = [], 0, 0
    for g, label in zip(graphs, y):
        edge_index, edge_attr, degree, n_loops, n_repeats = _edge_index(g, width)
        loops, repeats = loops + n_loops, repeats + n_repeats
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
        notes.append(f"x: degree features ({why}): one-hot degree 0..{DEGREE_CAP - 1}, >={DEGREE_CAP}, "
                     f"then log(1 + degree)")
    else:
        notes.append(f"x: {len(first.x_names)} columns: {_show(first.x_names)}")
    ignored: Dict[str, int] = {}
    for g in graphs:
        for k in g.ignored:
            ignored[k] = ignored.get(k, 0) + 1
    if ignored:
        notes.append("ignored (not a number on every node, or not read): "
                     + _show(f"{k} (in {c} of {len(graphs)} graphs)" for k, c in ignored.items()))
    if width:
        notes.append(f"edge_attr: {width} column(s): edge weights or attributes, 1.0 where an edge "
                     f"or a graph has none")
    if depth:
        notes.append(f"{LEVEL_LABELS}: {depth} levels, groups renumbered 0..G-1 per graph, -1 = none")
    if loops:
        notes.append(f"dropped {loops} self-loops")
    if repeats:
        notes.append(f"merged {repeats} repeated edges (kept the first)")
    return GraphDataset(name=name, graphs=out, num_features=out[0].x.size(1), num_classes=num_classes,
                        class_names=class_names, source=source, notes=notes + label_notes)


# -- public API -------------------------------------------------------------------

def _read_labels(csv_path: Path, files: Dict[str, Path], folder: Path) -> Dict[str, Tuple[Any, str]]:
    """``file name -> (label, "labels.csv line k")`` after checking every row."""
    rows: Dict[str, Tuple[Any, str]] = {}
    first_line: Dict[str, int] = {}
    reader = csv.reader(io.StringIO(_read_text(csv_path), newline=""))
    header: Optional[List[str]] = None
    fcol = lcol = 0
    for row in reader:
        where = f"{csv_path}:{reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            if "file" not in header or "label" not in header:
                raise ValueError(f"{where}: the header must name the columns 'file' and 'label', got {row}")
            fcol, lcol = header.index("file"), header.index("label")
            continue
        if len(row) <= max(fcol, lcol):
            raise ValueError(f"{where}: expected the columns {','.join(header)}, got {row}")
        fname = row[fcol].strip()
        if fname in rows:
            raise ValueError(f"{where}: {fname!r} is listed twice (also at line {first_line[fname]})")
        if fname not in files:
            if (folder / fname).is_file():
                raise ValueError(f"{where}: {fname!r} is not a graph file (endings read: "
                                 f"{', '.join(GRAPH_SUFFIXES)})")
            raise ValueError(f"{where}: file {fname!r} not found in {folder}")
        rows[fname] = (_csv_label(row[lcol], where), where)
        first_line[fname] = reader.line_num
    if header is None:
        raise ValueError(f"{csv_path}: empty; expected a header 'file,label' and one row per graph file")
    return rows


def load_graph_folder(
    folder: PathLike,
    labels_csv: Optional[PathLike] = None,
    *,
    name: Optional[str] = None,
    node_features: Union[None, str, Sequence[str]] = None,
    progress: bool = False,
) -> GraphDataset:
    """Read a folder of graph files and their labels (formats: see the module docstring).

    Args:
        folder: the folder; only its own files are read (not sub-folders), nothing is written.
        labels_csv: the CSV with columns ``file,label``; default ``folder/labels.csv``.
        name: the dataset's name; default the folder's name.
        node_features: ``None``: every numeric node attribute present on every node
            (sorted by name); ``"degree"``: degree features, ignoring attributes; a list
            of attribute names: exactly these, in this order (an error where one is
            missing or not numeric).
        progress: show a progress bar over the files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    if isinstance(node_features, str) and node_features != "degree":
        raise ValueError(f"node_features must be None, 'degree' or a list of attribute names, "
                         f"got {node_features!r}")
    wanted = node_features if node_features is None or isinstance(node_features, str) else list(node_features)
    csv_path = folder / "labels.csv" if labels_csv is None else Path(labels_csv)
    files: Dict[str, Path] = {}
    others: List[str] = []
    for p in sorted(folder.iterdir(), key=lambda p: _natural_key(p.name)):
        if p.name.startswith(".") or not p.is_file() or p.resolve() == csv_path.resolve():
            continue
        if p.stem.upper() in _NOT_GRAPHS:   # README.txt, LICENSE.txt: text, not an edge list
            others.append(p.name)
            continue
        if p.suffix.lower() in GRAPH_SUFFIXES:
            files[p.name] = p
        else:
            others.append(p.name)
    if not files:
        raise ValueError(f"{folder}: no graph files (endings read: {', '.join(GRAPH_SUFFIXES)})")
    if not csv_path.is_file():
        raise ValueError(f"{csv_path}: labels file not found (a CSV with the columns file,label, "
                         f"one row per graph file)")
    rows = _read_labels(csv_path, files, folder)
    unlabelled = [f for f in files if f not in rows]
    if unlabelled:
        raise ValueError(f"{folder}: {len(unlabelled)} graph files have no row in {csv_path.name}: "
                         f"{_show(unlabelled)} (add them, or move them out of the folder)")

    graphs = [_read_file(p, wanted) for p in tqdm(files.values(), desc=f"reading {folder.name}",
                                                   disable=not progress, leave=False, unit="graph")]
    notes = [f"ignored files that are not graphs: {_show(others)}"] if others else []
    return _dataset(graphs, [rows[f] for f in files], name=name or folder.resolve().name,
                    source=str(folder), notes=notes, degree_only=wanted == "degree")


def load_jsonl(path: PathLike, *, name: Optional[str] = None, progress: bool = False) -> GraphDataset:
    """Read one graph per line (schema: see the module docstring).

    Args:
        path: the ``.jsonl`` file.
        name: the dataset's name; default the file name without its ending.
        progress: show a progress bar over the lines.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    lines = _read_text(path).split("\n")
    graphs: List[_Graph] = []
    labels: List[Tuple[Any, str]] = []
    seen: Dict[str, int] = {}
    for lineno, line in tqdm(enumerate(lines, 1), total=len(lines), desc=f"reading {path.name}",
                             disable=not progress, leave=False, unit="line"):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}:{e.colno}: malformed JSON: {e.msg}") from None
        if isinstance(obj, dict) and "id" in obj:
            key = _json_key(obj["id"])
            if key in seen:
                raise ValueError(f"{where}: graph id {obj['id']!r} repeats line {seen[key]}")
            seen[key] = lineno
        g, label = _jsonl_graph(obj, where, len(graphs))
        graphs.append(g)
        labels.append((_json_label(label, where), where))
    if not graphs:
        raise ValueError(f"{path}: no graphs (every non-blank line is one graph)")
    has_x = [g.x is not None for g in graphs]
    if any(has_x) and not all(has_x):
        a, b = graphs[has_x.index(True)], graphs[has_x.index(False)]
        raise ValueError(f"{b.where}: no 'x', but {a.where} has one; give 'x' for every graph or none")
    return _dataset(graphs, labels, name=name or path.stem, source=str(path), notes=[])


def _half_edges(data: Data) -> Optional[Tuple[np.ndarray, Optional[np.ndarray]]]:
    """The ``u < v`` half of a symmetric graph (attributes too), or None if it is not one."""
    ei = data.edge_index.numpy()
    ea = data.edge_attr.reshape(data.edge_index.size(1), -1).numpy() if data.get("edge_attr") is not None else None
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
            raise ValueError(f"save_jsonl: graph {i}: y must be one class number per graph, got "
                             f"{None if y is None else tuple(y.shape)} {'' if y is None else y.dtype}")
        ys.append(int(y.view(-1)[0]))
    use_names = bool(class_names) and list(class_names) == sorted(set(class_names)) \
        and set(ys) == set(range(len(class_names)))
    lines, seen = [], {}
    for i, (data, y) in enumerate(zip(graphs, ys)):
        graph_id = data.get("graph_id", i)
        key = _json_key(graph_id)
        if key in seen:
            raise ValueError(f"save_jsonl: graphs {seen[key]} and {i} have the same graph_id {graph_id!r}")
        seen[key] = i
        half = _half_edges(data)
        if half is None:
            edges = data.edge_index.numpy()
            attr = data.edge_attr.reshape(edges.shape[1], -1).numpy() if data.get("edge_attr") is not None else None
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
