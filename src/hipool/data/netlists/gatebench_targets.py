r"""Targeted vectors for the ``gates`` benchmark's labels: input vectors aimed at exciting a
mutation and carrying its effect to the cone's output, found without a SAT solver.

Uniform random vectors rarely set a wide ``AND`` to 1, a decoder's one line, or a long carry
chain to propagate, so a difference that only such a vector shows would be missed and the
mutation wrongly called benign.  :func:`targeted_vectors` aims vectors the way a test
generator would:

1. **Objectives.**  *Excite* the mutation, as values of the original's signals: a stuck-at-``v``
   net at ``1 - v``; a swapped ``AND``/``OR`` (``NAND``/``NOR``) gate with one pin 0 and
   another 1; an inverted pin with the gate's other pins non-controlling; swapped wires
   with their two signals different and one gate's other pins non-controlling; bridged
   signals different, the one the bridge overrides (the ``1`` of a wired-AND, the ``0`` of a
   wired-OR) chosen at random.  Then *propagate*: a path from the changed gate to the root,
   each step to a reader drawn at random, every other pin of each gate on it at its
   non-controlling value (1 for ``AND``/``NAND``, 0 for ``OR``/``NOR``; a ``MUX`` selects
   the pin on the path).  Each vector draws its own path and choices.
2. **Search** (the first ``searched`` vectors): the objectives are justified by a PODEM-style
   search with backtracking (:func:`~hipool.data.netlists.gatebench_podem.justify`, at most
   :data:`FLIPS` flipped decisions); a search that fails falls back to step 3.
3. **Backtrace** (the others): each objective ``(signal, value)`` is traced back to the inputs
   at once, without search: a gate that must output its non-controlled value needs every pin
   non-controlling, one that must output its controlled value one pin controlling (a pin
   already required at that value if there is one, else one at random), a parity gate random
   pins with the right parity, a ``MUX`` a random select and the chosen data pin.  A signal
   required at two values keeps the first (objectives in the order above).
4. The inputs neither reached are drawn uniformly.

Single-path sensitisation can still miss (the effect may cancel where paths reconverge, or a
side pin may itself change with the mutation), and the search may give up: every vector is
simulated on both copies like any other, and only a difference the simulation sees makes a
``fail``.
"""

from __future__ import annotations

import random
from typing import Dict, List, Tuple

import numpy as np

from .gatebench_mutate import Mutation
from .gatebench_podem import AND, MUX, NON_CONTROLLING, OR, SOURCE, XOR, ConeIndex, justify

#: Most flipped decisions of one search.
FLIPS = 64
#: Of the targeted vectors, how many are searched for (the others are backtraced at once).
SEARCHED = 16

Objective = Tuple[int, int]


def _side_objectives(ix: ConeIndex, gate: int, through: List[int], rnd: random.Random) -> List[Objective]:
    """Objectives that let pins ``through`` of ``gate`` decide its output."""
    cls, pins = ix.cls[gate], ix.pins[gate]
    if cls == MUX:
        (s, si), (d1, i1), (d0, i0) = pins
        if 0 in through:
            v = rnd.getrandbits(1)
            return [(d1, v ^ i1), (d0, (1 - v) ^ i0)]
        return [(s, (1 if 1 in through else 0) ^ si)]
    nc = NON_CONTROLLING[cls]
    if nc < 0:
        return []
    return [(s, nc ^ inv) for k, (s, inv) in enumerate(pins) if k not in through]


def _changed_pin(before: list, after: list) -> int:
    return next(k for k, (p, q) in enumerate(zip(before, after)) if p != q)


