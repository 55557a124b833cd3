"""A folder of graph files with a labels CSV (:func:`load_graph_folder`): which files are
graphs, the labels CSV, and the reader for each file ending."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from tqdm.auto import tqdm

from ...io import PathLike
from ..base import GraphDataset, as_path, csv_rows, path_kind
from . import limits  # the constants (limits.MAX_CSV_FIELD, ...), read at call time
from .common import _brief, _check_name, _natural_key, _read_text, _show
from .dataset import _dataset
from .edgelist import _read_edge_list
from .graph import _LEVEL_KEY, _Graph
from .graphml import _read_graphml
from .labels import _csv_label
from .nodelink import _read_node_link

#: File stems never read as graphs, whatever their ending.
_NOT_GRAPHS = ("README", "LICENSE", "LICENCE", "NOTES", "CHANGELOG")


def _read_file(path: Path, wanted) -> _Graph:
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        return _read_graphml(path, wanted)
    if suffix == ".json":
        return _read_node_link(path, wanted)
    if wanted not in (None, "degree"):
        raise ValueError(f"{path}: node_features={list(wanted)!r} asks for node attributes, but an edge list has none")
    return _read_edge_list(path)


def _why_not_read(folder: Path, fname: str, csv_path: Path) -> str:
    """Why the labels CSV's ``fname`` is not among the graph files read from ``folder``."""
    if "\0" in fname:
        return f"{_brief(fname)} holds a NUL character; not a file name"
    if "/" in fname or "\\" in fname or fname in (".", ".."):
        return f"{_brief(fname)} is a path; name a file of the folder itself (sub-folders are not read)"
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
    if p.suffix.lower() not in limits.GRAPH_SUFFIXES:
        return f"{_brief(fname)} is not a graph file (endings read: {', '.join(limits.GRAPH_SUFFIXES)})"
    if fname.startswith("."):
        return f"{_brief(fname)} is hidden (a name starting with '.'); hidden files are not read"
    return f"{_brief(fname)} is not read as a graph ({', '.join(_NOT_GRAPHS)} files never are, whatever their ending)"


def _read_labels(csv_path: Path, files: Dict[str, Path], folder: Path) -> Dict[str, Tuple[Any, str]]:
    """``file name -> (label, "labels.csv line k")`` after checking every row."""
    rows: Dict[str, Tuple[Any, str]] = {}
    first_line: Dict[str, int] = {}
    header: Optional[List[str]] = None
    fcol = lcol = 0
    for line, row in csv_rows(_read_text(csv_path), csv_path, limits.MAX_CSV_FIELD):
        where = f"{csv_path}:{line}"
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            for col in ("file", "label"):
                if header.count(col) != 1:
                    how = "does not name" if col not in header else f"names {header.count(col)} times"
                    raise ValueError(
                        f"{where}: the header {how} the column {col!r}; it must name the columns "
                        f"'file' and 'label' once each, got {_brief(row)}"
                    )
            fcol, lcol = header.index("file"), header.index("label")
            continue
        if any(cell.strip() for cell in row[len(header) :]):
            raise ValueError(
                f"{where}: {len(row)} fields but the header names {len(header)} columns "
                f"({_brief(','.join(header))}); quote a file name or label that holds a comma"
            )
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


def folder_labels(
    csv_path: Path, files: Dict[str, Path], folder: Path, what: str = "graph file"
) -> Dict[str, Tuple[Any, str]]:
    """The labels of a folder's ``files`` (name -> path) from its labels CSV: ``file name ->
    (label, "labels.csv:line")``.  A missing CSV, a bad row (:func:`_read_labels`) or a file
    without a row is a ``ValueError`` naming it; ``what`` is what the files are called in it
    (``"graph file"``, ``"netlist"``).  The user's own graph folders and folders of netlists
    (:mod:`hipool.data.netlists.dataset`) read their labels here."""
    kind = path_kind(csv_path)
    if kind != "file":
        raise ValueError(
            f"{csv_path}: "
            + (
                "labels file not found"
                if kind == "missing"
                else "a folder, not a labels file"
                if kind == "folder"
                else "not a regular file (a pipe or a device), not a labels file"
            )
            + f" (a CSV with the columns file,label, one row per {what})"
        )
    rows = _read_labels(csv_path, files, folder)
    unlabelled = [f for f in files if f not in rows]
    if unlabelled:
        raise ValueError(
            f"{folder}: {len(unlabelled)} {what}s have no row in {csv_path.name}: "
            f"{_show(unlabelled)} (add them, or move them out of the folder)"
        )
    return rows


def _wanted_features(node_features: Any) -> Union[None, str, List[str]]:
    """``node_features`` checked: None, ``"degree"``, or a list of distinct attribute names that
    are not level attributes (those are the known hierarchy, never features)."""
    if node_features is None or node_features == "degree":
        return node_features
    if isinstance(node_features, (str, bytes)) or not isinstance(node_features, (list, tuple)):
        raise ValueError(
            f"node_features must be None, 'degree' or a list of attribute names, got {_brief(node_features)}"
        )
    names = list(node_features)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"node_features: {_brief(name)} is not an attribute name (a string)")
        if _LEVEL_KEY.fullmatch(name):
            raise ValueError(
                f"node_features: {name!r} is a level attribute (the known hierarchy, level_labels), never a feature"
            )
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
    """Read a folder of graph files and their labels (formats: see :mod:`hipool.data.own`).

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
            elif p.suffix.lower() in limits.GRAPH_SUFFIXES:
                files[p.name] = p
            else:
                others.append(p.name)
    except OSError as e:
        raise ValueError(f"{folder}: cannot list it ({e.strerror or e})") from None
    if not files:
        raise ValueError(f"{folder}: no graph files (endings read: {', '.join(limits.GRAPH_SUFFIXES)})")
    rows = folder_labels(csv_path, files, folder)

    graphs = [
        _read_file(p, wanted)
        for p in tqdm(files.values(), desc=f"reading {folder.name}", disable=not progress, leave=False, unit="graph")
    ]
    notes = [f"ignored files that are not graphs: {_show(others)}"] if others else []
    if not_files:
        notes.append(f"ignored sub-folders and other entries that are not files: {_show(not_files)}")
    return _dataset(
        graphs,
        [rows[f] for f in files],
        name=name or folder.resolve().name,
        source=str(folder),
        notes=notes,
        degree_only=wanted == "degree",
    )
