r"""Justifying signal values of a cone by search: the part of a test generator that the
``gates`` benchmark's targeted vectors (:mod:`~hipool.data.netlists.gatebench_targets`) need.

:func:`justify` looks for an input vector under which every objective ``(signal, value)`` of a
list holds, in the manner of PODEM (Goel, 1981): the inputs start unknown (``X``); while an
objective is still ``X``, its signal is traced back through ``X`` signals to an ``X`` input
(a gate that must give its controlled value through one ``X`` pin drawn at random, one that
must give its non-controlled value through every ``X`` pin in turn, a parity gate through an
``X`` pin, a ``MUX`` through its select or the selected data pin), that input is set, and the
values it implies are propagated forward in three-valued logic (event-driven, in topological
order).  When an objective takes the wrong value, the latest decision not yet flipped is
flipped (its implications undone first).  The search ends with a vector (inputs no decision
set are drawn at random by the caller), with "impossible" when every decision has been
flipped (then no vector meets these objectives), or after ``limit`` flips ("gave up").
"""

from __future__ import annotations

import heapq
import random
from typing import Dict, List, Optional, Tuple

from .gates import GateNetlist

_AND_LIKE = ("AND", "NAND", "BUF", "NOT")
_OR_LIKE = ("OR", "NOR")
_INVERTING = ("NAND", "NOR", "NOT", "XNOR")
#: Gate classes: a source, AND-like, OR-like, parity, MUX.
SOURCE, AND, OR, XOR, MUX = range(5)
_CLASS = {**{k: AND for k in _AND_LIKE}, **{k: OR for k in _OR_LIKE}, "XOR": XOR, "XNOR": XOR, "MUX": MUX}
#: Each class's non-controlling pin value (-1: none).
NON_CONTROLLING = {SOURCE: -1, AND: 1, OR: 0, XOR: -1, MUX: -1}
X = 2


class ConeIndex:
    """What the search and the backtrace need of a cone, computed once.  Its gates must come in
    topological order (as :func:`~hipool.data.netlists.gatebench_cones.extract_cones` writes
    them).

    Attributes:
        cone: the cone.
        index: each signal's position (its gate's index in ``cone.gates``).
        cls, flip, pins, readers: per position, the gate class, whether the output is inverted,
            the fan-in as ``(position, inverted)`` and the positions of the gates reading it.
        column: the position of each input -> its column in a vector.
        root: the output's position.
        initial: every value with no input set (constants and what they imply; ``X`` = 2).
    """

    def __init__(self, cone: GateNetlist):
        self.cone = cone
        gates = cone.gates
        self.index: Dict[str, int] = {g.name: i for i, g in enumerate(gates)}
        self.cls = [_CLASS.get(g.kind, SOURCE) for g in gates]
        self.flip = [int(g.kind in _INVERTING) for g in gates]
        self.pins = [[(self.index[s], int(inv)) for s, inv in g.inputs] for g in gates]
        self.readers: List[List[int]] = [[] for _ in gates]
        for i, pins in enumerate(self.pins):
            for j in dict.fromkeys(j for j, _ in pins):
                self.readers[j].append(i)
        self.column = {i: c for c, i in enumerate(i for i, g in enumerate(gates) if g.kind == "INPUT")}
        self.root = self.index[cone.outputs[0][0]]
        value = [X] * len(gates)
        for i, g in enumerate(gates):
            if g.kind in ("CONST0", "CONST1"):
                value[i] = int(g.kind == "CONST1")
            elif self.pins[i]:
                value[i] = self.evaluate(i, value)
        self.initial = value

    def evaluate(self, i: int, value: List[int]) -> int:
        """Gate ``i``'s three-valued output (0, 1, ``X``) from ``value``."""
        cls = self.cls[i]
        if cls == AND or cls == OR:
            controlling = 0 if cls == AND else 1
            out = 1 - controlling
            for j, inv in self.pins[i]:
                v = value[j]
                if v == X:
                    out = X
                elif v ^ inv == controlling:
                    out = controlling
                    break
        elif cls == XOR:
            out = 0
            for j, inv in self.pins[i]:
                v = value[j]
                if v == X:
                    return X
                out ^= v ^ inv
        else:  # MUX(s, d1, d0)
            s, d1, d0 = (X if value[j] == X else value[j] ^ inv for j, inv in self.pins[i])
            out = d1 if s == 1 else d0 if s == 0 else d1 if d1 == d0 else X
        return out if out == X else out ^ self.flip[i]


