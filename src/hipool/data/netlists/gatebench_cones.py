r"""Sub-circuits of real gate-level circuits for the ``gates`` benchmark: fan-in cones, their
structure hash and the structural hierarchy ``pool: given`` reads.

**Cones.**  A circuit (a :class:`~hipool.data.netlists.gates.GateNetlist`) is cut at its
flip-flops in the simulator's full-scan convention: a flip-flop's output is a pseudo-input and
its data input a pseudo-output (:mod:`hipool.data.netlists.simulate`).  Every primary output
and every pseudo-output is a *root*; its cone is the root's driver and every logic gate it
reaches backwards, stopping at primary inputs, flip-flop outputs and constants.  A cone becomes
a netlist of its own (:class:`Cone`): one ``INPUT`` per leaf it reads (a flip-flop output
keeps its net's name), the constants it reads, its logic gates (copied, in a topological order:
every gate after the gates it reads) and **one output, the root** (read with the root's
inversion: an AIGER output literal or a flip-flop's inverted data pin).  A cone whose root is
an input, a flip-flop or a constant (no logic) is left out, and so is one with fewer than
``min_gates`` or more than ``max_gates`` logic gates (the walk stops as soon as it passes
``max_gates``, so a huge circuit costs what its small cones cost).

**Structure hash** (:func:`structure_hash`): two cones with the same hash are the same
circuit up to the names of their signals and the order of the pins of commutative gates (every
kind but ``MUX``), so renamed copies (ISCAS-89 ``s9234`` and ``s9234.1``) and repeated bit
slices (the 32 output cones of ``c499``) are kept once.  It is a Merkle hash (BLAKE2b) over
each gate's kind and its fan-in's hashes and inversions, a commutative gate's fan-in sorted;
leaves are numbered in the order a depth-first walk from the root first meets them, children
of a commutative gate taken in the order of their hashes with anonymous leaves.

**Hierarchy** (:func:`cone_level_labels`): no source circuit has BLIF ``.subckt`` instances
(ISCAS ``.bench`` and EPFL BLIF/AIGER are flat), so the groups are structural, two levels,
finest first (:data:`~hipool.data.base.LEVEL_LABELS`):

* level 1, **fanout-free regions** (FFRs), the classic partition of fault simulation: a
  *stem* is the root or a logic gate read by two or more gates of the cone; every other
  logic gate has exactly one reader and belongs to its reader's region.  A region is a tree
  of gates feeding one stem;
* level 2, **regions**: the root and the ``ceil(sqrt(stems))`` stems with the largest
  fan-out (ties: earlier in topological order) are *sub-roots*; every fanout-free region joins
  the sub-root nearest downstream of its stem (fewest gates along the fan-out; ties: the
  earlier sub-root), so level 2 is a union of level-1 groups.  Every stem reaches the root,
  so every region has one.

Inputs, constants and the output node belong to no group (``-1``).  Group ids are numbered
from 0 in node order, per column.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .gates import Gate, GateNetlist

#: Kinds that end a cone's walk backwards (its leaves and constants).
SOURCE_KINDS = ("INPUT", "CONST0", "CONST1", "DFF")
#: Kinds whose fan-in order does not matter (every logic kind but ``MUX``).
COMMUTATIVE = frozenset({"AND", "NAND", "OR", "NOR", "XOR", "XNOR", "BUF", "NOT"})
#: Names of the two ``level_labels`` columns, finest first.
LEVEL_NAMES = ("fanout-free region", "region")


@dataclass
class Cone:
    """One fan-in cone as a netlist of its own.

    Attributes:
        netlist: the cone: its leaves as ``INPUT`` gates, its constants, its logic gates in
            topological order, one output (the root).
        circuit: the source circuit (``iscas85/c432``).
        root: the root's name: the primary output's signal, or ``<q>.D`` for the data input of
            flip-flop ``q``.
        num_gates: logic gates (leaves and constants not counted).
        num_inputs: leaves (primary inputs and flip-flop outputs it reads).
        structure: the structure hash (hex; see the module docstring).
    """

    netlist: GateNetlist
    circuit: str
    root: str
    num_gates: int
    num_inputs: int
    structure: str


def circuit_roots(netlist: GateNetlist) -> List[Tuple[str, str, bool, int]]:
    """``(root name, signal, inverted, line)`` of every primary output, then of every flip-flop's
    data input (``<q>.D``), in the file's order."""
    roots = [(s, s, inv, line) for s, inv, line in netlist.outputs]
    roots += [(f"{g.name}.D", g.inputs[0][0], g.inputs[0][1], g.line) for g in netlist.gates if g.kind == "DFF"]
    return roots


