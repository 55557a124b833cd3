"""TU graph-classification benchmarks (Morris et al. 2020), read and checked by hipool.

``load_tu("PROTEINS")`` reads ``<data root>/PROTEINS/raw/PROTEINS_*.txt`` when it is there
and otherwise downloads it with PyG's own code (from the TU server) into hipool's
download folder.  The data root is ``data_root=`` / ``--data-root``, else the
``HIPOOL_DATA`` environment variable, else the download folder
(``$XDG_CACHE_HOME/hipool/data``, default ``~/.cache/hipool/data``).

**Nothing is written into a data root that already holds the raw files**: the processed
graphs go to ``<cache>/TU/<name>/<fingerprint of the raw files>/data.pt``
(``cache_dir=``, else ``HIPOOL_CACHE``, else ``~/.cache/hipool/processed``), so a
changed raw file (its size or modification time) is processed again and a read-only
data root works.

**A cache file runs no code.**  Caches are shared between users, so ``data.pt`` holds
plain tensors and numbers only, read with ``torch.load(weights_only=True)`` and then
checked: the CRC-32 of every member of its zip archive first (torch checks none, so a
flipped byte would load as another value; a compressed member, which ``torch.save``
never writes, is refused too), then keys, shapes, dtypes, dense contiguous tensors (a
zero-stride tensor in a small file could pose as a huge one) and ranges.  A file that
fails (damaged, tampered with, truncated, from another version) is never unpickled: it
is deleted with a warning naming it, and the raw files are processed again.  Caches are
written atomically (a temporary file next to ``data.pt``, then renamed), so a full disk
or a kill leaves no half file; the temporary file of a killed writer is removed by the
next load.  A cache that cannot be written or even looked at (a read-only folder, a full
disk, a name too long) is a warning, and the graphs still load.

**The raw files are read by hipool, not by PyG** (PyG's reader drops a last line that
has no final newline, fails on a dataset of one graph, reads ``nan`` and allocates a
one-hot as wide as the largest label).  Every problem is a ``ValueError``
``<file>:<line>: what is wrong`` (or ``<file>: ...`` for a wrong number of lines):

* files: every ``<name>_<kind>.txt`` hipool reads (the three required ones and the
  optional ``node_labels``, ``node_attributes``, ``edge_labels``, ``edge_attributes``,
  ``graph_attributes``) is a regular file or a link to one; one that is a folder, a
  named pipe, a device or a broken link is an error naming it, never skipped (the
  graphs would silently lack its values) nor read (a pipe would hang);

* text: UTF-8 (a byte-order mark is skipped), ``\\n`` or ``\\r\\n`` line ends; the last
  line is read whether or not it ends with a newline; blank lines only at the end of
  a file.  One row per line, values separated by commas (spaces and tabs around them
  are fine), the same number of values on every line of a file;
* integers (``A``, ``graph_indicator``, ``graph_labels``, ``node_labels``,
  ``edge_labels``): decimal digits with an optional sign, within 64 bits; numbers
  (``node_attributes``, ``edge_attributes``): decimals such as ``1``, ``-0.5``,
  ``2.5e-3``, finite (no ``nan`` or ``inf``) and within the float32 range;
* ``graph_indicator``: one graph id per node; ids start at 1 and go up by 0 or 1 from
  a line to the next (the nodes of a graph are contiguous, every graph has a node);
* ``graph_labels``: one integer per graph.  ``node_labels`` and ``node_attributes``:
  one line per node.  ``edge_labels`` and ``edge_attributes``: one line per line of
  ``A``;
* ``A``: two node ids per line, each in ``1 .. N`` (N = lines of ``graph_indicator``),
  both of the same graph.  Self-loops are dropped and repeated edges merged (their
  edge features added up), as PyG does;
* labels are one-hot encoded ``min .. max`` per label column (so negative labels are
  fine): all columns together at most :data:`MAX_LABEL_COLUMNS` (10,000) wide, and at
  most :data:`MAX_ONE_HOT_VALUES` (2**28, 1 GiB of float32) values for the whole file,
  else an error naming the line of the farthest label;
* ``graph_attributes`` (regression targets) are not read; hipool classifies by
  ``graph_labels``.

Every size hipool allocates follows from the number of lines read (the one-hot labels at
most 10,000 values a line, 2**28 in all), never from a value in a file, so a small file
cannot make it allocate much: a graph or node id of ``10**12`` in a three-line file is
an error.

**Node features, as the field builds them.**  Node labels one-hot, plus the
continuous node attributes where the dataset has them (PyG's ``use_node_attr=True``:
attributes first, then the one-hot labels).  Datasets without node labels or
attributes (the social ones: IMDB-BINARY, IMDB-MULTI, REDDIT-BINARY, COLLAB, ...)
get degree features: one-hot degree ``0 .. max_degree`` when the largest degree is
at most ``degree_cap`` (default 150, so IMDB gets one-hot as in the GIN and Errica
et al. protocols), else one-hot ``min(degree, degree_cap)`` plus ``log(1 + degree)``
(REDDIT's hubs have degree in the thousands).  ``edge_attr`` holds the one-hot edge
labels, preceded by the edge attributes with ``use_edge_attr=True`` (as PyG's
``TUDataset``).  Graph labels are mapped to ``0 .. C-1`` in sorted order
(``-1/1`` → ``0/1``), as PyG does; the original values are the class names.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, degree, remove_self_loops

from ..io import atomic_torch_save, decode_text, describe_os_error, os_reason, remove_stale_temps, shown
from .base import (
    DECIMAL_PATTERN,
    INT_PATTERN,
    GraphDataset,
    as_path,
    check_int,
    check_plain_tensor,
    decimal_int,
    load_cache,
    path_kind,
)

PathLike = Union[str, os.PathLike]

#: The TU datasets the tests check against their published statistics (any TU name loads).
#: name: (graphs, classes)
TU_STATS: Dict[str, tuple] = {
    "MUTAG": (188, 2),
    "PROTEINS": (1113, 2),
    "ENZYMES": (600, 6),
    "NCI1": (4110, 2),
    "DD": (1178, 2),
    "PTC_MR": (344, 2),
    "AIDS": (2000, 2),
    "IMDB-BINARY": (1000, 2),
    "IMDB-MULTI": (1500, 3),
    "REDDIT-BINARY": (2000, 2),
}

DEFAULT_DEGREE_CAP = 150

#: Widest one-hot encoding built from the node labels (all label columns together), and
#: likewise from the edge labels.  A label of 200000 would otherwise make 200,001 columns.
MAX_LABEL_COLUMNS = 10_000

#: Most values (lines × columns) of the one-hot encoding of one label file: 2**28, 1 GiB of
#: float32 (the largest TU datasets with labels need about a tenth of it).
MAX_ONE_HOT_VALUES = 1 << 28

#: Version of the processed ``data.pt``; part of the cache key, so other versions are not read.
CACHE_FORMAT = 2

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hipool"


def default_data_root() -> Path:
    """``HIPOOL_DATA``, else hipool's download folder in the user cache."""
    env = os.environ.get("HIPOOL_DATA")
    return Path(env) if env else _cache_home() / "data"