def _imply(ix: ConeIndex, value: List[int], start: int, trail: List[Tuple[int, int]]) -> None:
    """Propagate the new value of ``start`` forward; every change goes on ``trail``."""
    heap = list(ix.readers[start])
    heapq.heapify(heap)
    queued = set(heap)
    while heap:
        i = heapq.heappop(heap)
        queued.discard(i)
        new = ix.evaluate(i, value)
        if new != value[i]:
            trail.append((i, value[i]))
            value[i] = new
            for r in ix.readers[i]:
                if r not in queued:
                    queued.add(r)
                    heapq.heappush(heap, r)


def _backtrace(ix: ConeIndex, value: List[int], s: int, v: int, rnd: random.Random) -> Tuple[int, int]:
    """An ``X`` input and a value for it that work towards ``value[s] == v`` (``value[s]`` is ``X``)."""
    while ix.pins[s]:
        want = v ^ ix.flip[s]
        cls = ix.cls[s]
        free = [(j, inv) for j, inv in ix.pins[s] if value[j] == X]
        if cls == MUX:
            (sel, si), (d1, i1), (d0, i0) = ix.pins[s]
            if value[sel] != X:
                s, v = (d1, want ^ i1) if value[sel] ^ si else (d0, want ^ i0)
            else:
                s, v = sel, rnd.getrandbits(1)
            continue
        j, inv = free[int(rnd.random() * len(free))]
        if cls == XOR:
            v = rnd.getrandbits(1) if len(free) > 1 else (want + sum(value[k] ^ i for k, i in ix.pins[s] if k != j)) % 2
            s, v = j, v ^ inv
        else:
            nc = NON_CONTROLLING[cls]
            s, v = j, (nc if want == nc else 1 - nc) ^ inv
    return s, v


def justify(
    ix: ConeIndex, objectives: List[Tuple[int, int]], rnd: random.Random, limit: int = 64
) -> Tuple[Optional[Dict[int, int]], str]:
    """An assignment of inputs (position -> value) under which every ``(position, value)`` of
    ``objectives`` holds, and ``"found"``; or ``None`` and ``"impossible"`` (no vector meets them)
    or ``"gave up"`` (more than ``limit`` flips).  See the module docstring."""
    value = list(ix.initial)
    trail: List[Tuple[int, int]] = []
    decisions: List[Tuple[int, int, bool, int]] = []  # input, value, flipped already, trail mark
    flips = 0
    while True:
        pending = None
        conflict = False
        for s, v in objectives:
            if value[s] == X:
                if pending is None:
                    pending = (s, v)
            elif value[s] != v:
                conflict = True
                break
        if not conflict and pending is None:
            return {i: value[i] for i in ix.column if value[i] != X}, "found"
        if conflict:
            while decisions:
                i, v, flipped, mark = decisions.pop()
                while len(trail) > mark:
                    j, old = trail.pop()
                    value[j] = old
                if not flipped:
                    flips += 1
                    if flips > limit:
                        return None, "gave up"
                    decisions.append((i, 1 - v, True, len(trail)))
                    trail.append((i, value[i]))
                    value[i] = 1 - v
                    _imply(ix, value, i, trail)
                    break
            else:
                return None, "impossible"
            continue
        i, v = _backtrace(ix, value, pending[0], pending[1], rnd)
        decisions.append((i, v, False, len(trail)))
        trail.append((i, value[i]))
        value[i] = v
        _imply(ix, value, i, trail)
