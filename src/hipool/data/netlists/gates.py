r"""The gate-level representation: what every logic-netlist reader (``.bench``, AIGER, ...)
builds, and the PyG graph made from it.

A reader turns a file into a :class:`GateNetlist`: the design's primary inputs, its gates
(each with a kind, its fan-in signals in pin order and the line that defined it) and its
primary outputs.  :func:`to_data` turns that into one graph:

* **Nodes are drivers, not nets.**  A gate-level net has exactly one driver (a primary
  input, a gate, a flip-flop or a constant), so a net *is* its driver's output: a node per
  net would double the graph and carry nothing the driver does not.  Every primary input,
  gate, flip-flop and constant is one node, and every primary output is one more node
  (kind ``OUTPUT``) fed by the signal it names, so that the outputs are visible to
  pooling.  Node order: the file's order of definition (inputs, then gates as they come,
  then outputs).
* **Wires are edges, both ways.**  Each fan-in pin ``k`` of a gate is an edge from the
  driver of its signal to the gate, stored in both directions (as the synthetic circuits
  and every undirected PyG dataset do), so that messages flow along and against the
  signal; ``edge_attr`` keeps what a directed graph would: which way the edge runs, the pin
  it enters, and whether the signal is inverted on the way (AIGER's complemented literals).
* **Flip-flops** (``DFF``) are a node kind of their own, with the data input as their one
  pin: a sequential circuit stays one graph, its state elements marked.

``x`` (float32 ``[N, NUM_GATE_FEATURES]``): the one-hot :data:`GATE_KINDS` of the node,
then ``log(1 + fan-in)`` and ``log(1 + fan-out)``.  ``edge_attr`` (float32
``[E, len(EDGE_FEATURES)]``): one-hot direction (``forward``: driver → gate,
``backward``: gate → driver), ``inverted``, and the pin one-hot ``pin0``, ``pin1``,
``pin2``, ``pin3+`` (pins from 3 up share a column: wide gates are commutative).
``graph_id`` is the design's name.

**The designer's hierarchy.**  A reader that flattens subcircuit instances (BLIF
``.subckt``) gives each gate the path of instances it came from (:attr:`Gate.instance`).
:func:`to_data` then adds ``level_labels`` (int64 ``[N, D]``, ``D`` the deepest nesting), in
hipool's convention of finest level first: column ``c`` groups the nodes by their path's
first ``D - c`` instances, so the last column holds the top's instances and column 0 the
deepest ones; a node whose path is shorter than ``D - c`` (a gate of an outer level, a
primary input or output) has no group there (``-1``).  So ``pool: given`` pools a design
along its own hierarchy: gates → innermost instances → … → top-level instances.  Group ids
are numbered from 0 in order of first appearance, per column.  ``instance_paths`` lists the
group names of every column (``"u1/u3"``), in id order.

Errors name the file and line (``file:line: what is wrong``): a signal read but never
driven, a signal driven twice, an output naming an undriven signal, a fan-in count its
kind does not take.  A combinational loop is not an error here: the graph holds it as it
is (a simulator would refuse it).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from torch_geometric.data import Data

from ...io import read_bytes

#: Node kinds, in the order of their one-hot columns.
GATE_KINDS: Tuple[str, ...] = (
    "INPUT",
    "OUTPUT",
    "CONST0",
    "CONST1",
    "BUF",
    "NOT",
    "AND",
    "NAND",
    "OR",
    "NOR",
    "XOR",
    "XNOR",
    "MUX",
    "DFF",
)
#: Width of ``x``: the kinds, then log(1 + fan-in) and log(1 + fan-out).
NUM_GATE_FEATURES: int = len(GATE_KINDS) + 2
#: Names of the ``x`` columns.
GATE_FEATURE_NAMES: Tuple[str, ...] = tuple(f"is_{k}" for k in GATE_KINDS) + ("log_fanin", "log_fanout")
#: Names of the ``edge_attr`` columns.
EDGE_FEATURES: Tuple[str, ...] = ("forward", "backward", "inverted", "pin0", "pin1", "pin2", "pin3+")
#: Kinds that take no fan-in.
SOURCES = ("INPUT", "CONST0", "CONST1")
#: Fan-in counts a kind requires: exactly (``(n, n)``) or at least (``(n, None)``).
ARITY: Dict[str, Tuple[int, Optional[int]]] = {
    "OUTPUT": (1, 1),
    "BUF": (1, 1),
    "NOT": (1, 1),
    "DFF": (1, 1),
    "MUX": (3, 3),
    **{k: (1, None) for k in ("AND", "NAND", "OR", "NOR", "XOR", "XNOR")},
    **{k: (0, 0) for k in SOURCES},
}


class NetlistError(ValueError):
    """A netlist that cannot be read: ``file:line: what is wrong``."""


#: Largest netlist file read, in bytes (the largest shared circuit, EPFL hyp.aig, is 1.5 MB).
MAX_BYTES = 1 << 30


def read_netlist_bytes(path: Path, what: str) -> bytes:
    """The bytes of a netlist file, at most :data:`MAX_BYTES`; a missing, unreadable or
    oversized file (or a folder, a pipe) is a :class:`NetlistError` naming it and ``what``."""
    try:
        return read_bytes(path, what, MAX_BYTES)
    except ValueError as e:  # the reader's own error type, never an OSError
        raise NetlistError(str(e)) from None


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Switch Python's cyclic garbage collector off for a reader's run (and back on if it was):
    a reader makes a few objects per gate and frees none of them, and the collector, run again
    and again over the growing netlist, would double the time.  Process-wide while it lasts."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def decode_netlist_text(data: bytes, path: str, what: str) -> str:
    """``data`` as UTF-8 text; a :class:`NetlistError` with the line of the first byte that is
    not UTF-8, or of a NUL (a binary file given as text)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise NetlistError(f"{path}:{line}: not UTF-8 text (byte {e.start}); a {what} is text") from None
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise NetlistError(f"{path}:{line}: a NUL byte: this is a binary file, not a {what}")
    return text


