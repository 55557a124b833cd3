r"""A bit-parallel logic simulator for the gate-level netlists hipool reads (``.bench``, BLIF,
AIGER): what a circuit computes, 64 input vectors per machine word.

:class:`Simulator` checks and levelises a :class:`~hipool.data.netlists.gates.GateNetlist`
once, then evaluates it level by level: every level is a handful of numpy ``uint64`` operations
over all its gates at once (gates of one operation and fan-in count share one gather and one
``&``, ``^`` or mux), each on a block of words (``[gates, words]``), 64 vectors per word.

**Gate semantics.**  ``AND``, ``NAND``, ``OR``, ``NOR``, ``XOR`` and ``XNOR`` take one or
more inputs (``XOR`` is the parity of all its inputs, ``XNOR`` its complement); ``BUF`` and
``NOT`` one; ``CONST0`` and ``CONST1`` none.  ``MUX`` takes three, **select first**:
``MUX(s, d1, d0) = d1 if s else d0`` (ABC's ``.bench`` reader, whose MUX cover is
``11- 1`` / ``0-1 1``).  A fan-in pin marked inverted (AIGER's complemented literals, BLIF
covers with ``0`` literals) reads the complement of its signal; so does an inverted output.

**Sequential circuits: full scan.**  Each flip-flop (``DFF``) is cut: its output net ``q``
becomes a *pseudo-input* named ``q`` and its data input a *pseudo-output* named ``q.D``, so
one run computes the next state and the outputs from the inputs and the present state.
:attr:`Simulator.inputs` lists the primary inputs in the file's order, then the
pseudo-inputs in the order of the flip-flops; :attr:`Simulator.outputs` the primary outputs
in the file's order, then the pseudo-outputs in the same flip-flop order.

**Output names** are the names the file gives them (AIGER's ``o<k> name`` symbols,
:attr:`~hipool.data.netlists.gates.GateNetlist.output_names`), else the signals they read,
``!`` in front of a complemented one (an AIGER output without a symbol is named after its
driver, ``a17`` or ``!a17``); a name already taken by an input or an earlier output gets
``#2``, ``#3``, ... (ISCAS c2670 lists inputs among its outputs).

**Vectors** are either *unpacked*, a ``[vectors, inputs]`` array of 0/1 (:meth:`Simulator.run`),
or *packed*, ``[inputs, words]`` ``uint64`` where vector ``v`` is bit ``v % 64`` of word
``v // 64`` (:meth:`Simulator.run_words`); :mod:`hipool.data.netlists.vectors` makes them
(exhaustive: input ``i`` of vector ``v`` is bit ``i`` of ``v``; random: deterministic for a
seed) and :mod:`hipool.data.netlists.equivalence` compares two netlists' functions on the same
vectors.  :meth:`Simulator.run_slow` is the plain per-vector Python evaluation the bit-parallel
run is checked and timed against.

Refused, as a :class:`~hipool.data.netlists.gates.NetlistError` naming the file and line:
a combinational loop (the message names a gate on it and walks the loop), a signal read but
never driven, a signal driven twice, an unknown gate kind or a fan-in count its kind does not
take (the readers refuse all but loops already).  Vectors of the wrong width are a
``ValueError`` naming the expected and the given width.
"""

from __future__ import annotations

from collections import defaultdict, deque
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from tqdm.auto import tqdm

from .gates import ARITY, GATE_KINDS, Gate, GateNetlist, NetlistError
from .vectors import (
    MAX_EXHAUSTIVE_INPUTS,
    ONES,
    clear_tail,
    exhaustive_words,
    pack,
    random_words,
    show_names,
    unpack,
)