def _walk(driver: Dict[str, Gate], root: str, max_gates: int) -> Optional[List[str]]:
    """The signals of ``root``'s cone (logic gates, leaves, constants), or ``None`` when it has
    more than ``max_gates`` logic gates."""
    seen = {root}
    stack = [root]
    logic = 0
    while stack:
        g = driver[stack.pop()]
        if g.kind in SOURCE_KINDS:
            continue
        logic += 1
        if logic > max_gates:
            return None
        for s, _ in g.inputs:
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return list(seen)


def _topological(driver: Dict[str, Gate], root: str) -> List[str]:
    """The logic gates of ``root``'s cone, each after the logic gates it reads (depth-first
    post-order from the root, fan-in in pin order)."""
    order: List[str] = []
    visited = {root}
    stack: List[Tuple[str, int]] = [(root, 0)]
    while stack:
        name, k = stack[-1]
        g = driver[name]
        if k < len(g.inputs):
            stack[-1] = (name, k + 1)
            s = g.inputs[k][0]
            if s not in visited and driver[s].kind not in SOURCE_KINDS:
                visited.add(s)
                stack.append((s, 0))
        else:
            stack.pop()
            order.append(name)
    return order


def extract_cones(
    netlist: GateNetlist, circuit: str, min_gates: int, max_gates: int, driver: Optional[Dict[str, Gate]] = None
) -> List[Cone]:
    """The cones of ``netlist`` with ``min_gates`` to ``max_gates`` logic gates, one per root of
    :func:`circuit_roots` (see the module docstring), not yet deduplicated."""
    driver = driver if driver is not None else {g.name: g for g in netlist.gates}
    position = {g.name: i for i, g in enumerate(netlist.gates)}
    cones = []
    for name, signal, inverted, line in circuit_roots(netlist):
        if driver[signal].kind in SOURCE_KINDS:
            continue
        signals = _walk(driver, signal, max_gates)
        if signals is None:
            continue
        logic = _topological(driver, signal)
        if len(logic) < min_gates:
            continue
        sources = sorted((s for s in signals if driver[s].kind in SOURCE_KINDS), key=position.__getitem__)
        gates = [
            Gate(s, "INPUT" if driver[s].kind in ("INPUT", "DFF") else driver[s].kind, [], driver[s].line)
            for s in sources
        ]
        gates += [Gate(s, driver[s].kind, list(driver[s].inputs), driver[s].line) for s in logic]
        cone = GateNetlist(
            name=f"{circuit}:{name}",
            source=f"{netlist.source} (the cone of {name})",
            gates=gates,
            outputs=[(signal, inverted, line)],
        )
        inputs = sum(g.kind == "INPUT" for g in gates)
        cones.append(Cone(cone, circuit, name, len(logic), inputs, structure_hash(cone)))
    return cones


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


_LEAF = _digest(b"leaf")


def _merkle(netlist: GateNetlist, leaf: Dict[str, bytes]) -> Dict[str, bytes]:
    """Each signal's hash: leaves from ``leaf``, constants by kind, gates by kind and fan-in."""
    h: Dict[str, bytes] = {}
    for g in netlist.gates:  # leaves and constants come first, then gates in topological order
        if g.kind == "INPUT":
            h[g.name] = leaf[g.name]
        elif not g.inputs:
            h[g.name] = _digest(g.kind.encode())
        else:
            pins = [h[s] + (b"!" if inv else b".") for s, inv in g.inputs]
            if g.kind in COMMUTATIVE:
                pins.sort()
            h[g.name] = _digest(g.kind.encode() + b"(" + b"".join(pins))
    return h


