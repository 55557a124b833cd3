"""The user's own graphs: a folder of graph files with a labels CSV, or one JSONL file.

Two entry points return a :class:`~hipool.data.base.GraphDataset`:

* :func:`load_graph_folder` reads a folder of graph files plus ``labels.csv``;
* :func:`load_jsonl` reads one graph per line; :func:`save_jsonl` writes that
  format, and ``load_jsonl(save_jsonl(ds, path))`` gives ``ds`` back.

Nothing is ever written into the folder or next to the files being read.  Text
files are UTF-8 (a byte-order mark is skipped; Windows line ends, CR LF, are fine).

**A folder** holds one graph per file (only the folder itself: sub-folders, broken
links and anything else that is not a regular file are ignored and listed in
``notes``; symbolic links to files are followed; names starting with ``.`` are
skipped, as are ``README``, ``LICENSE``, ``NOTES`` and ``CHANGELOG`` whatever their
ending; other files are left alone and listed in ``notes``):

* GraphML, ``*.graphml`` (read with networkx: ``pip install 'hipool[graphs]'``), checked
  first, since networkx is lenient (see :func:`_scan_graphml`): no ``<!DOCTYPE>`` (no DTD,
  no entities, so nothing is fetched or expanded); every ``<node>`` has an ``id`` of its
  own, every ``<edge>`` a ``source`` and ``target`` among them; a ``<key>`` id, a key's
  attribute name, an edge id between the same nodes, a ``<data>`` key on one element:
  each once; ``edgedefault`` is ``directed`` or ``undirected``; no nested graphs; data
  reads as its key's ``attr.type`` (``int``/``long``: decimal digits, ``float``/``double``:
  a decimal number, ``boolean``: true, false, 1, 0).  A key's ``<default>`` holds for the
  nodes and edges without data for it;
* node-link JSON, ``*.json``: ``{"directed": false, "nodes": [{"id": ..., attr: ...},
  ...], "links": [{"source": ..., "target": ..., "weight": ...}, ...]}`` as written by
  ``json.dumps(networkx.node_link_data(G))`` (``"edges"`` is accepted for
  ``"links"``; ``"directed"`` defaults to false);
* edge lists, ``*.edgelist``, ``*.txt``, ``*.edges``: one edge ``u v`` or
  ``u v weight`` per line, separated by whitespace; ``#`` starts a comment; blank
  lines are skipped.  Always undirected; a node exists only through its edges
  (there are no isolated nodes, and no node attributes).  Node names are compared
  as text (``1`` and ``01`` are two nodes); a weight is a decimal number
  (``2``, ``-0.5``, ``1e-3``).

and a labels CSV (default ``labels.csv`` in the folder) with a header naming the
columns ``file`` and ``label`` once each (others are ignored).  ``file`` is a file
name in the folder (not a path).  Every row must name a graph file of the folder,
no file may appear twice, and every graph file must have a row.  A row may not have
more (non-empty) fields than the header: a label holding a comma must be quoted.
Quotes must be balanced (a quote inside a quoted field is doubled).  Graphs come in
the natural order of their file names (``g2`` before ``g10``).

**Labels** (the CSV column, or JSONL ``"label"``) are either all class numbers
``0, 1, ...`` (``num_classes`` = largest + 1) or all class names: the names are
sorted, class ``i`` is the ``i``-th name and ``class_names`` keeps them.  Numbers
with a fraction part, negative numbers, class numbers from :data:`MAX_CLASSES` up,
``true``/``false``, a CSV label ``nan`` or ``inf`` and a mix of numbers and names
are errors (``1.0`` is class 1).  A dataset with a single class loads (``notes``
says so); a model cannot learn anything from it.

**A JSONL file** holds one graph per line (blank lines are skipped), a JSON object
with these keys:

=============  ========  ==================================================================
key            needed    value
=============  ========  ==================================================================
``label``      yes       class number or class name (see above)
``edges``      yes       ``[[u, v], ...]``: node indices, whole numbers ``0 .. num_nodes - 1``,
                         may be ``[]``
``id``         no        a string or a whole number, unique in the file; every line has
                         one, all of one kind, or none has (default: the graph's position)
``num_nodes``  no        whole number, 1 .. :data:`MAX_NODES`; default ``len(x)``, else
                         ``len(levels)``, else the largest index in ``edges`` + 1
``directed``   no        ``true`` keeps ``edges`` as given; default ``false``: undirected,
                         every edge ``[u, v]`` stands for both directions
``x``          no        ``[[...], ...]``: one row of numbers per node, the node features
``levels``     no        ``[[l1, l2, ...], ...]``: one row per node, its group at level 1, 2,
                         ...; a group is a number or a name, ``null`` or a negative number
                         for none
``edge_attr``  no        ``[[...], ...]`` (or ``[w, ...]``): one row of numbers per edge
=============  ========  ==================================================================

Other keys are ignored (and named in ``notes``); a key twice in one object is an
error.  "Numbers" are JSON numbers: not ``true``/``false``, not strings such as
``"1.5"``; node indices are whole numbers written without a fraction (``1``, not
``1.0``).

**What every graph becomes** (a :class:`~torch_geometric.data.Data`):

* Nodes are numbered ``0 .. N-1`` in file order: the order of the GraphML node
  elements or of the node-link ``nodes`` list, the order of first appearance in an
  edge list.  Node ids may be any value (for node-link JSON, two ids are the same
  node when they are the same JSON value: ``1`` and ``1.0`` are two ids).
* ``edge_index``: int64 ``[2, E]``, sorted by (source, target).  Undirected graphs
  get both directions; directed ones (GraphML with ``edgedefault="directed"``,
  node-link or JSONL with ``"directed": true``) keep their direction.
  **Self-loops are dropped and repeated edges merged** (the same pair again, in
  either direction for an undirected graph), keeping the weight of the first one;
  ``notes`` counts them.
* ``edge_attr``: float32 ``[E, D]`` when edges carry weights: the third column of an
  edge list, the numeric ``weight`` attribute of GraphML / node-link edges (1.0
  where an edge has none), JSONL ``edge_attr``.  Once one graph of a dataset has
  them, every graph has them (1.0 for a graph without); when no graph has an edge
  left after dropping self-loops, there is no ``edge_attr`` (``notes`` says so).
  Other edge attributes are ignored.
* ``x``: float32 ``[N, F]``, the numeric node attributes, those that are a number
  (``bool`` counts as 0/1) on every node of the graph, or, in node-link JSON, a
  list of numbers of the same length on every node.  Columns are sorted by
  attribute name, digit runs compared as numbers (``f2`` before ``f10``); a list
  attribute ``a`` gives the columns ``a[0], a[1], ...`` in list order.  Every graph
  of a dataset must give the same columns, otherwise the loader names the file.
  ``notes`` names the columns and the attributes left out (a string such as
  ``"1.5"`` is not a number).  With no numeric node attribute anywhere (or
  ``node_features="degree"``), ``x`` is the degree features:
  one-hot degree ``0, 1, ..., DEGREE_CAP - 1, >= DEGREE_CAP`` then
  ``log(1 + degree)`` (:data:`NUM_DEGREE_FEATURES` columns; the degree counts
  edges after dropping self-loops and repeats, in + out for a directed graph).
  For JSONL, ``x`` is given or degree features for every graph.
* ``level_labels`` (:data:`~hipool.data.base.LEVEL_LABELS`): int64 ``[N, L]`` from
  the node attributes ``level1``, ``level2``, ... ``level32`` (:data:`MAX_LEVELS`; no
  ``level0``, no leading zero such as ``level01``) or JSONL ``levels``: column
  ``l - 1`` is the group at level ``l``.  Within each graph and level the groups
  are renumbered ``0 .. G-1`` in sorted order of their ids (numbers before names),
  so ids that already are ``0 .. G-1`` stay as they are.  ``-1`` where a node has
  no group (attribute absent, ``null``, negative).  ``L`` is the deepest level in
  the dataset; graphs with fewer levels (or none) are padded with ``-1``.  Present
  only when some graph has levels; level attributes never become features.
* ``y``: int64 ``[1]``; ``graph_id``: the file name, or the JSONL ``id``.

**Refused** rather than loaded: node features, edge weights and edge attributes
that are NaN, infinite, or beyond float32 (``|v| > 3.4e38``), which would turn into
``inf``; group ids that are NaN or infinite, or ``true``/``false``; anything not a
number where a number is expected (see above); a GraphML file with more than one
``<graph>``; a label (labels CSV or JSONL) holding a control character (NUL, ...); a
JSON string holding a lone UTF-16 surrogate (``"\\ud800"``: not text, no file or
terminal can show it); ``node_features`` naming an attribute twice or a level attribute.

**Bounds** (so that a small file cannot ask for unbounded memory): at most
:data:`MAX_NODES` (10 million) nodes per graph and :data:`MAX_TOTAL_NODES` (100
million) in a dataset; at most :data:`MAX_LEVELS` (32) hierarchy levels; class numbers
below :data:`MAX_CLASSES` (100 000); CSV
fields of at most :data:`MAX_CSV_FIELD` (131 072) characters; JSON nested no deeper
than Python's parser allows (about 1000 levels) and integers of at most 4300
digits (Python's limit).

Every problem is a :class:`ValueError` naming the file, the line where there is one
(edge lists, JSONL, the labels CSV, GraphML; JSON syntax errors with line and column), the
graph and what is wrong.
"""
from __future__ import annotations