#: Memory of the value table one block of words may take (rows x words x 8 bytes).
BLOCK_BYTES = 256 << 20
_AND, _XOR, _MUX = 0, 1, 2
#: Each kind as (operation, invert every pin, invert the result): OR is an AND of the inverted
#: pins, inverted (De Morgan); BUF and NOT are one-pin ANDs.
_OPS: Dict[str, Tuple[int, bool, bool]] = {
    "BUF": (_AND, False, False),
    "NOT": (_AND, False, True),
    "AND": (_AND, False, False),
    "NAND": (_AND, False, True),
    "OR": (_AND, True, True),
    "NOR": (_AND, True, False),
    "XOR": (_XOR, False, False),
    "XNOR": (_XOR, False, True),
    "MUX": (_MUX, False, False),
}
_SOURCES = ("INPUT", "CONST0", "CONST1", "DFF")
#: The gate-level netlist endings :func:`read_simulator` reads.
GATE_ENDINGS = (".bench", ".blif", ".aag", ".aig")
#: A pin's (or result's) inversion: None (none inverted), the all-ones scalar (all), or a [G, 1] mask.
_Mask = Union[None, np.uint64, np.ndarray]


def _mask(flags: Sequence[bool]) -> _Mask:
    if not any(flags):
        return None
    if all(flags):
        return ONES
    return np.where(np.asarray(flags, dtype=bool), ONES, np.uint64(0)).astype(np.uint64)[:, None]


def _flip(x: np.ndarray, mask: _Mask) -> np.ndarray:
    if mask is not None:
        np.bitwise_xor(x, mask, out=x)
    return x


