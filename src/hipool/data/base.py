"""What every hipool dataset loader returns, and the field for known hierarchies.

A loader (TU benchmarks, molecules, the user's own graphs, the generators) returns
a :class:`GraphDataset`: a list-like of PyG :class:`~torch_geometric.data.Data`
objects that every hipool model accepts, plus what a harness needs to know.

Every ``Data`` has:

* ``x``: float node features ``[N, num_features]`` (the same width in every graph);
* ``edge_index``: int64 ``[2, E]``, both directions for undirected graphs;
* ``y``: int64 ``[1]``, the class of the graph — or, for multi-task data (several
  label columns), float ``[1, T]`` with ``NaN`` where a label is missing;
* optionally ``edge_attr`` ``[E, D]``;
* optionally :data:`LEVEL_LABELS`: a known hierarchy, int64 ``[N, L]``; column
  ``l - 1`` is each node's group at level ``l`` (level 1 = the finest groups:
  communities, functional groups, circuit blocks; level 2 the next, ...), numbered
  ``0 .. G_l - 1`` within the graph, ``-1`` where a node has no group at that level.
  Metrics of hierarchy recovery read this field;
* optionally ``graph_id`` (the user's name of the graph: its file or JSON Lines id) and,
  for molecules, ``smiles``, ``group_names`` (the type of every level-1 group) and
  ``group_matches`` (every functional-group match before precedence);
* optionally the group attribute a dataset's :class:`Breakdown` names: int64 ``[1]``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from torch_geometric.data import Data

from ..io import shown, torch_file_damage

#: Name of the optional per-node ground-truth hierarchy field (int64 ``[N, L]``, -1 = none).
LEVEL_LABELS = "level_labels"


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an ``int`` (a bool is not one), at least ``minimum``: the generators' option check."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


#: An integer as hipool reads one from text: decimal digits (ASCII) with an optional sign.
INT_PATTERN = re.compile(r"[+-]?[0-9]+")
#: A number as hipool reads one from text: ``1``, ``-0.5``, ``.5``, ``2.5e-3``; not ``nan`` or ``inf``.
DECIMAL_PATTERN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def decimal_int(text: str) -> int:
    """``int(text)`` of decimal digits with an optional sign, however many (leading zero) digits:
    beyond 30 significant digits, more than any bound hipool checks, it is ``±10**30`` (Python's
    ``int()`` refuses thousands of digits)."""
    digits = text.lstrip("+-").lstrip("0") or "0"
    number = int(digits) if len(digits) <= 30 else 10**30
    return -number if text.startswith("-") else number


def spec_number(spec: str, key: str, value: str, lo, hi, kind: type = int):
    """The option ``key=value`` of the dataset spec ``spec`` as an ``int`` (decimal digits:
    ``600``, not ``6e2`` or ``10**3``) or a ``float`` (a decimal such as ``0.25``; not ``nan``
    or ``inf``) in ``[lo, hi]``: a ``ValueError`` naming the spec, the key and the range otherwise."""
    if not (INT_PATTERN if kind is int else DECIMAL_PATTERN).fullmatch(value):
        what = "an int (decimal digits)" if kind is int else "a number (a decimal such as 0.25)"
        raise ValueError(f"dataset {shown(spec)}: {key}={shown(value)} is not {what}")
    number = decimal_int(value) if kind is int else float(value)
    if not lo <= number <= hi:
        raise ValueError(f"dataset {shown(spec)}: {key}={shown(value)} is out of range; {key} must be in [{lo}, {hi}]")
    return number


def spec_options(spec: str, name: str, keys: Sequence[str], example: str) -> Iterator[Tuple[str, str]]:
    """The ``key=value`` options of the dataset spec ``name[:key=value,...]``, as ``(key,
    value)`` pairs, stripped, in order: a ``ValueError`` naming the spec for another name, an
    item that is not ``key=value`` with a key among ``keys`` (``example`` shows a good spec), or
    a key given twice.  The caller checks each value."""
    head, _, rest = spec.partition(":")
    if head != name:
        raise ValueError(f"not a {name} spec: {shown(spec)}")
    given = set()
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = (t.strip() for t in item.partition("="))
        if not eq or key not in keys:
            raise ValueError(
                f"dataset {shown(spec)}: {shown(item)} is not key=value with a key among "
                f"{', '.join(keys)} (e.g. {example})"
            )
        if key in given:
            raise ValueError(f"dataset {shown(spec)}: {key} is given twice; give it once")
        given.add(key)
        yield key, value


def as_path(value, what: str) -> Path:
    """``value`` (a ``str`` or ``os.PathLike``) as a ``Path``: a ``ValueError`` naming ``what``
    for anything else, an empty string (which would mean the current folder) or a NUL."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a path (a str or pathlib.Path), got {shown(value)}")
    if not value.strip():
        raise ValueError(f"{what} is empty; give a path ('.' for the current folder)")
    if "\0" in value:
        raise ValueError(f"{what} {shown(value)} holds a NUL character; not a path")
    return Path(value)