def default_cache_dir() -> Path:
    """``HIPOOL_CACHE``, else ``processed`` in the user cache."""
    env = os.environ.get("HIPOOL_CACHE")
    return Path(env) if env else _cache_home() / "processed"


# ---------------------------------------------------------------------------
# reading the raw files
# ---------------------------------------------------------------------------
_SPACE = r"[ \t]*"
_INT64 = (-(1 << 63), (1 << 63) - 1)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@lru_cache(maxsize=None)
def _table_pattern(floats: bool, columns: int) -> "re.Pattern[str]":
    """A whole file of rows of ``columns`` comma-separated numbers, one row per line."""
    number = (DECIMAL_PATTERN if floats else INT_PATTERN).pattern
    row = f"{_SPACE}{number}(?:{_SPACE},{_SPACE}{number}){{{columns - 1}}}{_SPACE}"
    return re.compile(f"(?:{row}\n)*{row}")


def _read_text(path: Path) -> str:
    """The text of a TU file: ``\\r\\n`` read as ``\\n``, trailing blank lines dropped."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({os_reason(e)})") from None
    text = decode_text(data, path, "TU file")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text.rstrip(" \t\n")


def _read_table(path: Path, floats: bool, columns: Optional[int] = None) -> np.ndarray:
    """The values of a TU file as ``[lines, columns]`` (int64, or float64 for ``floats``);
    ``columns=None`` takes the number of values on the first line.  A ``ValueError`` naming the
    file and line of the first problem otherwise."""
    text = _read_text(path)
    dtype = np.float64 if floats else np.int64
    if not text:
        return np.zeros((0, columns or 1), dtype=dtype)
    fixed = columns is not None
    if columns is None:
        columns = text.split("\n", 1)[0].count(",") + 1
    if _table_pattern(floats, columns).fullmatch(text):  # the quick path: one check of the whole file
        tokens = text.replace(",", " ").split()
        try:
            values = np.array(tokens, dtype=dtype)
        except (OverflowError, ValueError):  # beyond 64 bits, or thousands of (leading zero) digits
            _diagnose(path, text, floats, columns, fixed)
            values = np.array([decimal_int(t) for t in tokens], dtype=np.int64)
        if not floats or bool((np.abs(values) <= _FLOAT32_MAX).all()):
            return values.reshape(-1, columns)
    _diagnose(path, text, floats, columns, fixed)
    raise ValueError(f"{path}: cannot be read as {columns} comma-separated number(s) per line")  # pragma: no cover


def _diagnose(path: Path, text: str, floats: bool, columns: int, fixed: bool) -> None:
    """Raise the ``ValueError`` for the first bad line of ``text``."""
    number = DECIMAL_PATTERN if floats else INT_PATTERN
    kind = "number" if floats else "integer"
    want = f"one {kind}" if columns == 1 else f"{columns} {kind}s separated by commas"
    for i, line in enumerate(text.split("\n"), start=1):
        where = f"{path}:{i}"
        if not line.strip(" \t"):
            raise ValueError(f"{where}: blank line (one row per line; blank lines may only end the file)")
        if "\r" in line:
            raise ValueError(f"{where}: a carriage return (\\r) inside the line; lines end with \\n or \\r\\n")
        parts = [p.strip(" \t") for p in line.split(",")]
        if len(parts) != columns:
            if fixed:
                raise ValueError(f"{where}: expected {want}, got {shown(line)}")
            raise ValueError(
                f"{where}: {len(parts)} value(s), but line 1 has {columns}; every line needs the "
                f"same number of comma-separated values"
            )
        for token in parts:
            if not number.fullmatch(token):
                if floats and token.lower().lstrip("+-") in ("nan", "inf", "infinity"):
                    raise ValueError(
                        f"{where}: {shown(token)} is not a finite number (NaN and infinity are not allowed)"
                    )
                if fixed:
                    raise ValueError(f"{where}: expected {want}, got {shown(line)}")
                raise ValueError(f"{where}: {shown(token)} is not {'a decimal number' if floats else 'an integer'}")
            if floats and not abs(float(token)) <= _FLOAT32_MAX:
                raise ValueError(f"{where}: {shown(token)} is outside the float32 range (±{_FLOAT32_MAX:.4g})")
            if not floats and not _INT64[0] <= decimal_int(token) <= _INT64[1]:
                raise ValueError(f"{where}: {shown(token)} does not fit in a 64-bit integer")


@dataclass
class _Raw:
    """The arrays of a checked TU folder, ids and labels as written (1-based ids)."""

    graph_indicator: np.ndarray  # [N]
    graph_labels: np.ndarray  # [G]
    edges: np.ndarray  # [E, 2]
    node_labels: Optional[np.ndarray]  # [N, L]
    node_attributes: Optional[np.ndarray]  # [N, C]
    edge_labels: Optional[np.ndarray]  # [E, L]
    edge_attributes: Optional[np.ndarray]  # [E, C]
    has_graph_attributes: bool


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def _check_label_width(path: Path, labels: np.ndarray) -> None:
    """Refuse labels whose one-hot encoding (see :data:`MAX_LABEL_COLUMNS`) would be too large,
    naming the line of the label farthest from the others."""
    rows = labels.shape[0]
    limit = min(MAX_LABEL_COLUMNS, MAX_ONE_HOT_VALUES // rows)
    total = 0
    for c in range(labels.shape[1]):
        col = labels[:, c]
        lo, hi = int(col.min()), int(col.max())
        total += hi - lo + 1
        if total > limit:
            middle = float(np.median(col))
            far = hi if hi - middle >= middle - lo else lo
            line = int(np.argmax(col == far)) + 1
            column = f" in column {c + 1}" if labels.shape[1] > 1 else ""
            bound = (
                f"hipool builds at most {MAX_LABEL_COLUMNS} columns"
                if limit == MAX_LABEL_COLUMNS
                else f"for {rows} lines that is {total * rows:,} values, and hipool builds at most "
                f"{MAX_ONE_HOT_VALUES:,} (1 GiB)"
            )
            raise ValueError(
                f"{path}:{line}: label {far}{column} makes the one-hot encoding of the labels "
                f"{total} columns wide (labels from {lo} to {hi}); {bound} — number the labels "
                f"0 .. K-1 with K <= {limit}"
            )


_KINDS = (
    "A",
    "graph_indicator",
    "graph_labels",
    "node_labels",
    "node_attributes",
    "edge_labels",
    "edge_attributes",
    "graph_attributes",
)
_REQUIRED = ("A", "graph_indicator", "graph_labels")


def _raw_files(raw_dir: Path, name: str) -> Dict[str, Path]:
    """The TU files of ``raw_dir`` (every kind in :data:`_KINDS` that is there), each a regular
    file (or a link to one): a ``ValueError`` naming the file when one is missing (a required
    one), or is a folder, a broken link, a pipe or a device (read, a pipe would hang and
    ``/dev/zero`` never end; skipped, the graphs would silently lack what it holds)."""
    files: Dict[str, Path] = {}
    for kind in _KINDS:
        p = raw_dir / f"{name}_{kind}.txt"
        try:
            st = p.stat()
        except FileNotFoundError:
            if os.path.islink(p):
                raise ValueError(
                    f"{p}: a broken symbolic link (to {shown(os.readlink(p))}); remove it or point it at the file"
                ) from None
            if kind in _REQUIRED:
                raise ValueError(
                    f"TU {name}: missing {p} (a TU folder needs {name}_A.txt, "
                    f"{name}_graph_indicator.txt and {name}_graph_labels.txt)"
                ) from None
            continue
        except OSError as e:
            raise ValueError(f"{p}: cannot read it ({os_reason(e)})") from None
        if not stat.S_ISREG(st.st_mode):
            what = (
                "a folder"
                if stat.S_ISDIR(st.st_mode)
                else "a named pipe (FIFO)"
                if stat.S_ISFIFO(st.st_mode)
                else "a device"
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "not a regular file"
            )
            raise ValueError(f"{p}: {what}, not a file; a TU file is a regular text file")
        files[kind] = p
    return files


def _read_raw(raw_dir: Path, name: str) -> _Raw:
    present = _raw_files(raw_dir, name)
    f = {kind: raw_dir / f"{name}_{kind}.txt" for kind in _KINDS}
    path = f["graph_indicator"]
    indicator = _read_table(path, False, 1)[:, 0]
    n = indicator.size
    if n == 0:
        raise ValueError(f"{path}: empty; it needs one line (a graph id) per node")
    if indicator.min() < 1:
        line = int(np.argmax(indicator < 1)) + 1
        raise ValueError(f"{path}:{line}: graph ids start at 1, got {indicator[line - 1]}")
    if indicator.max() > n:  # checked before any difference is taken: no overflow, no huge range
        line = int(np.argmax(indicator > n)) + 1
        raise ValueError(
            f"{path}:{line}: graph id {indicator[line - 1]} is larger than the number of nodes "
            f"({n}); graph ids run 1, 2, 3, ... and every graph needs a node"
        )
    if indicator[0] != 1:
        raise ValueError(
            f"{path}:1: graph ids start at 1, got {indicator[0]} (graphs 1 .. {indicator[0] - 1} would have no nodes)"
        )
    steps = np.diff(indicator)
    bad = np.flatnonzero((steps < 0) | (steps > 1))
    if bad.size:
        line = int(bad[0]) + 2
        a, b = indicator[line - 2], indicator[line - 1]
        if b < a:
            raise ValueError(
                f"{path}:{line}: graph ids must not decrease (nodes of a graph are contiguous): {a} then {b}"
            )
        raise ValueError(
            f"{path}:{line}: graph id jumps from {a} to {b}, so graph {a + 1} has no nodes "
            f"(graph ids run 1, 2, 3, ... without gaps)"
        )
    num_graphs = int(indicator[-1])
    graph_labels = _read_table(f["graph_labels"], False, 1)[:, 0]
    if graph_labels.size != num_graphs:
        raise ValueError(
            f"{f['graph_labels']}: {_lines(graph_labels.size)}, but {path.name} describes "
            f"{num_graphs} graphs; they must agree (one label per graph)"
        )
    per_node = {}
    for kind in ("node_labels", "node_attributes"):
        if kind in present:
            values = _read_table(f[kind], kind == "node_attributes")
            if values.shape[0] != n:
                raise ValueError(
                    f"{f[kind]}: {_lines(values.shape[0])}, but {path.name} has {_lines(n)} "
                    f"(one per node); they must agree"
                )
            if kind == "node_labels":
                _check_label_width(f[kind], values)
            per_node[kind] = values
    edges = _read_table(f["A"], False, 2)
    bad = np.flatnonzero((edges < 1).any(1) | (edges > n).any(1))
    if bad.size:
        line = int(bad[0]) + 1
        raise ValueError(f"{f['A']}:{line}: node id out of range 1..{n}: {edges[line - 1].tolist()}")
    cross = np.flatnonzero(indicator[edges[:, 0] - 1] != indicator[edges[:, 1] - 1])
    if cross.size:
        line = int(cross[0]) + 1
        u, v = edges[line - 1].tolist()
        raise ValueError(f"{f['A']}:{line}: edge {u}, {v} joins graph {indicator[u - 1]} and graph {indicator[v - 1]}")
    per_edge = {}
    for kind in ("edge_labels", "edge_attributes"):
        if kind in present:
            values = _read_table(f[kind], kind == "edge_attributes")
            if values.shape[0] != edges.shape[0]:
                raise ValueError(
                    f"{f[kind]}: {_lines(values.shape[0])}, but {f['A'].name} has {edges.shape[0]} "
                    f"(one per edge); they must agree"
                )
            if kind == "edge_labels" and values.shape[0]:
                _check_label_width(f[kind], values)
            per_edge[kind] = values if values.shape[0] else None
    return _Raw(
        indicator,
        graph_labels,
        edges,
        per_node.get("node_labels"),
        per_node.get("node_attributes"),
        per_edge.get("edge_labels"),
        per_edge.get("edge_attributes"),
        "graph_attributes" in present,
    )


def check_tu_raw(raw_dir: PathLike, name: str) -> None:
    """Raise ``ValueError`` naming the file and line of the first problem in a TU folder
    (see the module docstring for what is checked)."""
    _read_raw(Path(raw_dir), name)


# ---------------------------------------------------------------------------
# the processed graphs (the cache)
# ---------------------------------------------------------------------------
def _one_hot(labels: np.ndarray) -> torch.Tensor:
    """One-hot ``min .. max`` of every label column, side by side (PyG's encoding)."""
    t = torch.from_numpy(labels)
    parts = [torch.nn.functional.one_hot(col - col.min(), int(col.max() - col.min()) + 1) for col in t.unbind(1)]
    return torch.cat(parts, dim=1).to(torch.float32)


def _process(raw: _Raw) -> Dict[str, Any]:
    """The graphs of ``raw`` as flat tensors: what ``data.pt`` holds (see :func:`_check_stored`)."""
    n, num_graphs = raw.graph_indicator.size, raw.graph_labels.size
    batch = torch.from_numpy(raw.graph_indicator - 1)
    edge_index = torch.from_numpy(np.ascontiguousarray(raw.edges.T - 1))
    xs = []
    if raw.node_attributes is not None:
        xs.append(torch.from_numpy(raw.node_attributes).to(torch.float32))
    if raw.node_labels is not None:
        xs.append(_one_hot(raw.node_labels))
    x = torch.cat(xs, dim=1) if xs else torch.zeros(n, 0)
    eas = []
    if raw.edge_attributes is not None:
        eas.append(torch.from_numpy(raw.edge_attributes).to(torch.float32))
    if raw.edge_labels is not None:
        eas.append(_one_hot(raw.edge_labels))
    edge_attr = torch.cat(eas, dim=1) if eas else None
    edge_index, edge_attr = remove_self_loops(edge_index, edge_attr)
    edge_index, edge_attr = coalesce(edge_index, edge_attr, n)  # sorted by source: graph by graph
    if edge_attr is None:
        edge_attr = torch.zeros(edge_index.size(1), 0)
    classes, y = np.unique(raw.graph_labels, return_inverse=True)
    num_nodes = torch.bincount(batch, minlength=num_graphs)
    edge_graph = batch[edge_index[0]]
    start = torch.cumsum(num_nodes, 0) - num_nodes
    return {
        "format": CACHE_FORMAT,
        "x": x,
        "edge_index": edge_index - start[edge_graph],
        "edge_attr": edge_attr,
        "num_edge_attributes": 0 if raw.edge_attributes is None else int(raw.edge_attributes.shape[1]),
        "y": torch.from_numpy(y.reshape(-1).astype(np.int64)),
        "classes": torch.from_numpy(classes),
        "num_nodes": num_nodes,
        "num_edges": torch.bincount(edge_graph, minlength=num_graphs),
        "graph_attributes": raw.has_graph_attributes,
    }


_STORED = {
    "x": (torch.float32, 2),
    "edge_index": (torch.int64, 2),
    "edge_attr": (torch.float32, 2),
    "y": (torch.int64, 1),
    "classes": (torch.int64, 1),
    "num_nodes": (torch.int64, 1),
    "num_edges": (torch.int64, 1),
}


def _check_stored(s: Any) -> None:
    """Raise ``ValueError`` unless ``s`` is what :func:`_process` returns (a cache file may be anything)."""
    keys = set(_STORED) | {"format", "num_edge_attributes", "graph_attributes"}
    if not isinstance(s, dict) or set(s) != keys or s["format"] != CACHE_FORMAT:
        raise ValueError(f"not a hipool TU cache of format {CACHE_FORMAT}")
    for key, (dtype, dim) in _STORED.items():
        check_plain_tensor(key, s[key], dtype, dim)
    x, ei, ea, nodes, edges = s["x"], s["edge_index"], s["edge_attr"], s["num_nodes"], s["num_edges"]
    k = s["num_edge_attributes"]
    if type(k) is not int or not 0 <= k <= ea.size(1) or not isinstance(s["graph_attributes"], bool):
        raise ValueError("bad num_edge_attributes or graph_attributes")
    g = nodes.numel()
    if not (
        g >= 1
        and edges.numel() == g
        and s["y"].numel() == g
        and s["classes"].numel() >= 1
        and bool((nodes >= 1).all())
        and bool((nodes <= x.size(0)).all())
        and bool((edges >= 0).all())
        and bool((edges <= ei.size(-1)).all())
        and int(nodes.sum()) == x.size(0)
        and ei.size(0) == 2
        and int(edges.sum()) == ei.size(1) == ea.size(0)
    ):
        raise ValueError("sizes do not agree")
    y, classes = s["y"], s["classes"]
    if not bool(((y >= 0) & (y < classes.numel())).all()):
        raise ValueError("a graph label out of range")
    if classes.numel() > 1 and not bool((classes[1:] > classes[:-1]).all()):
        raise ValueError("the class values are not sorted and distinct")
    if ei.numel() and not bool(((ei >= 0) & (ei < nodes.repeat_interleave(edges))).all()):
        raise ValueError("a node id out of range")
    if not bool(torch.isfinite(x).all()) or not bool(torch.isfinite(ea).all()):
        raise ValueError("a feature that is not finite")


def _load_stored(path: Path) -> Optional[Dict[str, Any]]:
    """The checked contents of the cache file ``path``, or ``None`` (a bad one deleted, with a warning)."""

    def checked(stored: Dict[str, Any]) -> Dict[str, Any]:
        _check_stored(stored)
        return stored

    return load_cache(path, "TU cache", checked, "processing the raw files again")


def _graphs(s: Dict[str, Any], use_edge_attr: bool) -> List[Data]:
    x, nodes, edges = s["x"], s["num_nodes"].tolist(), s["num_edges"].tolist()
    edge_attr = s["edge_attr"] if use_edge_attr else s["edge_attr"][:, s["num_edge_attributes"] :]
    has_x, has_edge_attr = x.size(1) > 0, edge_attr.size(1) > 0
    xs, eis, eas = x.split(nodes), s["edge_index"].split(edges, dim=1), edge_attr.split(edges)
    graphs = []
    for i, n in enumerate(nodes):
        g = Data(
            x=xs[i] if has_x else None,
            edge_index=eis[i],
            edge_attr=eas[i] if has_edge_attr else None,
            y=s["y"][i : i + 1],
        )
        if not has_x:
            g.num_nodes = n
        graphs.append(g)
    return graphs


def _fingerprint(raw_dir: Path, name: str) -> str:
    """The cache key of the TU files of ``raw_dir``: their names, sizes and modification times
    (checked to be regular files first, see :func:`_raw_files`)."""
    h = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    for p in _raw_files(raw_dir, name).values():
        try:
            st = p.stat()
        except OSError as e:
            raise ValueError(f"{p}: cannot read it ({os_reason(e)})") from None
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _download(raw_dir: Path, name: str) -> None:
    """PyG's download of ``name`` from the TU server, into a temporary folder renamed to ``raw_dir``."""
    from types import SimpleNamespace

    from torch_geometric.datasets import TUDataset

    raw_dir.parent.mkdir(parents=True, exist_ok=True)  # hipool's own download folder
    tmp = Path(tempfile.mkdtemp(dir=raw_dir.parent, prefix=".raw.", suffix=".tmp"))
    try:
        TUDataset.download(
            SimpleNamespace(
                name=name, cleaned=False, url=TUDataset.url, cleaned_url=TUDataset.cleaned_url, raw_dir=str(tmp)
            )
        )
        try:
            os.replace(tmp, raw_dir)
        except OSError:
            if not raw_dir.is_dir():  # else another process finished the same download first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------
def degree_features(graphs: List[Data], cap: int = DEFAULT_DEGREE_CAP) -> List[Data]:
    """Degree features for graphs without any (see the module docstring); returns new objects."""
    degs = [degree(g.edge_index[0], g.num_nodes, dtype=torch.long) for g in graphs]
    max_deg = max((int(d.max()) for d in degs if d.numel()), default=0)
    width = (max_deg if max_deg <= cap else cap) + 1
    out = []
    for g, d in zip(graphs, degs):
        x = torch.nn.functional.one_hot(d.clamp(max=width - 1), width).float()
        if max_deg > cap:
            x = torch.cat([x, torch.log1p(d.float()).view(-1, 1)], dim=1)
        g = g.clone()
        g.x = x
        out.append(g)
    return out


def load_tu(
    name: str,
    data_root: Optional[PathLike] = None,
    *,
    cache_dir: Optional[PathLike] = None,
    degree_cap: int = DEFAULT_DEGREE_CAP,
    use_edge_attr: bool = False,
) -> GraphDataset:
    """A TU dataset by name, as a :class:`~hipool.data.base.GraphDataset` (see the module docstring).

    Args:
        name: the TU name (``MUTAG``, ``PROTEINS``, ``IMDB-BINARY``, ...; case as on the TU site):
            letters, digits, ``_``, ``-`` and ``.``, at most 100 characters.
        data_root: folder holding ``<name>/raw/``; default :func:`default_data_root`.
        cache_dir: where processed files go; default :func:`default_cache_dir`.
        degree_cap: largest degree one-hot encoded for datasets without node features.
        use_edge_attr: put the continuous edge attributes in front of the one-hot edge labels
            in ``edge_attr`` (without it, ``edge_attr`` holds the edge labels only).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"TU: {shown(name)} is not a TU dataset name (letters, digits, '_', '-' and '.', "
            f"not starting with '.', e.g. 'MUTAG')"
        )
    root = as_path(data_root, f"TU {name}: data_root") if data_root is not None else default_data_root()
    cache = as_path(cache_dir, f"TU {name}: cache_dir") if cache_dir is not None else default_cache_dir()
    degree_cap = check_int(f"TU {name}: degree_cap", degree_cap, 0)
    if not isinstance(use_edge_attr, bool):
        raise ValueError(f"TU {name}: use_edge_attr must be True or False, got {shown(use_edge_attr)}")
    raw_dir = root / name / "raw"
    if path_kind(raw_dir) != "folder":
        if data_root is not None and root != default_data_root():
            raise ValueError(
                f"TU {name}: no raw files at {raw_dir}; give the folder that holds "
                f"'{name}/raw/', or leave out --data-root to download it "
                f"(into {default_data_root()})"
            )
        try:  # PyG's own download code, from the TU server
            _download(raw_dir, name)
        except Exception as e:  # no network, or a name the TU server does not know
            raise ValueError(
                f"TU {name}: not at {raw_dir} and the download failed ({type(e).__name__}: "
                f"{e}); check the name against https://chrsmrrs.github.io/datasets/docs/datasets/ "
                f"or give --data-root"
            ) from None
        if not raw_dir.is_dir():
            raise ValueError(f"TU {name}: the download left no raw folder at {raw_dir}")
    path = cache / "TU" / name / _fingerprint(raw_dir, name) / "data.pt"
    try:
        remove_stale_temps(path.parent)  # what a killed writer left
        stored = _load_stored(path)
    except OSError:  # a cache folder that cannot even be looked at (a name too long, ...): writing says so
        stored = None
    if stored is None:
        stored = _process(_read_raw(raw_dir, name))
        try:
            atomic_torch_save(stored, path)
        except OSError as e:
            warnings.warn(
                f"TU {name}: the processed graphs were not cached ({describe_os_error(e)}); the raw "
                f"files will be read again next time",
                stacklevel=2,
            )
    graphs = _graphs(stored, use_edge_attr)
    notes: List[str] = []
    if graphs[0].x is None:
        graphs = degree_features(graphs, degree_cap)
        notes.append(f"no node labels or attributes: degree features ({graphs[0].x.size(1)} columns, cap {degree_cap})")
    if stored["graph_attributes"]:
        notes.append(f"{name}_graph_attributes.txt not read: hipool classifies by {name}_graph_labels.txt")
    classes = stored["classes"].tolist()
    if len(classes) == 1:  # as the other loaders say: it loads, but no model can learn from it
        notes.append(f"a single class ({classes[0]}): nothing to tell apart")
    return GraphDataset(
        name=name,
        graphs=graphs,
        num_features=graphs[0].x.size(1),
        num_classes=len(classes),
        class_names=[str(v) for v in classes],
        source=str(raw_dir),
        notes=notes,
    )