def structure_hash(netlist: GateNetlist) -> str:
    """The structure hash of a cone (see the module docstring); its gates must come in
    topological order (as :func:`extract_cones` writes them)."""
    anonymous = _merkle(netlist, {g.name: _LEAF for g in netlist.gates if g.kind == "INPUT"})
    driver = {g.name: g for g in netlist.gates}
    number: Dict[str, bytes] = {}
    root = netlist.outputs[0][0]
    stack = [root]
    seen = {root}
    while stack:  # depth-first, commutative fan-in by anonymous hash
        g = driver[stack.pop()]
        if g.kind == "INPUT":
            number.setdefault(g.name, _digest(b"leaf%d" % len(number)))
            continue
        pins = [(anonymous[s], inv, s) for s, inv in g.inputs]
        if g.kind in COMMUTATIVE:
            pins.sort(key=lambda p: (p[0], p[1]))
        for _, _, s in reversed(pins):  # the first pin is walked first
            if s not in seen:
                seen.add(s)
                stack.append(s)
    for g in netlist.gates:  # leaves the root does not reach (none in a cone as extracted)
        if g.kind == "INPUT":
            number.setdefault(g.name, _digest(b"leaf%d" % len(number)))
    h = _merkle(netlist, number)
    _, inverted, _ = netlist.outputs[0]
    logic = sum(1 for g in netlist.gates if g.inputs)
    return _digest(h[root] + (b"!" if inverted else b".") + b"%d/%d" % (len(number), logic)).hex()


def cone_level_labels(netlist: GateNetlist) -> torch.Tensor:
    """``level_labels`` (int64 ``[N, 2]``, ``N`` = gates + the output node) of a cone: fanout-free
    regions, then regions (see the module docstring).  The cone's gates must come in
    topological order."""
    gates = netlist.gates
    index = {g.name: i for i, g in enumerate(gates)}
    logic = [i for i, g in enumerate(gates) if g.inputs]
    readers: Dict[int, List[int]] = {i: [] for i in logic}
    for i in logic:
        for s in dict.fromkeys(s for s, _ in gates[i].inputs):
            j = index[s]
            if j in readers:
                readers[j].append(i)
    root = index[netlist.outputs[0][0]]
    stems = [i for i in logic if i == root or len(readers[i]) != 1]
    head: Dict[int, int] = {}
    for i in reversed(logic):  # readers come later in topological order: their heads are known
        head[i] = i if (i == root or len(readers[i]) != 1) else head[readers[i][0]]
    k = max(1, math.ceil(math.sqrt(len(stems))))
    chosen = {root} | set(sorted(stems, key=lambda i: (-len(readers[i]), i))[: k - 1] if k > 1 else [])
    nearest: Dict[int, Tuple[int, int]] = {}  # gate -> (distance, sub-root)
    for i in reversed(logic):
        if i in chosen:
            nearest[i] = (0, i)
        else:
            reach = [(nearest[r][0] + 1, nearest[r][1]) for r in readers[i] if r in nearest]
            if reach:
                nearest[i] = min(reach)
    labels = torch.full((len(gates) + len(netlist.outputs), 2), -1, dtype=torch.long)
    ids: List[Dict[int, int]] = [{}, {}]
    for i in logic:
        if head[i] not in nearest:  # a gate the root does not reach (not in an extracted cone)
            continue
        labels[i, 0] = ids[0].setdefault(head[i], len(ids[0]))
        labels[i, 1] = ids[1].setdefault(nearest[head[i]][1], len(ids[1]))
    return labels


def dedupe(cones: Sequence[Cone]) -> Tuple[List[Cone], int]:
    """The cones with a structure hash not seen before (the first of each, in order), and how
    many were dropped."""
    seen = set()
    kept = []
    for c in cones:
        if c.structure not in seen:
            seen.add(c.structure)
            kept.append(c)
    return kept, len(cones) - len(kept)