def path_kind(path: Path) -> str:
    """``"file"``, ``"folder"``, ``"missing"`` or ``"other"`` (a pipe, a device, a socket) for
    ``path`` (links followed); an ``OSError`` (a name too long, a loop of links, no permission)
    becomes a ``ValueError`` naming the path."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        from ..io import os_reason

        raise ValueError(f"{path}: cannot read it ({os_reason(e)})") from None
    return "file" if stat.S_ISREG(st.st_mode) else "folder" if stat.S_ISDIR(st.st_mode) else "other"


def csv_rows(text: str, path: Path, max_field: int) -> Iterator[Tuple[int, List[str]]]:
    """``(line, fields)`` of every CSV row of ``text`` (read from ``path``): malformed quoting and
    fields longer than ``max_field`` characters are ValueErrors naming the file and line."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "field larger than field limit" in str(e):
                raise ValueError(
                    f"{path}:{reader.line_num}: a field longer than {csv.field_size_limit()} characters"
                ) from None
            if "unexpected end of data" in str(e):
                raise ValueError(
                    f"{path}:{start}: malformed CSV: a quoted field starting on this line is never closed"
                ) from None
            raise ValueError(
                f"{path}:{reader.line_num}: malformed CSV: {e} (a field holding a comma, "
                f"a quote or a line break must be quoted, and a quote inside it doubled)"
            ) from None
        long = next((c for c in row if len(c) > max_field), None)
        if long is not None:
            raise ValueError(
                f"{path}:{reader.line_num}: a field of {len(long)} characters, more than "
                f"the most hipool reads ({max_field})"
            )
        yield reader.line_num, row


def load_cache(path: Path, what: str, check: Callable[[Any], Any], again: str) -> Optional[Any]:
    """``check(contents)`` of the cache file ``path`` (read with ``weights_only=True`` after its zip
    checksums), or ``None`` when there is none or it is bad: a bad file (any exception on the way) is
    never unpickled, but deleted with a warning naming it, ``what`` it should be and what happens
    ``again``."""
    import warnings

    import torch

    if not path.is_file():
        return None
    try:
        damage = torch_file_damage(path)  # torch checks no CRC: a flipped byte would load as another value
        if damage is not None:
            raise ValueError(damage)
        return check(torch.load(path, map_location="cpu", weights_only=True))  # never runs code from the file
    except Exception as e:  # whatever the file holds, it is only a cache
        reason = (
            "it holds more than plain tensors"
            if "Weights only load failed" in str(e)
            else shown(str(e).strip().split("\n")[0] or type(e).__name__, 160)
        )
        warnings.warn(
            f"{path}: not a valid hipool {what} ({reason}); it was not unpickled, deleting it and {again}", stacklevel=4
        )
        try:
            path.unlink()
        except OSError:
            pass
        return None