@dataclass
class Gate:
    """One driver of a gate-level netlist.

    Attributes:
        name: the signal it drives (its output net).
        kind: one of :data:`GATE_KINDS` (not ``OUTPUT``: outputs are :attr:`GateNetlist.outputs`).
        inputs: its fan-in in pin order: ``(signal, inverted)`` pairs.
        line: the line of the file that defined it (1-based).
        instance: the path of subcircuit instances it was flattened from, outermost first
            (``()``: the top level); see :func:`level_labels`.
    """

    name: str
    kind: str
    inputs: List[Tuple[str, bool]] = field(default_factory=list)
    line: int = 0
    instance: Tuple[str, ...] = ()


@dataclass
class GateNetlist:
    """A gate-level design as a reader found it (see the module docstring).

    Attributes:
        name: the design's name (its model or file stem).
        source: the file it was read from (for error messages).
        gates: every driver, primary inputs and constants included, in the file's order.
        outputs: the primary outputs: ``(signal, inverted, line)``.
        output_names: names the file gives outputs apart from the signal they read, by
            position in :attr:`outputs` (AIGER's ``o<k> name`` symbols); empty for formats
            whose outputs are signals (``.bench``, BLIF).  The graph does not use them; the
            simulator names its output columns with them.
    """

    name: str
    source: str
    gates: List[Gate] = field(default_factory=list)
    outputs: List[Tuple[str, bool, int]] = field(default_factory=list)
    output_names: Dict[int, str] = field(default_factory=dict)

    def error(self, line: int, message: str) -> NetlistError:
        return NetlistError(f"{self.source}:{line}: {message}" if line else f"{self.source}: {message}")


def _pin_column(k: int) -> int:
    return 3 + min(k, 3)


