"""Netlists as a dataset: one netlist file, or a folder of them with their labels.

:func:`read_netlist` picks the reader by the file's ending (:data:`READERS`, case-insensitive):
``.bench``, ``.blif``, ``.aag``, ``.aig`` for gate-level netlists, and ``.sp``, ``.spi``,
``.spice``, ``.cir``, ``.ckt``, ``.net``, ``.cdl``, ``.scs``, ``.netlist`` for analog ones,
where the content decides between SPICE and Spectre (:func:`detect_analog_format`: AnalogGenie
writes Spectre into ``.cir`` files).  :func:`load_netlists` reads

* **a file**: a dataset of one graph, without a label (every graph is class 0, and the
  notes say so): what ``hipool data summary FILE`` looks at;
* **a folder**: every netlist file in it (not in sub-folders; hidden files and other endings
  are left out and named in the notes) and its ``labels.csv``, with the columns ``file`` and
  ``label`` (class numbers ``0, 1, ...`` or class names) and one row per netlist file, read
  as the labels of the user's own graph folders (:func:`hipool.data.own.load_graph_folder`).

Every graph is the gate-level graph of :mod:`hipool.data.netlists.gates` or the device-net
graph of :mod:`hipool.data.netlists.analog` (its ``graph_id`` the file name); one folder
holds one kind (their node features differ: mixing them is an error).  ``level_labels`` has
the same columns in every graph: the deepest nesting of subcircuit instances in the dataset
(column ``c`` groups by the first ``D - c`` instances, so the last column holds the top's
instances in every design).  ``load_dataset(PATH)``, ``hipool data summary PATH`` and
``--dataset PATH`` read netlists through this module; ``hipool predict`` reads single files
through :func:`read_graph`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ...io import PathLike
from ..base import GraphDataset, as_path, path_kind
from . import analog, gates
from .aiger import read_aiger
from .analog import AnalogNetlist
from .bench import read_bench
from .blif import read_blif
from .gates import GateNetlist, NetlistError

#: What a reader returns: a gate-level or an analog (device-net) netlist.
Netlist = Union[GateNetlist, AnalogNetlist]


#: How many bytes of a file :func:`detect_analog_format` looks at.
DETECT_BYTES = 1 << 16
_SPECTRE_LINE = re.compile(r"^\s*(?:global\s|include\s+\"|ahdl_include\s|[\w!\\]+\s*\([^)]*\)\s*[A-Za-z_]\w*)")
_TO_SPECTRE = re.compile(r"^\s*simulator\s+lang\s*=\s*spectre\b", re.IGNORECASE)
_SPECTRE_ONLY = re.compile(r"^\s*(?:subckt\s|inline\s+subckt\s|ends\b|parameters\s|model\s+\S+\s+\w+)")
_SPICE_LINE = re.compile(r"^\s*(?:\.[a-z]+\b|[rclkdqmjzswtouvefghbxi]\S*\s+[^(=\s]+\s+[^(=\s]+)", re.IGNORECASE)


def detect_analog_format(text: str) -> str:
    """``"spectre"`` or ``"spice"``: the dialect of an analog netlist's text, for file endings
    both use (``.sp .cir .net .scs .ckt ...``).  The file's first lines vote: a
    ``simulator lang=spectre`` line decides at once, and so does ``lang=spice`` unless a later
    line switches back to Spectre (then it is a Spectre file with a SPICE section); otherwise
    statements only Spectre has (``subckt``, ``ends``, ``parameters``, ``model name type``
    without a dot) count 4 for Spectre, a line in Spectre's instance syntax (``M0 (d g s b)
    nmos4``) 2, dot cards and element lines with bare nets 2 for SPICE; ``//`` comments count 1
    for Spectre, ``*`` comments 1 for SPICE.  A tie is SPICE."""
    spectre = spice = 0
    lines = text.splitlines()[:2000]
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        low = stripped.lower()
        if low.startswith("simulator") and "lang" in low:
            if "spectre" in low.split("lang", 1)[1]:
                return "spectre"
            # lang=spice: SPICE text, unless the file switches back (a Spectre file with a SPICE section)
            return "spectre" if any(_TO_SPECTRE.match(later) for later in lines) else "spice"
        if stripped.startswith("//"):
            spectre += 1
        elif stripped.startswith("*") or stripped.startswith("+"):
            spice += 1
        elif _SPECTRE_ONLY.match(stripped):
            spectre += 4  # statements SPICE does not have (its are dot cards)
        elif _SPECTRE_LINE.match(stripped):
            spectre += 2
        elif _SPICE_LINE.match(stripped):
            spice += 2
    return "spectre" if spectre > spice else "spice"


#: Largest ports file read beside a netlist (:func:`port_names`).
MAX_PORT_BYTES = 1 << 20


def port_names(path: Path) -> List[str]:
    """The design's pins from a ports file beside it, AnalogGenie's convention: ``Port<id>.txt``
    next to ``<id>.cir`` (or ``<id>_full.cir``), the names separated by blanks; ``[]`` when
    there is none (or it is not a regular file, or larger than :data:`MAX_PORT_BYTES`)."""
    path = Path(path)
    stem = path.stem[: -len("_full")] if path.stem.endswith("_full") else path.stem
    sidecar = path.parent / f"Port{stem}.txt"
    try:
        if not sidecar.is_file() or sidecar.stat().st_size > MAX_PORT_BYTES:
            return []
        return sidecar.read_bytes().decode("utf-8", errors="replace").split()
    except OSError:
        return []


def read_analog(path: Path) -> AnalogNetlist:
    """A SPICE or Spectre netlist, whatever its ending (:func:`detect_analog_format` decides by
    its content), flattened; the pins a ports file beside it names (:func:`port_names`) are the
    design's ports (``is_port``)."""
    from .analog import flatten
    from .spectre import parse_spectre
    from .spice import parse_spice

    head = gates.read_netlist_bytes(path, "netlist")[:DETECT_BYTES].decode("utf-8", errors="replace")
    design = parse_spectre(path) if detect_analog_format(head) == "spectre" else parse_spice(path)
    ports = port_names(path)
    if ports:
        design.ports = ports if design.dialect == "spectre" else [p.lower() for p in ports]
    return flatten(design)