def check_plain_tensor(key: str, t, dtype, dim: int) -> None:
    """Raise ``ValueError`` unless ``t`` (read from a cache file) is a dense, contiguous ``dim``-d
    ``dtype`` tensor: a tensor with zero strides over a one-element storage would otherwise pass
    for one of any size and blow up memory in the first operation that reads it."""
    import torch

    if (
        not isinstance(t, torch.Tensor)
        or t.dtype != dtype
        or t.dim() != dim
        or t.layout != torch.strided
        or not t.is_contiguous()
    ):
        raise ValueError(f"{key} is not a contiguous {dim}-d {dtype} tensor")


def columns(tensor) -> int:
    """Columns of a per-node or per-edge attribute: 0 when absent, 1 for ``[N]``, ``C`` for ``[N, C]``."""
    if tensor is None:
        return 0
    return 1 if tensor.dim() == 1 else int(tensor.size(1))


@dataclass(frozen=True)
class Breakdown:
    """Groups of graphs to report accuracy on separately: every graph has an int64 attribute
    ``attr`` (shape ``[1]``) whose value v in ``0 .. len(names) - 1`` names its group ``names[v]``.

    E.g. synthetic circuits by defect level: ``Breakdown("defect_level", ("pass", "component",
    "block", "subsystem"))``.  ``hipool train`` and ``hipool compare`` then report the test
    accuracy per group besides the overall one.
    """

    attr: str
    names: Tuple[str, ...]

    def name(self, value: int) -> str:
        """The group ``value`` names (``str(value)`` for a value outside ``names``)."""
        return self.names[value] if 0 <= value < len(self.names) else str(value)

    def of(self, data: Data) -> Optional[str]:
        """The group of one graph, or ``None`` when it has no ``attr``."""
        v = getattr(data, self.attr, None)
        return None if v is None else self.name(int(v.view(-1)[0]))


@dataclass
class GraphDataset:
    """Graphs and what a training harness needs to know about them.

    Args:
        name: what the user called it (a TU name, a file, ``communities``).
        graphs: the ``Data`` objects (a list or a PyG dataset).
        num_features: width of ``x``.
        num_classes: number of classes (per task, for multi-task data).
        class_names: optional names of the classes.
        task_names: for multi-task data, the name of every label column.
        source: where it was read from (a path or URL).
        notes: what the loader wants the user to know (e.g. rows it skipped).
        breakdown: optional groups of graphs whose test accuracy is reported separately.
        level_names: optional names of the :data:`LEVEL_LABELS` columns, finest first
            (e.g. ``("block", "subsystem")``); metrics and pictures use them.
    """

    name: str
    graphs: Sequence[Data]
    num_features: int
    num_classes: int
    class_names: Optional[List[str]] = None
    task_names: Optional[List[str]] = None
    source: str = ""
    notes: List[str] = field(default_factory=list)
    breakdown: Optional[Breakdown] = None
    level_names: Optional[Tuple[str, ...]] = None

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: Union[int, slice, Sequence[int]]):
        if isinstance(index, int):
            return self.graphs[index]
        if isinstance(index, slice):
            return [self.graphs[i] for i in range(*index.indices(len(self)))]
        return [self.graphs[int(i)] for i in index]

    def __iter__(self) -> Iterator[Data]:
        return (self.graphs[i] for i in range(len(self)))

    @property
    def num_edge_features(self) -> int:
        """Width ``D`` of ``edge_attr`` (``[E, D]``; 1 for ``[E]``) of the first graph that has one,
        0 when none has."""
        for g in self:
            width = columns(getattr(g, "edge_attr", None))
            if width:
                return width
        return 0

    @property
    def num_known_levels(self) -> int:
        """Columns of :data:`LEVEL_LABELS` (the levels of the data's own hierarchy) of the first
        graph, 0 when it has none."""
        return columns(getattr(self[0], LEVEL_LABELS, None)) if len(self) else 0

    @property
    def num_tasks(self) -> int:
        return len(self.task_names) if self.task_names else 1

    def labels(self) -> List[int]:
        """The class of every graph (single-task data), for stratified splits."""
        if self.num_tasks != 1:
            raise ValueError(
                f"{self.name}: has {self.num_tasks} label columns; stratified splits "
                f"need one (pick a column when loading)"
            )
        return [int(g.y.view(-1)[0]) for g in self]