import json
import math
import os
import re
import reprlib
import sys
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..io import PathLike, atomic_write_text
from .base import LEVEL_LABELS, GraphDataset, as_path, columns, csv_rows, path_kind

__all__ = [
    "DEGREE_CAP",
    "EDGE_LIST_SUFFIXES",
    "GRAPH_SUFFIXES",
    "MAX_CLASSES",
    "MAX_CSV_FIELD",
    "MAX_LEVELS",
    "MAX_NODES",
    "MAX_TOTAL_NODES",
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
#: Most nodes in one graph (JSONL ``num_nodes`` and node indices stay below it too).
MAX_NODES: int = 10_000_000
#: Most nodes in all graphs of one dataset together (degree features alone take
#: 48 bytes a node).
MAX_TOTAL_NODES: int = 100_000_000
#: Class numbers are ``0 .. MAX_CLASSES - 1``.
MAX_CLASSES: int = 100_000
#: Longest field of a labels CSV, in characters (the default of Python's csv module).
MAX_CSV_FIELD: int = 131_072
#: Deepest known hierarchy: node attributes ``level1`` .. ``level32``, JSONL ``levels`` rows of
#: at most 32 groups (every graph's ``level_labels`` is padded to the deepest level).
MAX_LEVELS: int = 32
#: File stems never read as graphs, whatever their ending.
_NOT_GRAPHS = ("README", "LICENSE", "LICENCE", "NOTES", "CHANGELOG")

_LEVEL_KEY = re.compile(r"level(\d+)", re.ASCII)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_NOT_A_NUMBER = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_JSONL_KEYS = ("id", "label", "num_nodes", "directed", "edges", "edge_attr", "x", "levels")
_INT64 = (-(2 ** 63), 2 ** 63)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SHOW = 8  # names listed in a message before "..."


class _Repr(reprlib.Repr):
    """Short reprs, with JSON's spelling of ``true``, ``false`` and ``null``."""

    def repr_bool(self, value: bool, level: int) -> str:
        return "true" if value else "false"

    def repr_NoneType(self, value: None, level: int) -> str:
        return "null"


_repr = _Repr()
_repr.maxstring = _repr.maxother = _repr.maxlong = 60
_repr.maxlist = _repr.maxdict = 6
_repr.maxlevel = 3


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
    """``name`` with its digit runs compared as numbers (``f2`` before ``f10``); a run is compared by
    its length and digits without leading zeros, never turned into an int (5000 digits would fail)."""
    return [(len(t.lstrip("0")), t.lstrip("0")) if i % 2 else t
            for i, t in enumerate(re.split(r"([0-9]+)", name))]


def _show(names: Iterable[Any]) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:_SHOW])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOW else "") if names else "(none)"


def _brief(value: Any) -> str:
    """``repr(value)`` cut short: user values in messages may be huge or deeply nested."""
    return _repr.repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating))


def _check_nodes(n: int, where: str) -> None:
    if n > MAX_NODES:
        raise ValueError(f"{where}: {n} nodes, more than MAX_NODES = {MAX_NODES} per graph")


def _check_float32(arr: np.ndarray, where: str, say) -> None:
    """A ValueError, ``say(index, value)`` naming the first value of ``arr`` that is NaN, infinite
    or beyond float32 (where it would become infinite)."""
    bad = ~(np.abs(arr) <= _FLOAT32_MAX)  # NaN compares False
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: {say(at, float(arr[at]))}; must be finite, within float32 range "
                         f"(|v| <= 3.4e38)")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raw = path.read_bytes()
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None