#: The reader of each netlist file ending (analog endings: the content picks SPICE or Spectre).
READERS: Dict[str, Callable[[Path], Netlist]] = {
    ".bench": read_bench,
    ".blif": read_blif,
    ".aag": read_aiger,
    ".aig": read_aiger,
    **{e: read_analog for e in (".sp", ".spi", ".spice", ".cir", ".ckt", ".net", ".cdl", ".scs", ".netlist")},
}


def netlist_depth(netlist: Netlist) -> int:
    """The deepest nesting of subcircuit instances in a netlist of either kind."""
    return analog.analog_depth(netlist) if isinstance(netlist, AnalogNetlist) else gates.instance_depth(netlist)


def netlist_to_data(netlist: Netlist, depth: Optional[int] = None) -> Data:
    """The graph of a netlist of either kind (its module's ``to_data``)."""
    return analog.to_data(netlist, depth) if isinstance(netlist, AnalogNetlist) else gates.to_data(netlist, depth)


def read_graph(path: PathLike, depth: Optional[int] = None) -> Data:
    """The graph of one netlist file (its ``graph_id`` the file name): :func:`read_netlist`, then
    :func:`netlist_to_data` with ``level_labels`` ``depth`` columns wide (default its own nesting)."""
    data = netlist_to_data(read_netlist(path), depth)
    data.graph_id = Path(path).name
    return data


def is_netlist(path: Path) -> bool:
    """Whether ``path``'s ending is one of a netlist format hipool reads."""
    return path.suffix.lower() in READERS


def read_netlist(path: PathLike) -> Netlist:
    """The netlist of a file, read by the reader of its ending (:data:`READERS`)."""
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
    analog_files = [n for n, nl in zip(names, netlists) if isinstance(nl, AnalogNetlist)]
    if analog_files and len(analog_files) < len(netlists):
        gate_file = next(n for n, nl in zip(names, netlists) if not isinstance(nl, AnalogNetlist))
        raise ValueError(
            f"{path}: analog netlists ({analog_files[0]}, ...) and gate-level ones ({gate_file}, ...) in one "
            f"folder: their graphs have different node features; keep them in separate datasets"
        )
    depth = max(netlist_depth(nl) for nl in netlists)
    graphs = []
    for name, nl in zip(names, netlists):
        data = netlist_to_data(nl, depth)
        data.graph_id = name
        graphs.append(data)
    if labels is None:
        ys, num_classes, class_names = [0] * len(graphs), 1, None
    else:
        ys, num_classes, class_names, label_notes = classes(labels)
        notes += label_notes
    for data, y in zip(graphs, ys):
        data.y = torch.tensor([y], dtype=torch.long)
    if analog_files:
        num_features = analog.NUM_ANALOG_FEATURES
        notes.append(f"device-net graphs: x {num_features} columns, edge_attr {len(analog.ANALOG_ROLES)} columns")
    else:
        num_features = gates.NUM_GATE_FEATURES
        notes.append(f"gate-level graphs: x {num_features} columns, edge_attr {len(gates.EDGE_FEATURES)} columns")
    level_names = tuple(f"instances at depth {depth - c}" for c in range(depth)) if depth else None
    return GraphDataset(
        name=path.stem if kind == "file" else path.name,
        graphs=graphs,
        num_features=num_features,
        num_classes=num_classes,
        class_names=class_names,
        source=os.path.abspath(path),
        notes=notes,
        level_names=level_names,
    )