def _excite(ix: ConeIndex, m: Mutation, rnd: random.Random) -> Tuple[List[Objective], int]:
    """The excitation objectives of ``m`` and the position its effect starts from."""
    cone = ix.cone
    first = m.sites[0]
    if m.kind in ("stuck_at_0", "stuck_at_1"):
        return [(first, 1 - int(m.kind[-1]))], first
    if m.kind == "gate_swap":
        pins = ix.pins[first]
        if ix.cls[first] in (AND, OR) and len(pins) > 1:
            (a, ia), (b, ib) = rnd.sample(pins, 2)
            return [(a, 0 ^ ia), (b, 1 ^ ib)], first
        return [], first
    if m.kind == "inverted_input":
        k = _changed_pin(cone.gates[first].inputs, m.netlist.gates[first].inputs)
        return _side_objectives(ix, first, [k], rnd), first
    if m.kind == "pin_swap":
        g = m.sites[rnd.getrandbits(1)]
        k = _changed_pin(cone.gates[g].inputs, m.netlist.gates[g].inputs)
        a, ia = ix.pins[g][k]
        b, ib = ix.index[m.netlist.gates[g].inputs[k][0]], int(m.netlist.gates[g].inputs[k][1])
        v = rnd.getrandbits(1)
        return [(a, v ^ ia), (b, (1 - v) ^ ib)] + _side_objectives(ix, g, [k], rnd), g
    # bridge: sites are the drivers of a and b (in the original's order) and the new gate
    a, b = m.sites[0], m.sites[1]
    hit = 1 if m.netlist.gates[-1].kind == "AND" else 0  # the value the short overrides
    x, y = (a, b) if rnd.getrandbits(1) else (b, a)
    return [(x, hit), (y, 1 - hit)], x


def _path(ix: ConeIndex, start: int, rnd: random.Random) -> List[Objective]:
    """Propagation objectives along a random path from ``start`` to the root."""
    out: List[Objective] = []
    node = start
    while node != ix.root and ix.readers[node]:
        readers = ix.readers[node]
        reader = readers[int(rnd.random() * len(readers))]
        out += _side_objectives(ix, reader, [k for k, (s, _) in enumerate(ix.pins[reader]) if s == node], rnd)
        node = reader
    return out


def _backtrace(ix: ConeIndex, objectives: List[Objective], vector: bytearray, rnd: random.Random) -> None:
    """Set ``vector``'s inputs so as to meet ``objectives`` (first come, first kept)."""
    required: Dict[int, int] = {}
    cls_of, flip, pins_of, column = ix.cls, ix.flip, ix.pins, ix.column
    for objective in objectives:
        stack = [objective]
        while stack:
            s, v = stack.pop()
            if s in required:
                continue
            required[s] = v
            cls = cls_of[s]
            if cls == SOURCE:
                if s in column:
                    vector[column[s]] = v
                continue
            want = v ^ flip[s]  # the value before the output inversion
            pins = pins_of[s]
            if cls == AND or cls == OR:
                nc = 1 if cls == AND else 0
                if want == nc:  # every pin non-controlling (BUF, NOT: the one pin)
                    stack.extend((p, nc ^ inv) for p, inv in pins)
                else:  # one pin controlling: one already required so if any
                    c = 1 - nc
                    for p, inv in pins:
                        if required.get(p) == c ^ inv:
                            break
                    else:
                        p, inv = pins[int(rnd.random() * len(pins))]
                        stack.append((p, c ^ inv))
            elif cls == XOR:
                parity = want
                for p, inv in pins[:-1]:
                    bit = rnd.getrandbits(1)
                    parity ^= bit
                    stack.append((p, bit ^ inv))
                p, inv = pins[-1]
                stack.append((p, parity ^ inv))
            else:  # MUX(s, d1, d0)
                (sel, si), (d1, i1), (d0, i0) = pins
                choice = rnd.getrandbits(1)
                stack.append((sel, choice ^ si))
                stack.append((d1, want ^ i1) if choice else (d0, want ^ i0))


def targeted_vectors(ix: ConeIndex, mutation: Mutation, count: int, seed: int, searched: int = SEARCHED) -> np.ndarray:
    """``count`` vectors aimed at ``mutation`` (unpacked ``[count, inputs]``), the first
    ``searched`` of them searched for (see the module docstring); the same for the same
    ``seed`` (Python's ``random.Random``).  ``mutation`` must be a copy of ``ix.cone``."""
    rnd = random.Random(seed)
    k = len(ix.column)
    rows = []
    for n in range(count):
        row = bytearray(rnd.getrandbits(1) for _ in range(k))
        excite, start = _excite(ix, mutation, rnd)
        objectives = excite + _path(ix, start, rnd)
        found = None
        if n < searched:
            found, _ = justify(ix, objectives, rnd, FLIPS)
        if found is not None:
            for i, v in found.items():
                row[ix.column[i]] = v
        else:
            _backtrace(ix, objectives, row, rnd)
        rows.append(bytes(row))
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(count, k).copy()