def to_data(netlist: GateNetlist, depth: Optional[int] = None) -> Data:
    """The graph of ``netlist`` (see the module docstring); a :class:`NetlistError` naming the
    file and line for a signal driven twice, a fan-in signal or output that nothing drives, a
    gate kind hipool does not know, or a fan-in count its kind does not take.  ``depth``: the
    width of ``level_labels`` (the deepest nesting of a whole dataset, so that every graph has
    the same columns); default this design's own deepest nesting."""
    index: Dict[str, int] = {}
    for g in netlist.gates:
        if g.kind not in GATE_KINDS or g.kind == "OUTPUT":
            raise netlist.error(g.line, f"gate {g.name!r} has kind {g.kind!r}, which hipool does not know")
        if g.name in index:
            first = netlist.gates[index[g.name]].line
            raise netlist.error(g.line, f"signal {g.name!r} is driven twice (first on line {first})")
        lo, hi = ARITY[g.kind]
        n_in = len(g.inputs)
        if n_in < lo or (hi is not None and n_in > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            raise netlist.error(g.line, f"gate {g.name!r} ({g.kind}) has {n_in} inputs; {g.kind} takes {want}")
        index[g.name] = len(index)
    n_gates = len(netlist.gates)
    n = n_gates + len(netlist.outputs)
    src: List[int] = []
    dst: List[int] = []
    pins: List[int] = []
    inverted: List[bool] = []
    for i, g in enumerate(netlist.gates):
        for k, (signal, inv) in enumerate(g.inputs):
            driver = index.get(signal)
            if driver is None:
                raise netlist.error(g.line, f"gate {g.name!r} reads signal {signal!r}, which nothing drives")
            src.append(driver)
            dst.append(i)
            pins.append(k)
            inverted.append(inv)
    for j, (signal, inv, line) in enumerate(netlist.outputs):
        driver = index.get(signal)
        if driver is None:
            raise netlist.error(line, f"output {signal!r} names a signal that nothing drives")
        src.append(driver)
        dst.append(n_gates + j)
        pins.append(0)
        inverted.append(inv)
    e = len(src)
    x = torch.zeros(n, NUM_GATE_FEATURES)
    kinds = [GATE_KINDS.index(g.kind) for g in netlist.gates] + [GATE_KINDS.index("OUTPUT")] * len(netlist.outputs)
    x[torch.arange(n), torch.tensor(kinds, dtype=torch.long)] = 1.0
    s = torch.tensor(src, dtype=torch.long)
    d = torch.tensor(dst, dtype=torch.long)
    fanin = torch.bincount(d, minlength=n).float()
    fanout = torch.bincount(s, minlength=n).float()
    x[:, len(GATE_KINDS)] = torch.log1p(fanin)
    x[:, len(GATE_KINDS) + 1] = torch.log1p(fanout)
    attr = torch.zeros(2 * e, len(EDGE_FEATURES))
    attr[:e, 0] = 1.0
    attr[e:, 1] = 1.0
    inv = torch.tensor(inverted, dtype=torch.float32)
    attr[:e, 2] = inv
    attr[e:, 2] = inv
    cols = torch.tensor([_pin_column(k) for k in pins], dtype=torch.long)
    rows = torch.arange(e)
    attr[rows, cols] = 1.0
    attr[rows + e, cols] = 1.0
    edge_index = torch.cat([torch.stack([s, d]), torch.stack([d, s])], dim=1)
    data = Data(x=x, edge_index=edge_index, edge_attr=attr, graph_id=netlist.name, num_nodes=n)
    paths = [g.instance for g in netlist.gates] + [()] * len(netlist.outputs)
    if depth or (depth is None and any(paths)):
        data.level_labels, data.instance_paths = level_labels(paths, depth)
    return data


def instance_depth(netlist: GateNetlist) -> int:
    """The deepest nesting of subcircuit instances in ``netlist`` (0: flat)."""
    return max((len(g.instance) for g in netlist.gates), default=0)


def level_labels(paths: List[Tuple[str, ...]], depth: Optional[int] = None) -> Tuple[torch.Tensor, List[List[str]]]:
    """``(level_labels [N, D], names)`` of nodes whose instance paths are ``paths`` (see the
    module docstring): column ``c`` groups by the first ``D - c`` instances (``-1``: a shorter
    path), and ``names[c]`` names the groups of column ``c`` (``"u1/u3"``) in id order.  ``D``
    is ``depth``, default the longest path (a path longer than ``depth`` is an error)."""
    longest = max((len(p) for p in paths), default=0)
    if depth is None:
        depth = longest
    elif longest > depth:
        raise ValueError(f"level_labels: a path of {longest} instances is deeper than depth={depth}")
    labels = torch.full((len(paths), depth), -1, dtype=torch.long)
    names: List[List[str]] = []
    for c in range(depth):
        k = depth - c
        ids: Dict[Tuple[str, ...], int] = {}
        for i, p in enumerate(paths):
            if len(p) >= k:
                labels[i, c] = ids.setdefault(p[:k], len(ids))
        names.append(["/".join(p) for p in ids])
    return labels, names


def gate_counts(netlist: GateNetlist) -> Dict[str, int]:
    """How many drivers of each kind (``INPUT`` and the constants included)."""
    counts: Dict[str, int] = {}
    for g in netlist.gates:
        counts[g.kind] = counts.get(g.kind, 0) + 1
    return counts