class Simulator:
    """The compiled simulation of one netlist (see the module docstring).

    Attributes:
        netlist: the netlist it simulates.
        inputs: the names of its inputs, primary then pseudo (one per flip-flop).
        outputs: the names of its outputs, primary then pseudo (``q.D``).
        num_gates: the gates evaluated per vector (flip-flops, inputs and constants not counted).
        depth: the levels of logic (0: outputs read inputs directly).
        num_rows: the rows of the value table (the two constants, the inputs, the gates).
    """

    def __init__(self, netlist: GateNetlist):
        self.netlist = netlist
        order, level, reads, row_of_source = self._check(netlist)
        self._order = order  # the logic gates, topologically sorted (for run_slow)
        self.num_gates = len(order)
        self.depth = max(level.values(), default=0)
        groups: Dict[Tuple[int, int, int], list] = defaultdict(list)
        for g in order:
            groups[(level[g.name], _OPS[g.kind][0], len(g.inputs))].append(g)
        row = dict(row_of_source)
        next_row = 2 + len(self.inputs)
        plan = []
        for (_, op, n), gs in sorted(groups.items()):
            start = next_row
            for g in gs:
                row[g.name] = next_row
                next_row += 1
            pins: list = []
            masks: list = []
            for k in range(n):
                pins.append(np.array([row[g.inputs[k][0]] for g in gs], dtype=np.intp))
                masks.append(_mask([g.inputs[k][1] != _OPS[g.kind][1] for g in gs]))
            out = _mask([_OPS[g.kind][2] for g in gs])
            if op == _XOR:  # an inverted pin of a parity flips the result: fold the pins into it
                flips = [_OPS[g.kind][2] ^ (sum(inv for _, inv in g.inputs) % 2 == 1) for g in gs]
                masks, out = [None] * n, _mask(flips)
            plan.append((op, start, next_row, pins, masks, out))
        self._plan = plan
        self.num_rows = next_row
        self._out_rows = np.array([row[s] for s, _ in reads], dtype=np.intp)
        self._out_mask = _mask([inv for _, inv in reads])

    def _check(self, nl: GateNetlist) -> Tuple[List[Gate], Dict[str, int], List[Tuple[str, bool]], Dict[str, int]]:
        """Check ``nl`` and name its inputs and outputs; its logic gates in topological order,
        their levels, the signals the outputs read and the value-table rows of the sources."""
        driver: Dict[str, Gate] = {}
        for g in nl.gates:
            if g.kind not in GATE_KINDS or g.kind == "OUTPUT":
                raise nl.error(g.line, f"gate {g.name!r} has kind {g.kind!r}, which the simulator does not know")
            if g.name in driver:
                raise nl.error(g.line, f"signal {g.name!r} is driven twice (first on line {driver[g.name].line})")
            lo, hi = ARITY[g.kind]
            if len(g.inputs) < lo or (hi is not None and len(g.inputs) > hi):
                want = f"{lo}" if lo == hi else f"at least {lo}"
                raise nl.error(g.line, f"gate {g.name!r} ({g.kind}) has {len(g.inputs)} inputs; {g.kind} takes {want}")
            driver[g.name] = g
        for g in nl.gates:
            for s, _ in g.inputs:
                if s not in driver:
                    raise nl.error(g.line, f"gate {g.name!r} reads signal {s!r}, which nothing drives")
        for s, _, line in nl.outputs:
            if s not in driver:
                raise nl.error(line, f"output {s!r} names a signal that nothing drives")
        flops = [g for g in nl.gates if g.kind == "DFF"]
        self.inputs: Tuple[str, ...] = tuple([g.name for g in nl.gates if g.kind == "INPUT"] + [g.name for g in flops])
        reads = [(s, inv) for s, inv, _ in nl.outputs] + [g.inputs[0] for g in flops]
        names = [nl.output_names.get(k, ("!" if inv else "") + s) for k, (s, inv, _) in enumerate(nl.outputs)] + [
            f"{g.name}.D" for g in flops
        ]
        taken = set(self.inputs)
        unique = []
        for name in names:
            k, new = 1, name
            while new in taken:
                k += 1
                new = f"{name}#{k}"
            taken.add(new)
            unique.append(new)
        self.outputs: Tuple[str, ...] = tuple(unique)
        row = {g.name: 0 if g.kind == "CONST0" else 1 for g in nl.gates if g.kind in ("CONST0", "CONST1")}
        row.update({name: 2 + i for i, name in enumerate(self.inputs)})
        logic = [g for g in nl.gates if g.kind not in _SOURCES]
        return (*_levelise(nl, logic, driver), reads, row)

    # -- vectors -------------------------------------------------------------------------------
    def random_words(self, num_vectors: int, seed: int = 0) -> np.ndarray:
        """``num_vectors`` random vectors for :attr:`inputs`, packed; the same for the same seed
        (:func:`~hipool.data.netlists.vectors.random_words`)."""
        return random_words(len(self.inputs), num_vectors, seed)

    def random_vectors(self, num_vectors: int, seed: int = 0) -> np.ndarray:
        """The vectors of :meth:`random_words`, unpacked (``[vectors, inputs]`` uint8 0/1)."""
        return unpack(self.random_words(num_vectors, seed), num_vectors)

    def exhaustive_words(self, limit: int = MAX_EXHAUSTIVE_INPUTS) -> np.ndarray:
        """All ``2^inputs`` vectors, packed; input ``i`` of vector ``v`` is bit ``i`` of ``v``.  A
        ``ValueError`` naming the file when there are more than ``limit`` inputs (the caller
        simulates random vectors instead and says so)."""
        try:
            return exhaustive_words(len(self.inputs), limit)
        except ValueError as e:
            raise ValueError(f"{self.netlist.source}: {e} (pseudo-inputs of flip-flops included)") from None

    def exhaustive_vectors(self, limit: int = MAX_EXHAUSTIVE_INPUTS) -> np.ndarray:
        """The vectors of :meth:`exhaustive_words`, unpacked (``[2^inputs, inputs]``)."""
        return unpack(self.exhaustive_words(limit), 1 << len(self.inputs))

    # -- running ---------------------------------------------------------------------------------
    def _check_width(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != len(self.inputs):
            got = vectors.shape[1] if vectors.ndim == 2 else f"(an array of shape {vectors.shape})"
            raise ValueError(
                f"{self.netlist.source}: vectors of width {got}; expected {len(self.inputs)} "
                f"(one column per input: {show_names(self.inputs)})"
            )
        return vectors

    def run(self, vectors: np.ndarray) -> np.ndarray:
        """The outputs (``[vectors, outputs]`` uint8 0/1) of unpacked ``vectors``
        (``[vectors, inputs]`` of 0/1, one column per :attr:`inputs`)."""
        vectors = self._check_width(vectors)
        return unpack(self.run_words(pack(vectors), len(vectors)), len(vectors))

    def run_words(
        self,
        words: np.ndarray,
        num_vectors: Optional[int] = None,
        *,
        progress: bool = False,
        block_bytes: int = BLOCK_BYTES,
    ) -> np.ndarray:
        """The outputs (``[outputs, words]`` uint64) of packed ``words`` (``[inputs, words]``);
        ``num_vectors``: how many bits of ``words`` are vectors (default all; the result's bits
        past them are 0).  The words go through in blocks whose value table (a row per signal)
        takes at most ``block_bytes``; ``progress``: a bar over the blocks, shown after 2 s."""
        words = np.asarray(words)
        if words.ndim != 2 or words.shape[0] != len(self.inputs) or words.dtype != np.uint64:
            raise ValueError(
                f"{self.netlist.source}: packed vectors of shape {words.shape} ({words.dtype}); expected "
                f"uint64 [{len(self.inputs)} inputs, words]"
            )
        total = words.shape[1]
        out = np.zeros((len(self.outputs), total), dtype=np.uint64)
        step = max(1, min(total, block_bytes // (8 * self.num_rows)))
        step = -(-total // -(-total // step)) if total else 1  # blocks of equal width
        table = np.empty((self.num_rows, step), dtype=np.uint64)  # reused: no page faults per block
        starts = range(0, total, step)
        for lo in tqdm(starts, desc="simulating", unit="block", disable=not progress, delay=2, leave=False):
            hi = min(total, lo + step)
            if hi - lo < step:
                table = np.empty((self.num_rows, hi - lo), dtype=np.uint64)
            out[:, lo:hi] = self._run_block(words[:, lo:hi], table)
        return clear_tail(out, total * 64 if num_vectors is None else num_vectors)

    def _run_block(self, words: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The outputs of one block of ``words``, with ``v`` (``[rows, words]``) as the value table."""
        v[0] = 0
        v[1] = ONES
        v[2 : 2 + len(self.inputs)] = words
        for op, start, stop, pins, masks, out in self._plan:
            dst = v[start:stop]
            a = _flip(v[pins[0]], masks[0])
            if op == _MUX:  # d0 ^ (s & (d1 ^ d0))
                d1, d0 = _flip(v[pins[1]], masks[1]), _flip(v[pins[2]], masks[2])
                np.bitwise_xor(d1, d0, out=d1)
                np.bitwise_and(a, d1, out=a)
                np.bitwise_xor(a, d0, out=dst)
            elif len(pins) == 1:
                dst[...] = a
            else:
                fn = np.bitwise_and if op == _AND else np.bitwise_xor
                for k in range(1, len(pins) - 1):
                    fn(a, _flip(v[pins[k]], masks[k]), out=a)
                fn(a, _flip(v[pins[-1]], masks[-1]), out=dst)
            _flip(dst, out)
        return _flip(v[self._out_rows], self._out_mask)

    def run_slow(self, vectors: np.ndarray) -> np.ndarray:
        """:meth:`run`, one vector at a time in plain Python over the gates as the file wrote
        them: the reference the bit-parallel run is checked and timed against."""
        vectors = self._check_width(vectors)
        nl = self.netlist
        consts = {g.name: int(g.kind == "CONST1") for g in nl.gates if g.kind in ("CONST0", "CONST1")}
        reads = [(s, inv) for s, inv, _ in nl.outputs] + [g.inputs[0] for g in nl.gates if g.kind == "DFF"]
        flip = {"NAND": 1, "NOT": 1, "NOR": 1, "XNOR": 1}
        family = {"BUF": "AND", "NOT": "AND", "NAND": "AND", "NOR": "OR", "XNOR": "XOR"}
        gates = [(g.name, family.get(g.kind, g.kind), flip.get(g.kind, 0), g.inputs) for g in self._order]
        result = np.zeros((len(vectors), len(self.outputs)), dtype=np.uint8)
        for i, vector in enumerate(vectors.tolist()):
            val = dict(consts)
            val.update(zip(self.inputs, vector))
            for name, kind, y, ins in gates:  # y starts as the output inversion
                if kind == "AND":  # 0 as soon as a pin reads 0
                    for s, inv in ins:
                        if val[s] == inv:
                            break
                    else:
                        y ^= 1
                elif kind == "OR":  # 1 as soon as a pin reads 1
                    for s, inv in ins:
                        if val[s] != inv:
                            y ^= 1
                            break
                elif kind == "XOR":
                    for s, inv in ins:
                        y ^= val[s] ^ inv
                else:  # MUX(s, d1, d0)
                    (s, si), (d1, i1), (d0, i0) = ins
                    y = val[d1] ^ i1 if val[s] ^ si else val[d0] ^ i0
                val[name] = y
            result[i] = [val[s] ^ inv for s, inv in reads]
        return result


def _levelise(nl: GateNetlist, logic: List[Gate], driver: Dict[str, Gate]) -> Tuple[List[Gate], Dict[str, int]]:
    """``logic`` in an order where every gate comes after the logic gates it reads, and each
    gate's level (1 + the highest level it reads; inputs, constants and flip-flops are 0).  One
    pass in the file's order levels the gates whose fan-in is levelled already (all of them
    in a file written in order, as AIGER is); Kahn's algorithm sorts the rest.  A
    combinational loop is a NetlistError naming a gate on it, its line and the loop."""
    level = {g.name: 0 for g in nl.gates if g.kind in _SOURCES}
    order, pending = [], []
    for g in logic:
        top = 0
        for s, _ in g.inputs:
            at = level.get(s)
            if at is None:
                pending.append(g)
                break
            top = at if at > top else top
        else:
            level[g.name] = top + 1
            order.append(g)
    if not pending:
        return order, level
    names = {g.name for g in pending}
    waiting: Dict[str, int] = {}
    readers: Dict[str, list] = defaultdict(list)
    for g in pending:
        deps = {s for s, _ in g.inputs if s in names}
        waiting[g.name] = len(deps)
        for s in deps:
            readers[s].append(g)
    ready = deque(g for g in pending if waiting[g.name] == 0)
    while ready:
        g = ready.popleft()
        level[g.name] = 1 + max(level[s] for s, _ in g.inputs)
        order.append(g)
        for r in readers.get(g.name, ()):
            waiting[r.name] -= 1
            if waiting[r.name] == 0:
                ready.append(r)
    if len(order) == len(logic):
        return order, level
    # Every gate left waits on another left: walk back along waiting inputs until one repeats.
    g = next(g for g in pending if waiting[g.name] > 0)
    seen: Dict[str, int] = {}
    path = []
    while g.name not in seen:
        seen[g.name] = len(path)
        path.append(g)
        g = next(driver[s] for s, _ in g.inputs if waiting.get(s, 0) > 0)
    loop = path[seen[g.name] :][::-1]  # in signal order: each gate reads the one before it
    walk = " -> ".join(repr(x.name) for x in loop + loop[:1])
    raise nl.error(
        loop[0].line,
        f"combinational loop through gate {loop[0].name!r} ({loop[0].kind}): {walk}; "
        f"a loop must pass through a flip-flop (DFF) to be simulated",
    )


def read_simulator(path: Union[str, Path]) -> Simulator:
    """The simulator of a gate-level netlist file, read by the reader of its ending
    (:func:`hipool.data.netlists.dataset.read_netlist`); an analog netlist or another file is
    a :class:`~hipool.data.netlists.gates.NetlistError`."""
    from .dataset import read_netlist

    path = Path(path)
    if path.suffix.lower() not in GATE_ENDINGS:
        raise NetlistError(
            f"{path}: not a gate-level netlist (the simulator reads {', '.join(GATE_ENDINGS)}; "
            f"an analog netlist has no logic function to simulate)"
        )
    return Simulator(read_netlist(path))
