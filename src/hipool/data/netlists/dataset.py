"""Netlists as a dataset: one netlist file, or a folder of them with their labels.

:func:`read_netlist` picks the reader by the file's ending (:data:`READERS`: ``.bench``,
``.blif``, ``.aag``, ``.aig``; case-insensitive).  :func:`load_netlists` reads

* **a file**: a dataset of one graph, without a label (every graph is class 0, and the
  notes say so): what ``hipool data summary FILE`` looks at;
* **a folder**: every netlist file in it (not in sub-folders; hidden files and other endings
  are left out and named in the notes) and its ``labels.csv``, with the columns ``file`` and
  ``label`` (class numbers ``0, 1, ...`` or class names) and one row per netlist file, read
  as the labels of the user's own graph folders (:func:`hipool.data.own.load_graph_folder`).

Every graph is the gate-level graph of :mod:`hipool.data.netlists.gates` (its ``graph_id``
the file name).  ``level_labels`` has the same columns in every graph: the deepest nesting
of subcircuit instances in the dataset (column ``c`` groups by the first ``D - c`` instances,
so the last column holds the top's instances in every design).  ``load_dataset(PATH)``,
``hipool data summary PATH`` and ``--dataset PATH`` read netlists through this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, List

import torch
from tqdm.auto import tqdm

from ...io import PathLike
from ..base import GraphDataset, as_path, path_kind
from .aiger import read_aiger
from .bench import read_bench
from .blif import read_blif
from .gates import EDGE_FEATURES, NUM_GATE_FEATURES, GateNetlist, NetlistError, instance_depth, to_data

#: The reader of each netlist file ending.
READERS: Dict[str, Callable[[Path], GateNetlist]] = {
    ".bench": read_bench,
    ".blif": read_blif,
    ".aag": read_aiger,
    ".aig": read_aiger,
}


def is_netlist(path: Path) -> bool:
    """Whether ``path``'s ending is one of a netlist format hipool reads."""
    return path.suffix.lower() in READERS


def read_netlist(path: PathLike) -> GateNetlist:
    """The :class:`~hipool.data.netlists.gates.GateNetlist` of a netlist file, by its ending."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise NetlistError(f"{path}: not a netlist file hipool reads (endings: {', '.join(READERS)})")
    return reader(path)


def load_netlists(path: PathLike, *, progress: bool = False) -> GraphDataset:
    """A netlist file or a folder of netlists and their ``labels.csv`` (see the module docstring)."""
    from ..own.folder import folder_labels
    from ..own.labels import classes

    path = as_path(path, "load_netlists: path")
    kind = path_kind(path)
    if kind == "file":
        netlists, labels, notes = [read_netlist(path)], None, ["one netlist, no labels: every graph is class 0"]
        names = [path.name]
    elif kind == "folder":
        files: Dict[str, Path] = {}
        others: List[str] = []
        try:
            entries = sorted(path.iterdir(), key=lambda p: p.name)
        except OSError as e:
            raise ValueError(f"{path}: cannot list it ({e.strerror or e})") from None
        csv_path = path / "labels.csv"
        for p in entries:
            if p.name.startswith(".") or p == csv_path:
                continue
            if p.is_file() and is_netlist(p):
                files[p.name] = p
            else:
                others.append(p.name + ("/" if p.is_dir() else ""))
        if not files:
            raise ValueError(f"{path}: no netlist files (endings read: {', '.join(READERS)})")
        rows = folder_labels(csv_path, files, path, what="netlist")
        names = list(files)
        netlists = [
            read_netlist(files[f])
            for f in tqdm(names, desc=f"reading {path.name}", disable=not progress, leave=False, unit="netlist")
        ]
        labels = [rows[f] for f in names]
        notes = [f"ignored entries that are not netlist files: {', '.join(others[:5])}"] if others else []
    else:
        raise ValueError(f"{path}: {'no such file or folder' if kind == 'missing' else 'not a file or folder'}")
    depth = max(instance_depth(nl) for nl in netlists)
    graphs = []
    for name, nl in zip(names, netlists):
        data = to_data(nl, depth)
        data.graph_id = name
        graphs.append(data)
    if labels is None:
        ys, num_classes, class_names = [0] * len(graphs), 1, None
    else:
        ys, num_classes, class_names, label_notes = classes(labels)
        notes += label_notes
    for data, y in zip(graphs, ys):
        data.y = torch.tensor([y], dtype=torch.long)
    notes.append(f"gate-level graphs: x {NUM_GATE_FEATURES} columns, edge_attr {len(EDGE_FEATURES)} columns")
    level_names = tuple(f"instances at depth {depth - c}" for c in range(depth)) if depth else None
    return GraphDataset(
        name=path.stem if kind == "file" else path.name,
        graphs=graphs,
        num_features=NUM_GATE_FEATURES,
        num_classes=num_classes,
        class_names=class_names,
        source=os.path.abspath(path),
        notes=notes,
        level_names=level_names,
    )
