"""TU graph-classification benchmarks (Morris et al. 2020) through PyG's ``TUDataset``.

``load_tu("PROTEINS")`` reads ``<data root>/PROTEINS/raw/PROTEINS_*.txt`` when it is there
and otherwise downloads it with PyG's own code (from the TU server) into hipool's
download folder.  The data root is ``data_root=`` / ``--data-root``, else the
``HIPOOL_DATA`` environment variable, else the download folder
(``$XDG_CACHE_HOME/hipool/data``, default ``~/.cache/hipool/data``).

**Nothing is written into a data root that already holds the raw files**: PyG's
processed ``data.pt`` goes to ``<cache>/TU/<name>/<fingerprint of the raw files>/``
(``cache_dir=``, else ``HIPOOL_CACHE``, else ``~/.cache/hipool/processed``), so a
changed raw folder is processed again and a read-only data root works.

Before PyG processes a raw folder, hipool checks it and names the file and line of
what is wrong (PyG would fail deep inside torch or, worse, build wrong graphs):
a line that is not integers, node counts that disagree between
``graph_indicator`` and ``node_labels``/``node_attributes``, graph counts that
disagree between ``graph_indicator`` and ``graph_labels``, an unsorted
``graph_indicator``, node ids out of range in ``A``, and edges joining two graphs.

**Node features, as the field builds them.**  Node labels one-hot, plus the
continuous node attributes where the dataset has them (PyG's ``use_node_attr=True``:
attributes first, then the one-hot labels).  Datasets without node labels or
attributes (the social ones: IMDB-BINARY, IMDB-MULTI, REDDIT-BINARY, COLLAB, ...)
get degree features: one-hot degree ``0 .. max_degree`` when the largest degree is
at most ``degree_cap`` (default 150, so IMDB gets one-hot as in the GIN and Errica
et al. protocols), else one-hot ``min(degree, degree_cap)`` plus ``log(1 + degree)``
(REDDIT's hubs have degree in the thousands).
Graph labels are mapped to ``0 .. C-1`` in sorted order (``-1/1`` → ``0/1``), as
PyG does.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import TUDataset
from torch_geometric.utils import degree

from .base import GraphDataset

PathLike = Union[str, os.PathLike]

#: The TU datasets the tests check against their published statistics (any TU name loads).
#: name: (graphs, classes)
TU_STATS: Dict[str, tuple] = {
    "MUTAG": (188, 2), "PROTEINS": (1113, 2), "ENZYMES": (600, 6), "NCI1": (4110, 2),
    "DD": (1178, 2), "PTC_MR": (344, 2), "AIDS": (2000, 2), "IMDB-BINARY": (1000, 2),
    "IMDB-MULTI": (1500, 3), "REDDIT-BINARY": (2000, 2),
}

DEFAULT_DEGREE_CAP = 150


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


class _TUDataset(TUDataset):
    """PyG's TUDataset with the raw and processed folders placed apart."""

    def __init__(self, raw_dir: Path, processed_dir: Path, name: str, **kwargs):
        self._raw = str(raw_dir)
        self._processed = str(processed_dir)
        super().__init__(str(processed_dir), name, **kwargs)

    @property
    def raw_dir(self) -> str:
        return self._raw

    @property
    def processed_dir(self) -> str:
        return self._processed


# ---------------------------------------------------------------------------
# checks of the raw files
# ---------------------------------------------------------------------------
def _read_ints(path: Path, columns: int) -> np.ndarray:
    """Integers of a TU text file, ``[lines, columns]``; a clear error at the first bad line."""
    text = path.read_text()
    tokens = text.replace(",", " ").split()
    try:
        values = np.array(tokens, dtype=np.int64)
    except ValueError:
        values = None
    lines = text.splitlines()
    if values is not None and values.size == len(lines) * columns:
        return values.reshape(-1, columns)
    for number, line in enumerate(lines, start=1):
        parts = line.replace(",", " ").split()
        if len(parts) != columns or not all(p.lstrip("-").isdigit() for p in parts):
            want = "one integer" if columns == 1 else f"{columns} integers separated by commas"
            raise ValueError(f"{path}:{number}: expected {want}, got {line.strip()!r}")
    raise ValueError(f"{path}: could not read it as {columns} integer column(s)")


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def check_tu_raw(raw_dir: PathLike, name: str) -> None:
    """Raise ``ValueError`` naming the file and line of the first inconsistency in a TU folder."""
    raw = Path(raw_dir)
    f = {kind: raw / f"{name}_{kind}.txt" for kind in
         ("A", "graph_indicator", "graph_labels", "node_labels", "node_attributes", "edge_labels")}
    for kind in ("A", "graph_indicator", "graph_labels"):
        if not f[kind].is_file():
            raise ValueError(f"TU {name}: missing {f[kind]} (a TU folder needs {name}_A.txt, "
                             f"{name}_graph_indicator.txt and {name}_graph_labels.txt)")
    indicator = _read_ints(f["graph_indicator"], 1).ravel()
    n = indicator.size
    if n == 0:
        raise ValueError(f"{f['graph_indicator']}: empty; it needs one line (a graph id) per node")
    if indicator.min() < 1:
        line = int(np.argmax(indicator < 1)) + 1
        raise ValueError(f"{f['graph_indicator']}:{line}: graph ids start at 1, got {indicator[line - 1]}")
    drops = np.flatnonzero(indicator[1:] < indicator[:-1])
    if drops.size:
        line = int(drops[0]) + 2
        raise ValueError(f"{f['graph_indicator']}:{line}: graph ids must not decrease (nodes of a graph "
                         f"are contiguous): {indicator[line - 2]} then {indicator[line - 1]}")
    num_graphs = int(indicator.max())
    missing = np.setdiff1d(np.arange(1, num_graphs + 1), indicator)
    if missing.size:
        raise ValueError(f"{f['graph_indicator']}: graph {int(missing[0])} has no nodes "
                         f"({missing.size} graph id(s) between 1 and {num_graphs} never appear)")
    labels = _count_lines(f["graph_labels"])
    if labels != num_graphs:
        raise ValueError(f"{f['graph_labels']}: {labels} lines, but {f['graph_indicator'].name} "
                         f"describes {num_graphs} graphs; they must agree (one label per graph)")
    for kind in ("node_labels", "node_attributes"):
        if f[kind].is_file():
            count = _count_lines(f[kind])
            if count != n:
                raise ValueError(f"{f[kind]}: {count} lines, but {f['graph_indicator'].name} has {n} "
                                 f"lines (one per node); they must agree")
    edges = _read_ints(f["A"], 2)
    bad = np.flatnonzero((edges < 1).any(1) | (edges > n).any(1))
    if bad.size:
        line = int(bad[0]) + 1
        raise ValueError(f"{f['A']}:{line}: node id out of range 1..{n}: {edges[line - 1].tolist()}")
    cross = np.flatnonzero(indicator[edges[:, 0] - 1] != indicator[edges[:, 1] - 1])
    if cross.size:
        line = int(cross[0]) + 1
        u, v = edges[line - 1].tolist()
        raise ValueError(f"{f['A']}:{line}: edge {u}, {v} joins graph {indicator[u - 1]} and graph "
                         f"{indicator[v - 1]}")
    if f["edge_labels"].is_file():
        count = _count_lines(f["edge_labels"])
        if count != edges.shape[0]:
            raise ValueError(f"{f['edge_labels']}: {count} lines, but {f['A'].name} has {edges.shape[0]} "
                             f"(one per edge); they must agree")