class _RepeatedKey(ValueError):
    pass


def _object(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set = set()
        raise _RepeatedKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> Optional[str]:
    """The first string (key or value) in parsed JSON that is not text (holds a lone UTF-16
    surrogate such as ``"\\ud800"``, which no UTF-8 file or terminal can hold), or None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return v
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _load_json(text: str, where: str, *, one_line: bool = False) -> Any:
    """Parsed JSON; every failure a ValueError at ``where`` (``where:col`` of one line, else
    ``where:line:col``)."""
    try:
        value = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as e:
        at = f"{e.colno}" if one_line else f"{e.lineno}:{e.colno}"
        raise ValueError(f"{where}:{at}: malformed JSON: {e.msg}") from None
    except _RepeatedKey as e:
        raise ValueError(f"{where}: an object has the key {_brief(e.args[0])} twice") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply (Python's parser stops at about "
                         f"{sys.getrecursionlimit()} levels)") from None
    except ValueError as e:  # an integer of more than 4300 digits
        what = "an integer with too many digits (at most 4300)" if "digits" in str(e) else str(e)
        raise ValueError(f"{where}: cannot read JSON: {what}") from None
    if _SURROGATE_ESCAPE.search(text):   # rare: only then walk the parsed value
        bad = _lone_surrogate(value)
        if bad is not None:
            raise ValueError(f"{where}: the string {_brief(bad)} holds a lone UTF-16 surrogate (a \\ud800-"
                             f"\\udfff escape without its pair), which is not text")
    return value


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(type(value), "?")


def _json_key(value: Any, where: str = "") -> str:
    """A hashable stand-in for any JSON value (equal values, equal keys)."""
    try:
        return json.dumps(value, sort_keys=True)
    except RecursionError:
        raise ValueError(f"{where}: the id {_brief(value)} is nested too deeply") from None


# -- labels -----------------------------------------------------------------------

def _csv_label(text: str, where: str) -> Union[int, str]:
    text = text.strip()
    if not text:
        raise ValueError(f"{where}: empty label")
    if _NOT_A_NUMBER.fullmatch(text):
        raise ValueError(f"{where}: label {text!r} is not a class number nor a usable class name "
                         f"(a missing value?); every graph needs a class")
    if _CONTROL.search(text):
        raise ValueError(f"{where}: label {_brief(text)} holds a control character")
    if _NUMBER.fullmatch(text):
        value = float(text)
        if re.fullmatch(r"[+-]?\d+", text) and len(text.lstrip("+-0")) <= 18:
            return int(text)
        if not value.is_integer():
            what = "too large" if math.isinf(value) else "not a whole number"
            raise ValueError(f"{where}: label {_brief(text)} is {what}; labels are class numbers "
                             f"0 .. {MAX_CLASSES - 1} or class names")
        return int(value)  # checked against MAX_CLASSES with the others
    return text


def _json_label(value: Any, where: str) -> Union[int, str]:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{where}: label {_brief(value)} is neither a class number (0, 1, ...) "
                         f"nor a class name")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{where}: empty label")
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError(f"{where}: label {_brief(value)} holds a control character")
    return value


def _classes(labels: Sequence[Tuple[Union[int, str], str]]
             ) -> Tuple[List[int], int, Optional[List[str]], List[str]]:
    """Class indices, number of classes, class names and notes from ``(label, where)`` pairs."""
    numbers = [(v, w) for v, w in labels if isinstance(v, int)]
    names = [(v, w) for v, w in labels if isinstance(v, str)]
    if numbers and names:
        (n, nw), (s, sw) = numbers[0], names[0]
        raise ValueError(f"labels mix class numbers and class names ({nw}: {n!r}; {sw}: {_brief(s)}); "
                         f"use one kind for every graph")
    if names:
        class_names = sorted({v for v, _ in names})
        index = {c: i for i, c in enumerate(class_names)}
        notes = [f"a single class ({_brief(class_names[0])}): nothing to tell apart"] if len(class_names) == 1 else []
        return [index[v] for v, _ in names], len(class_names), class_names, notes
    for v, w in numbers:
        if v < 0:
            raise ValueError(f"{w}: label {v} is negative; class numbers are 0, 1, ...")
        if v >= MAX_CLASSES:
            raise ValueError(f"{w}: label {_brief(v)} is too large; class numbers are 0 .. {MAX_CLASSES - 1} "
                             f"(MAX_CLASSES); give class names instead")
    num_classes = max(v for v, _ in numbers) + 1
    present = {v for v, _ in numbers}
    missing = sorted(set(range(num_classes)) - present)
    notes = [f"classes {_show(missing)} have no graph"] if missing else []
    if len(present) == 1:
        notes.append(f"a single class ({numbers[0][0]}): nothing to tell apart")
    return [v for v, _ in numbers], num_classes, None, notes


# -- node attributes --------------------------------------------------------------

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
            raise ValueError(f"{where}: level {level} group {_brief(v)} of node {i} is neither a number "
                             f"nor a name")
        if _is_number(v):
            if isinstance(v, (float, np.floating)) and not math.isfinite(v):
                raise ValueError(f"{where}: level {level} group of node {i} is {v!r}; a group is a finite "
                                 f"number or a name (null or a negative number for none)")
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


def _node_attributes(g: _Graph, ids: Sequence[Any], attrs: Sequence[Dict[str, Any]],
                     wanted: Optional[Sequence[str]]) -> None:
    """Fill ``g.x``, ``g.x_names``, ``g.levels`` from per-node attribute dicts."""
    keys: Dict[str, int] = {}   # attribute -> number of nodes that have it, in order of appearance
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
                raise ValueError(f"{g.where}: node attribute {key!r}: levels start at level1 "
                                 f"(the finest groups)")
            if digits.startswith("0"):   # level01 next to level1 would silently hide one of them
                raise ValueError(f"{g.where}: node attribute {key!r}: a level is named level1, level2, ... "
                                 f"without a leading zero")
            if len(digits) > 2 or int(digits) > MAX_LEVELS:   # level99999 would pad every node to that depth
                raise ValueError(f"{g.where}: node attribute {_brief(key)}: at most {MAX_LEVELS} levels "
                                 f"(MAX_LEVELS): level1 .. level{MAX_LEVELS}")
            level_of[key] = int(digits)
            by_level[int(digits)] = key
    if level_of:
        g.levels = _levels([[a.get(by_level[lvl]) for a in attrs] if lvl in by_level else [None] * len(attrs)
                            for lvl in range(1, max(by_level) + 1)], g.where)
    candidates = [k for k in keys if k not in level_of]
    if wanted == "degree":
        g.ignored += candidates
        return
    names = candidates if wanted is None else list(wanted)
    named = set(names)
    g.ignored += [k for k in candidates if k not in named]
    blocks: List[Tuple[str, np.ndarray]] = []
    for key in names:
        if wanted is None and keys[key] < len(attrs):   # not on every node (and never a scan per such key:
            g.ignored.append(key)                          # a node-link file of n nodes with n names was n**2)
            continue
        values = [a.get(key) for a in attrs]
        try:
            col = _numeric_column(values)
        except OverflowError:
            i = next(i for i, v in enumerate(values) if any(isinstance(a, int) and abs(a) >= 2 ** 1024
                                                              for a in (v if isinstance(v, list) else [v])))
            raise ValueError(f"{g.where}: node {_brief(ids[i])} has {_brief(values[i])} for {key!r}; must be "
                             f"finite, within float32 range (|v| <= 3.4e38)") from None
        if col is None:
            if wanted is None:
                g.ignored.append(key)
                continue
            bad = next(i for i, v in enumerate(values) if not _is_number(v))
            what = "has none" if values[bad] is None else f"has {_brief(values[bad])}"
            raise ValueError(f"{g.where}: node attribute {key!r} is not a number on every node "
                             f"(node {_brief(ids[bad])} {what})")
        _check_float32(col, g.where, lambda at, v, key=key: f"node {_brief(ids[at[0]])} has {v} for {key!r}")
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
        if w is not None and (isinstance(w, bool) or not _is_number(w)):
            raise ValueError(f"{where}: {what}[{j}]: weight {_brief(w)} is not a number")
        if isinstance(w, int) and abs(w) >= 2 ** 1024:
            raise ValueError(f"{where}: {what}[{j}]: weight {_brief(w)} is too large; must be finite, "
                             f"within float32 range (|v| <= 3.4e38)")
    arr = np.asarray([1.0 if w is None else w for w in weights], dtype=np.float64).reshape(-1, 1)
    _check_float32(arr, where, lambda at, v: f"{what}[{at[0]}]: weight {v}")
    return arr


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
            raise ValueError(f"{path}:{lineno}: expected 'u v' or 'u v weight', got {_brief(line.strip())}")
        weight = None
        if len(parts) == 3:
            if not _NUMBER.fullmatch(parts[2]):
                raise ValueError(f"{path}:{lineno}: weight {_brief(parts[2])} is not a number (a decimal "
                                 f"number such as 2, -0.5 or 1e-3)")
            weight = float(parts[2])
            if not abs(weight) <= _FLOAT32_MAX:
                raise ValueError(f"{path}:{lineno}: weight {parts[2]}; must be finite, within float32 range "
                                 f"(|v| <= 3.4e38)")
        src.append(index.setdefault(parts[0], len(index)))
        dst.append(index.setdefault(parts[1], len(index)))
        weights.append(weight)
    if not src:
        raise ValueError(f"{path}: no edges (an edge list holds a graph through its edges)")
    _check_nodes(len(index), str(path))
    return _Graph(where=str(path), graph_id=path.name, num_nodes=len(index), src=np.asarray(src),
                  dst=np.asarray(dst), directed=False, edge_attr=_edge_weights(weights, str(path), "edges"))


def _read_node_link(path: Path, wanted) -> _Graph:
    data = _load_json(_read_text(path), str(path))
    if not isinstance(data, dict) or "nodes" not in data or not ({"links", "edges"} & set(data)):
        got = _show(sorted(data)) if isinstance(data, dict) else _json_type(data)
        raise ValueError(f"{path}: not a node-link graph: needs the keys 'nodes' and 'links' "
                         f"(or 'edges'), got {got}")
    if "links" in data and "edges" in data:
        raise ValueError(f"{path}: both 'links' and 'edges'; give the edges once")
    links_key = "links" if "links" in data else "edges"
    nodes, links, directed = data["nodes"], data[links_key], data.get("directed", False)
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise ValueError(f"{path}: 'nodes' and '{links_key}' must be lists")
    if not isinstance(directed, bool):
        raise ValueError(f"{path}: 'directed' must be true or false, got {_brief(directed)}")
    if not nodes:
        raise ValueError(f"{path}: no nodes")
    _check_nodes(len(nodes), str(path))
    index: Dict[str, int] = {}
    attrs: List[Dict[str, Any]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise ValueError(f"{path}: nodes[{i}] is not an object with an 'id'")
        key = _json_key(node["id"], f"{path}: nodes[{i}]")
        if key in index:
            raise ValueError(f"{path}: nodes[{i}]: node id {_brief(node['id'])} repeats nodes[{index[key]}]")
        index[key] = i
        attrs.append({k: v for k, v in node.items() if k != "id"})
    src, dst, weights, ignored = [], [], [], set()
    for j, link in enumerate(links):
        if not isinstance(link, dict) or "source" not in link or "target" not in link:
            raise ValueError(f"{path}: {links_key}[{j}] is not an object with 'source' and 'target'")
        for end, out in (("source", src), ("target", dst)):
            k = index.get(_json_key(link[end], f"{path}: {links_key}[{j}]"))
            if k is None:
                raise ValueError(f"{path}: {links_key}[{j}]: {end} {_brief(link[end])} is not among the nodes")
            out.append(k)
        weights.append(link.get("weight"))
        ignored.update(k for k in link if k not in ("source", "target", "weight", "key"))
    g = _Graph(where=str(path), graph_id=path.name, num_nodes=len(nodes), src=np.asarray(src, dtype=np.int64),
               dst=np.asarray(dst, dtype=np.int64), directed=directed,
               edge_attr=_edge_weights(weights, str(path), links_key))
    _node_attributes(g, [n["id"] for n in nodes], attrs, wanted)
    g.ignored += [f"edge {k}" for k in sorted(ignored)]
    return g


_GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
#: GraphML ``attr.type`` values and how their data must read (what networkx then converts).
_GRAPHML_TYPES = ("boolean", "int", "long", "float", "double", "string")
_GRAPHML_BOOL = ("true", "false", "0", "1")   # networkx: any case
_INT_TEXT = re.compile(r"[ \t\r\n]*[+-]?[0-9]+[ \t\r\n]*")
_FLOAT_TEXT = re.compile(r"[ \t\r\n]*(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                         r"|[+-]?(?:nan|inf|infinity))[ \t\r\n]*", re.IGNORECASE)


class _GraphMLError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _graphml_value(text: str, kind: str) -> Any:
    """``text`` of a ``kind`` (GraphML ``attr.type``) data as networkx reads it, or a ValueError
    saying what it should be (Python's own ``int()`` and ``float()`` would take ``1_000``, ``٣``)."""
    if kind in ("int", "long"):
        digits = text.strip().lstrip("+-")
        if not _INT_TEXT.fullmatch(text):
            raise ValueError("not an integer (decimal digits)")
        if len(digits) > 4300:
            raise ValueError("an integer of more than 4300 digits")
        return int(text)
    if kind in ("float", "double"):
        if not _FLOAT_TEXT.fullmatch(text):
            raise ValueError("not a number (a decimal such as 2, -0.5 or 1e-3)")
        return float(text)
    if kind == "boolean":
        if text.lower() not in _GRAPHML_BOOL:
            raise ValueError("not a GraphML boolean (true, false, 1 or 0)")
        return text.lower() in ("true", "1")
    return text


def _scan_graphml(raw: bytes, path: Path) -> Dict[str, Dict[str, Any]]:
    """Check a GraphML document before networkx builds the graph (networkx is lenient: it adds a
    node for an edge end that names none, lets a repeated key, node or data silently replace the
    first, reads ``1_000`` as an int and expands DTD entities).  Returns the key defaults,
    ``{"node": {name: value}, "edge": {name: value}}``.  A ``ValueError`` ``<file>:<line>: ...``:

    * a ``<!DOCTYPE>`` (no DTD, no entities: nothing is fetched or expanded);
    * a ``<key>`` without ``id`` or ``attr.name`` (unless yFiles), an ``id`` declared twice, two
      keys with one ``attr.name`` for the same elements, an ``attr.type`` GraphML does not have;
    * a ``<graph>`` inside a node, an ``edgedefault`` other than ``directed`` / ``undirected``;
    * a ``<node>`` without ``id`` or with the ``id`` of an earlier one;
    * an ``<edge>`` without ``source`` / ``target``, or naming a node the graph does not have,
      or repeating the ``id`` of an earlier edge between the same nodes (it would replace it);
    * a ``<data>`` without ``key``, for a key never declared, twice for the same key on one
      element, or whose text does not read as its key's ``attr.type`` (``int``, ``long``:
      decimal digits; ``float``, ``double``: a decimal number; ``boolean``: true, false, 1, 0).
    """
    import xml.parsers.expat as expat

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    keys: Dict[str, Dict[str, Any]] = {}          # id -> type, for, name, line
    names: Dict[str, Dict[str, int]] = {}         # attr.name -> {for: line}
    nodes: Dict[str, int] = {}                    # node id -> line
    edges: List[Tuple[int, str, str]] = []        # line, source, target
    edge_ids: Dict[Tuple[Any, str], int] = {}
    datas: List[Tuple[int, str, str, str]] = []   # line, key, owner, text
    stack: List[Tuple[str, Dict[str, Any]]] = []  # (local name, state)
    directed = [False]

    def local(name: str) -> Optional[str]:
        ns, _, tag = name.rpartition(" ")
        return tag if ns in ("", _GRAPHML_NS) else None

    def fail(message: str):
        raise _GraphMLError(parser.CurrentLineNumber, message)

    def doctype(*_):
        fail("a <!DOCTYPE> declaration; hipool reads GraphML without a DTD or entities (nothing is fetched "
             "or expanded): remove it")

    def start(name: str, attrs: Dict[str, str]):
        tag = local(name)
        parent = stack[-1] if stack else (None, {})
        state: Dict[str, Any] = {}
        line = parser.CurrentLineNumber
        if tag == "key" and parent[0] in ("graphml", None):
            kid = attrs.get("id")
            if kid is None:
                fail("a <key> without an id")
            if kid in keys:
                fail(f"key {_brief(kid)} is declared twice (also at line {keys[kid]['line']})")
            kind = "yfiles" if attrs.get("yfiles.type") is not None else attrs.get("attr.type", "string")
            if kind not in _GRAPHML_TYPES + ("yfiles",):
                fail(f"key {_brief(kid)} has attr.type {_brief(kind)}; GraphML types are "
                     f"{', '.join(_GRAPHML_TYPES)}")
            for_ = attrs.get("for", "all")
            name_ = attrs.get("yfiles.type") or attrs.get("attr.name")
            if name_ is None:
                fail(f"key {_brief(kid)} has no attr.name")
            declared = names.setdefault(name_, {})   # for -> line
            clash = declared.get(for_, declared.get("all")) if for_ != "all" else next(iter(declared.values()), None)
            if clash is not None:   # networkx would keep one of the two values in silence
                fail(f"key {_brief(kid)} declares the attribute {_brief(name_)} for {for_} elements again "
                     f"(also at line {clash}); one key per attribute")
            declared[for_] = line
            keys[kid] = {"type": kind, "for": for_, "name": name_, "line": line, "default": None}
            state["key"] = kid
        elif tag == "default" and parent[0] == "key":
            state["text"] = []
        elif tag == "graph":
            if any(t == "graph" for t, _ in stack):
                fail("a <graph> inside a node (a nested graph); hipool reads one flat graph per file")
            edgedefault = attrs.get("edgedefault")
            if edgedefault not in (None, "directed", "undirected"):
                fail(f"edgedefault={_brief(edgedefault)}; it is 'directed' or 'undirected'")
            directed[0] = edgedefault == "directed"
        elif tag == "node" and parent[0] == "graph":
            nid = attrs.get("id")
            if nid is None:
                fail("a <node> without an id")
            if nid in nodes:
                fail(f"node {_brief(nid)} is declared twice (also at line {nodes[nid]})")
            nodes[nid] = line
            state.update(owner=f"node {_brief(nid)}", data={})
        elif tag == "edge" and parent[0] == "graph":
            u, v = attrs.get("source"), attrs.get("target")
            if u is None or v is None:
                fail(f"an <edge> without a {'source' if u is None else 'target'}")
            edges.append((line, u, v))
            eid = attrs.get("id")
            if eid:
                pair = (u, v) if directed[0] or attrs.get("directed") == "true" else tuple(sorted((u, v)))
                if (pair, eid) in edge_ids:
                    fail(f"edge id {_brief(eid)} between {_brief(u)} and {_brief(v)} repeats the edge at line "
                         f"{edge_ids[(pair, eid)]}, which it would replace")
                edge_ids[(pair, eid)] = line
            state.update(owner=f"edge {_brief(u)} - {_brief(v)}", data={})
        elif tag == "data" and parent[0] in ("node", "edge", "graph"):
            key = attrs.get("key")
            if key is None:
                fail("a <data> without a key")
            seen = parent[1].setdefault("data", {})
            if key in seen:
                fail(f"{parent[1].get('owner', 'the graph')} has data for key {_brief(key)} twice (also at line "
                     f"{seen[key]})")
            seen[key] = line
            state.update(key=key, text=[], owner=parent[1].get("owner", "the graph"), line=line)
        elif parent[0] == "data" or parent[1].get("nested"):
            parent[1]["nested"] = True   # yFiles and other markup inside <data>: not a typed value
            state["nested"] = True
        stack.append((tag, state))

    def text(data: str):
        if stack and "text" in stack[-1][1]:
            stack[-1][1]["text"].append(data)

    def end(name: str):
        tag, state = stack.pop()
        if tag == "default" and stack and stack[-1][0] == "key":
            keys[stack[-1][1]["key"]]["default"] = (parser.CurrentLineNumber, "".join(state["text"]))
        elif tag == "data" and not state.get("nested"):
            datas.append((state["line"], state["key"], state["owner"], "".join(state["text"])))

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(raw, True)
    except _GraphMLError as e:
        raise ValueError(f"{path}:{e.line}: {e}") from None
    except expat.ExpatError as e:
        raise ValueError(f"{path}:{e.lineno}:{e.offset}: malformed GraphML: {expat.ErrorString(e.code)}") from None
    except RecursionError:  # pragma: no cover - expat is not recursive
        raise ValueError(f"{path}: GraphML nested too deeply") from None
    for line, u, v in edges:
        for end_, node in (("source", u), ("target", v)):
            if node not in nodes:
                raise ValueError(f"{path}:{line}: edge {end_} {_brief(node)} is not a node of the graph (no "
                                 f"<node id={_brief(node)}>)")
    for line, key, owner, value in datas:
        if key not in keys:
            raise ValueError(f"{path}:{line}: {owner}: data for key {_brief(key)}, which no <key> declares")
        k = keys[key]
        try:
            _graphml_value(value, k["type"])
        except ValueError as e:
            raise ValueError(f"{path}:{line}: {owner}: {k['name']!r} ({k['type']}) is {_brief(value)}, "
                             f"{e}") from None
    defaults: Dict[str, Dict[str, Any]] = {"node": {}, "edge": {}}
    for k in keys.values():
        if k["default"] is None or k["type"] == "yfiles":
            continue
        line, value = k["default"]
        try:
            typed = _graphml_value(value, k["type"])
        except ValueError as e:
            raise ValueError(f"{path}:{line}: the default of {k['name']!r} ({k['type']}) is {_brief(value)}, "
                             f"{e}") from None
        for for_ in ("node", "edge"):
            if k["for"] in (for_, "all"):
                defaults[for_][k["name"]] = typed
    return defaults


def _read_graphml(path: Path, wanted) -> _Graph:
    try:
        import networkx as nx
    except ImportError as e:  # pragma: no cover - networkx is in the dev/plot extras
        raise ImportError(f"{path}: reading GraphML needs networkx (pip install 'hipool[graphs]')") from e
    from xml.etree.ElementTree import ParseError

    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None
    defaults = _scan_graphml(raw, path)
    reader = nx.readwrite.graphml.GraphMLReader()
    header = b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
    try:  # as nx.read_graphml, but every graph of the file, not the first one only
        found = list(reader(string=raw))
        if not found:  # a header without the GraphML namespace, as nx.read_graphml allows
            found = list(reader(string=raw.replace(b"<graphml>", header)))
    except ParseError as e:
        line, col = e.position
        raise ValueError(f"{path}:{line}:{col}: malformed GraphML: {e}") from None
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - networkx fails on odd files in many ways; all are the file's fault
        why = str(e) if len(str(e)) <= 200 else str(e)[:200] + "..."
        raise ValueError(f"{path}: cannot read GraphML: {type(e).__name__}: {why}") from None
    if len(found) != 1:
        raise ValueError(f"{path}: {len(found) or 'no'} GraphML <graph> elements; one graph per file")
    G = found[0]
    ids = list(G.nodes)
    if not ids:
        raise ValueError(f"{path}: no nodes")
    for kind, items in (("node", (G.nodes[v] for v in ids)), ("edge", (d for _, _, d in G.edges(data=True)))):
        if defaults[kind]:   # GraphML: a key's <default> holds where an element has no data for it
            for attrs in items:
                for name, value in defaults[kind].items():
                    attrs.setdefault(name, value)
    _check_nodes(len(ids), str(path))
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
        raise ValueError(f"{where}: {what}[{i}] has {len(value[i])} numbers but {what}[0] has "
                         f"{len(value[0])}; {what} must be {shape}")
    if widths == {0}:
        raise ValueError(f"{where}: the rows of {what} are empty; give at least one number per {unit}")
    if not set(map(type, chain.from_iterable(value))) <= {int, float}:
        i = _first(value, lambda r: not set(map(type, r)) <= {int, float})
        j = _first(value[i], lambda v: type(v) not in (int, float))
        raise ValueError(f"{where}: {what}[{i}][{j}] is {_brief(value[i][j])}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        i = _first(value, lambda r: any(type(v) is int and abs(v) >= 2 ** 1024 for v in r))
        j = _first(value[i], lambda v: type(v) is int and abs(v) >= 2 ** 1024)
        raise ValueError(f"{where}: {what}[{i}][{j}] is {_brief(value[i][j])}; must be finite, "
                         f"within float32 range (|v| <= 3.4e38)") from None
    _check_float32(arr, where, lambda at, v: f"{unit} {at[0]} has {v} in {what} (column {at[1]})")
    return arr


def _node_pairs(edges: Any, where: str) -> np.ndarray:
    """JSONL ``edges`` as int64 ``[E, 2]`` of indices ``0 .. MAX_NODES - 1``."""
    if not isinstance(edges, list):
        raise ValueError(f"{where}: 'edges' must be a list of [u, v] pairs of node indices, got "
                         f"{_json_type(edges)}")
    if not edges:
        return np.zeros((0, 2), dtype=np.int64)

    def bad(e):
        return not (type(e) is list and len(e) == 2 and type(e[0]) is int and type(e[1]) is int)

    if set(map(type, edges)) != {list} or set(map(len, edges)) != {2} \
            or set(map(type, chain.from_iterable(edges))) != {int}:
        j = _first(edges, bad)
        raise ValueError(f"{where}: edges[{j}] is {_brief(edges[j])}, not a pair [u, v] of node indices "
                         f"(whole numbers 0, 1, ..., written without a fraction)")
    try:
        ei = np.array(edges, dtype=np.int64)
    except OverflowError:
        ei = None
    if ei is None or ei.min() < 0 or ei.max() >= MAX_NODES:
        j = _first(edges, lambda e: not (0 <= e[0] < MAX_NODES and 0 <= e[1] < MAX_NODES))
        why = "a negative node index" if min(edges[j]) < 0 else f"a node index beyond MAX_NODES = {MAX_NODES}"
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
    if n is not None and (type(n) is not int or not 1 <= n <= MAX_NODES):
        raise ValueError(f"{where}: 'num_nodes' must be a whole number 1 .. {MAX_NODES} (MAX_NODES), "
                         f"got {_brief(n)}")
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
        if len(levels[0]) > MAX_LEVELS:
            raise ValueError(f"{where}: 'levels' rows of {len(levels[0])} groups; at most {MAX_LEVELS} levels "
                             f"(MAX_LEVELS)")
        g.levels = _levels(list(zip(*levels)), where)
    edge_attr = obj.get("edge_attr")
    if edge_attr is not None and not (edge_attr == [] and not len(ei)):
        g.edge_attr = _matrix(edge_attr, where, "'edge_attr'", len(ei), "edge", vector_ok=True)
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

    total = sum(g.num_nodes for g in graphs)
    if total > MAX_TOTAL_NODES:
        raise ValueError(f"{source}: {total} nodes in all, more than MAX_TOTAL_NODES = {MAX_TOTAL_NODES} "
                         f"in one dataset; split it")
    for g in graphs:  # x is checked finite and within float32 where it is read
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

def _why_not_read(folder: Path, fname: str, csv_path: Path) -> str:
    """Why the labels CSV's ``fname`` is not among the graph files read from ``folder``."""
    if "\0" in fname:
        return f"{_brief(fname)} holds a NUL character; not a file name"
    if "/" in fname or "\\" in fname or fname in (".", ".."):
        return (f"{_brief(fname)} is a path; name a file of the folder itself (sub-folders are "
                f"not read)")
    p = folder / fname
    if p.is_symlink() and not p.exists():
        return f"{_brief(fname)} is a broken symbolic link"
    if p.is_dir():
        return f"{_brief(fname)} is a folder; graph files are read from {folder} itself only"
    if not p.exists():
        return f"file {_brief(fname)} not found in {folder}"
    if not p.is_file():
        return f"{_brief(fname)} is not a regular file"
    if os.path.realpath(p) == os.path.realpath(csv_path):
        return f"{_brief(fname)} is the labels file itself"
    if p.suffix.lower() not in GRAPH_SUFFIXES:
        return f"{_brief(fname)} is not a graph file (endings read: {', '.join(GRAPH_SUFFIXES)})"
    if fname.startswith("."):
        return f"{_brief(fname)} is hidden (a name starting with '.'); hidden files are not read"
    return (f"{_brief(fname)} is not read as a graph ({', '.join(_NOT_GRAPHS)} files never are, "
            f"whatever their ending)")


def _read_labels(csv_path: Path, files: Dict[str, Path], folder: Path) -> Dict[str, Tuple[Any, str]]:
    """``file name -> (label, "labels.csv line k")`` after checking every row."""
    rows: Dict[str, Tuple[Any, str]] = {}
    first_line: Dict[str, int] = {}
    header: Optional[List[str]] = None
    fcol = lcol = 0
    for line, row in csv_rows(_read_text(csv_path), csv_path, MAX_CSV_FIELD):
        where = f"{csv_path}:{line}"
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            for col in ("file", "label"):
                if header.count(col) != 1:
                    how = "does not name" if col not in header else f"names {header.count(col)} times"
                    raise ValueError(f"{where}: the header {how} the column {col!r}; it must name the columns "
                                     f"'file' and 'label' once each, got {_brief(row)}")
            fcol, lcol = header.index("file"), header.index("label")
            continue
        if any(cell.strip() for cell in row[len(header):]):
            raise ValueError(f"{where}: {len(row)} fields but the header names {len(header)} columns "
                             f"({_brief(','.join(header))}); quote a file name or label that holds a comma")
        if len(row) <= max(fcol, lcol):
            raise ValueError(f"{where}: expected the columns {_brief(','.join(header))}, got {_brief(row)}")
        fname = row[fcol].strip()
        if not fname:
            raise ValueError(f"{where}: empty file name")
        if fname in rows:
            raise ValueError(f"{where}: {_brief(fname)} is listed twice (also at line {first_line[fname]})")
        if fname not in files:
            raise ValueError(f"{where}: {_why_not_read(folder, fname, csv_path)}")
        rows[fname] = (_csv_label(row[lcol], where), where)
        first_line[fname] = line
    if header is None:
        raise ValueError(f"{csv_path}: empty; expected a header 'file,label' and one row per graph file")
    return rows


def _check_name(name: Any) -> None:
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise ValueError(f"name must be a non-empty string (the dataset's name) or None, got {_brief(name)}")


def _wanted_features(node_features: Any) -> Union[None, str, List[str]]:
    """``node_features`` checked: None, ``"degree"``, or a list of distinct attribute names that
    are not level attributes (those are the known hierarchy, never features)."""
    if node_features is None or node_features == "degree":
        return node_features
    if isinstance(node_features, (str, bytes)) or not isinstance(node_features, (list, tuple)):
        raise ValueError(f"node_features must be None, 'degree' or a list of attribute names, "
                         f"got {_brief(node_features)}")
    names = list(node_features)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"node_features: {_brief(name)} is not an attribute name (a string)")
        if _LEVEL_KEY.fullmatch(name):
            raise ValueError(f"node_features: {name!r} is a level attribute (the known hierarchy, "
                             f"level_labels), never a feature")
        if names.count(name) > 1:
            raise ValueError(f"node_features names {name!r} twice")
    return names


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
            missing or not numeric, named twice, or a level attribute ``levelN``).
        progress: show a progress bar over the files.
    """
    folder = as_path(folder, "load_graph_folder: folder")
    kind = path_kind(folder)
    if kind != "folder":
        raise ValueError(f"{folder}: {'no such folder' if kind == 'missing' else 'not a folder'}")
    wanted = _wanted_features(node_features)
    _check_name(name)
    csv_path = folder / "labels.csv" if labels_csv is None else as_path(labels_csv, "load_graph_folder: labels_csv")
    files: Dict[str, Path] = {}
    others: List[str] = []
    not_files: List[str] = []
    try:
        for p in sorted(folder.iterdir(), key=lambda p: _natural_key(p.name)):
            if p.name.startswith(".") or os.path.realpath(p) == os.path.realpath(csv_path):
                continue
            if not p.is_file():  # sub-folders, broken links, devices, pipes
                not_files.append(p.name + ("/" if p.is_dir() else ""))
            elif p.stem.upper() in _NOT_GRAPHS:  # README.txt, LICENSE.txt: text, not an edge list
                others.append(p.name)
            elif p.suffix.lower() in GRAPH_SUFFIXES:
                files[p.name] = p
            else:
                others.append(p.name)
    except OSError as e:
        raise ValueError(f"{folder}: cannot list it ({e.strerror or e})") from None
    if not files:
        raise ValueError(f"{folder}: no graph files (endings read: {', '.join(GRAPH_SUFFIXES)})")
    kind = path_kind(csv_path)
    if kind != "file":
        raise ValueError(f"{csv_path}: " + ("labels file not found" if kind == "missing" else
                                            "a folder, not a labels file" if kind == "folder" else
                                            "not a regular file (a pipe or a device), not a labels file")
                         + " (a CSV with the columns file,label, one row per graph file)")
    rows = _read_labels(csv_path, files, folder)
    unlabelled = [f for f in files if f not in rows]
    if unlabelled:
        raise ValueError(f"{folder}: {len(unlabelled)} graph files have no row in {csv_path.name}: "
                         f"{_show(unlabelled)} (add them, or move them out of the folder)")

    graphs = [_read_file(p, wanted) for p in tqdm(files.values(), desc=f"reading {folder.name}",
                                                   disable=not progress, leave=False, unit="graph")]
    notes = [f"ignored files that are not graphs: {_show(others)}"] if others else []
    if not_files:
        notes.append(f"ignored sub-folders and other entries that are not files: {_show(not_files)}")
    return _dataset(graphs, [rows[f] for f in files], name=name or folder.resolve().name,
                    source=str(folder), notes=notes, degree_only=wanted == "degree")


def _jsonl_id(obj: Dict[str, Any], where: str) -> Union[str, int]:
    graph_id = obj["id"]
    if isinstance(graph_id, str) or (type(graph_id) is int and _INT64[0] <= graph_id < _INT64[1]):
        return graph_id
    raise ValueError(f"{where}: 'id' must be a string or a whole number (int64), got {_brief(graph_id)}")


def load_jsonl(path: PathLike, *, name: Optional[str] = None, progress: bool = False) -> GraphDataset:
    """Read one graph per line (schema: see the module docstring).

    Args:
        path: the ``.jsonl`` file.
        name: the dataset's name; default the file name without its ending.
        progress: show a progress bar over the lines.
    """
    path = as_path(path, "load_jsonl: path")
    kind = path_kind(path)
    if kind != "file":
        raise ValueError(f"{path}: " + ("no such file" if kind == "missing" else "a folder, not a file"
                                        if kind == "folder" else "not a regular file (a pipe or a device)"))
    _check_name(name)
    lines = _read_text(path).split("\n")
    graphs: List[_Graph] = []
    labels: List[Tuple[Any, str]] = []
    seen: Dict[Any, int] = {}
    first: Optional[Tuple[Any, int]] = None  # (id or None, line) of the first graph
    for lineno, line in tqdm(enumerate(lines, 1), total=len(lines), desc=f"reading {path.name}",
                             disable=not progress, leave=False, unit="line"):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        obj = _load_json(line, where, one_line=True)
        graph_id = _jsonl_id(obj, where) if isinstance(obj, dict) and "id" in obj else None
        if first is None:
            first = (graph_id, lineno)
        elif (graph_id is None) != (first[0] is None):
            has, lacks = (lineno, first[1]) if first[0] is None else (first[1], lineno)
            raise ValueError(f"{where}: line {has} has an 'id' but line {lacks} has none; give every "
                             f"graph an id, or none")
        elif graph_id is not None and type(graph_id) is not type(first[0]):
            raise ValueError(f"{where}: id {_brief(graph_id)} but line {first[1]} has the id {_brief(first[0])}; "
                             f"ids are all strings or all whole numbers")
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
            raise ValueError(f"save_jsonl: graph {i}: graph_id {_brief(graph_id)} is not a string nor a whole "
                             f"number (every graph needs one once a graph has one)")
        if type(graph_id) is not type(ids[0]):
            raise ValueError(f"save_jsonl: graph {i}: graph_id {_brief(graph_id)} but graph 0 has "
                             f"{_brief(ids[0])}; graph ids must be all strings or all whole numbers")
        if graph_id in seen:
            raise ValueError(f"save_jsonl: graphs {seen[graph_id]} and {i} have the same graph_id "
                             f"{_brief(graph_id)}")
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
            raise ValueError(f"save_jsonl: graph {i}: y must be one class number per graph, got "
                             f"{None if y is None else tuple(y.shape)} {'' if y is None else y.dtype}")
        ys.append(int(y.view(-1)[0]))
        if not 0 <= ys[-1] < MAX_CLASSES:
            raise ValueError(f"save_jsonl: graph {i}: class {ys[-1]} is not one of 0 .. {MAX_CLASSES - 1}")
        for key in ("x", "edge_attr"):
            value = data.get(key)
            if value is not None and value.is_floating_point() and not torch.isfinite(value).all():
                raise ValueError(f"save_jsonl: graph {i}: {key} holds NaN or infinite values, which "
                                 f"load_jsonl refuses")
    use_names = bool(class_names) and all(isinstance(c, str) and c.strip() for c in class_names) \
        and list(class_names) == sorted(set(class_names)) and set(ys) == set(range(len(class_names)))
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