def _fingerprint(raw_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(raw_dir.glob("*.txt")):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


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


def load_tu(name: str, data_root: Optional[PathLike] = None, *, cache_dir: Optional[PathLike] = None,
            degree_cap: int = DEFAULT_DEGREE_CAP, use_edge_attr: bool = False) -> GraphDataset:
    """A TU dataset by name, as a :class:`~hipool.data.base.GraphDataset` (see the module docstring).

    Args:
        name: the TU name (``MUTAG``, ``PROTEINS``, ``IMDB-BINARY``, ...; case as on the TU site).
        data_root: folder holding ``<name>/raw/``; default :func:`default_data_root`.
        cache_dir: where processed files go; default :func:`default_cache_dir`.
        degree_cap: largest degree one-hot encoded for datasets without node features.
        use_edge_attr: keep the edge labels/attributes as ``edge_attr``.
    """
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"TU: {name!r} is not a TU dataset name")
    root = Path(data_root) if data_root is not None else default_data_root()
    raw_dir = root / name / "raw"
    if not raw_dir.is_dir():
        if data_root is not None and root != default_data_root():
            raise ValueError(f"TU {name}: no raw files at {raw_dir}; give the folder that holds "
                             f"'{name}/raw/', or leave out --data-root to download it "
                             f"(into {default_data_root()})")
        raw_dir.parent.mkdir(parents=True, exist_ok=True)   # hipool's own download folder
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    processed = cache / "TU" / name / (_fingerprint(raw_dir) if raw_dir.is_dir() else "download")
    if raw_dir.is_dir() and not (processed / "data.pt").is_file():
        # Only before PyG processes these raw files: the fingerprint changes with them.
        check_tu_raw(raw_dir, name)
    kwargs = dict(use_node_attr=True, use_edge_attr=use_edge_attr)
    if raw_dir.is_dir():
        ds = _TUDataset(raw_dir, processed, name, **kwargs)
    else:
        try:  # PyG's own download code, from the TU server
            ds = _TUDataset(raw_dir, processed, name, **kwargs)
        except Exception as e:  # no network, or a name the TU server does not know
            raise ValueError(f"TU {name}: not at {raw_dir} and the download failed ({type(e).__name__}: "
                             f"{e}); check the name against https://chrsmrrs.github.io/datasets/docs/datasets/ "
                             f"or give --data-root") from None
    if not raw_dir.is_dir():
        raise ValueError(f"TU {name}: the download left no raw folder at {raw_dir}")
    graphs = [ds[i] for i in range(len(ds))]
    notes: List[str] = []
    if graphs[0].x is None or graphs[0].x.size(1) == 0:
        graphs = degree_features(graphs, degree_cap)
        notes.append(f"no node labels or attributes: degree features ({graphs[0].x.size(1)} columns, "
                     f"cap {degree_cap})")
    for g in graphs:
        g.y = g.y.view(-1)[:1].long()
    num_classes = int(max(int(g.y) for g in graphs)) + 1
    # PyG maps the labels to 0..C-1 in sorted order; keep the originals as class names.
    original = np.unique(_read_ints(raw_dir / f"{name}_graph_labels.txt", 1))
    class_names = [str(v) for v in original] if original.size == num_classes else None
    return GraphDataset(name=name, graphs=graphs, num_features=graphs[0].x.size(1),
                        num_classes=num_classes, class_names=class_names, source=str(raw_dir), notes=notes)
