r"""Mutations of a cone for the ``gates`` benchmark, the vectors that activate them, and the
label: does the mutated copy still compute the original's function?

**Mutation kinds** (:data:`MUTATION_KINDS`; each changes one site, drawn uniformly among the
cone's sites of that kind; the *mutated nodes* are what :attr:`Mutation.sites` lists):

``gate_swap``
    A logic gate's kind becomes its dual or complement (:data:`GATE_SWAPS`): ``AND`` ↔ ``OR``
    and ``NAND`` ↔ ``NOR`` (gates with two or more pins: on one pin they compute the same),
    ``XOR`` ↔ ``XNOR``, ``BUF`` ↔ ``NOT``.  Mutated node: the gate.
``pin_swap``
    Two wires exchanged between two different gates: pin ``i`` of gate ``g`` reads signal
    ``a`` and pin ``j`` of gate ``h`` reads ``b`` (``a != b``); afterwards ``g`` reads ``b`` and
    ``h`` reads ``a`` (with their inversions).  Exchanging two pins of one gate changes nothing
    for a commutative kind, and the sources have no ``MUX`` (the one kind it would change), so
    the swap is between gates: a miswiring.  A swap that would close a combinational loop is
    drawn again.  Mutated nodes: ``g`` and ``h``.
``inverted_input``
    One pin of one logic gate reads the complement of its signal.  Mutated node: the gate.
``stuck_at_0``, ``stuck_at_1``
    A logic gate's output net stuck at a constant (a stem fault): the gate becomes ``CONST0``
    (``CONST1``) with no fan-in, so every reader sees the constant; the logic that fed only it
    stays in the graph, reaching nothing.  Mutated node: the gate.
``bridge``
    Two distinct signals ``a`` and ``b`` (gate outputs or cone inputs, neither in the other's
    fan-in cone, so no loop closes) shorted: a wired-AND or wired-OR (drawn 50/50), a new gate
    of that kind reading both, which every reader of ``a`` and of ``b`` reads instead.  The new
    gate takes ``a``'s name (``a`` the root or a logic gate where one of the two is; ``a``'s
    driver is renamed ``a~``) so that the cone's input and output names stay those of the
    original.  Mutated nodes: the drivers of ``a`` and ``b`` and the new gate.

**Activation vectors** (:func:`activation_vectors`).  When a cone has more inputs than the
exhaustive limit, random vectors may never *excite* a mutation: set the mutated wire to the
value that tells the copies apart (a stuck-at-0 net to 1, a gate whose swapped kind computes
another value, the two bridged signals to different values).  So a pool of weighted random
vectors is simulated on the original (16 batches of 256 vectors; in each batch every input is
1 with a probability drawn from 1/8, 1/4, 1/2, 3/4, 7/8, which reaches deep ``AND`` and
``OR`` conditions uniform vectors rarely do), every signal's value is kept, and the mutated
gate is evaluated locally on its fan-in's values; the vectors where a mutated node's value
differs between original and copy are the activating ones, and up to
:data:`MAX_ACTIVATING` of them are simulated besides the random vectors.  Exciting a
mutation does not guarantee that the difference reaches the output, and a mutation whose
activating vectors the pool misses stays unexcited: a heuristic without a SAT solver.

**Labels** (:func:`label_mutation`): :func:`~hipool.data.netlists.equivalence.compare_functions`
of the copy against the original, exhaustive with at most ``exhaustive`` inputs (then
``pass`` is a proof), otherwise ``vectors`` random vectors plus the activating ones; a copy
that agrees with the original on all of them is simulated again on ``confirm`` more random
vectors (another seed), the whole weighted pool and targeted vectors
(:mod:`~hipool.data.netlists.gatebench_targets`).  A ``fail`` always has a vector that tells
the copies apart; a non-exhaustive ``pass`` means "no difference found on these vectors",
never a proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .equivalence import FunctionComparison, compare_functions
from .gates import Gate, GateNetlist
from .simulate import Simulator
from .vectors import ONES, unpack

#: The mutation kinds, in the order of ``mutation_kind``'s values.
MUTATION_KINDS: Tuple[str, ...] = ("gate_swap", "pin_swap", "inverted_input", "stuck_at_0", "stuck_at_1", "bridge")
#: ``gate_swap``: each kind's replacement.
GATE_SWAPS: Dict[str, str] = {
    "AND": "OR",
    "OR": "AND",
    "NAND": "NOR",
    "NOR": "NAND",
    "XOR": "XNOR",
    "XNOR": "XOR",
    "BUF": "NOT",
    "NOT": "BUF",
}
#: Most activating vectors simulated besides the random ones.
MAX_ACTIVATING = 256
#: The activation pool: batches, vectors per batch (a multiple of 64), and the input weights.
POOL_BATCHES, POOL_BATCH, POOL_WEIGHTS = 16, 256, (1 / 8, 1 / 4, 1 / 2, 3 / 4, 7 / 8)
#: How often a site that would close a loop (pin swap, bridge) is drawn again.
REDRAWS = 8


@dataclass
class Mutation:
    """A mutated copy of a cone.

    Attributes:
        kind: one of :data:`MUTATION_KINDS`.
        netlist: the copy (the original's gates in the same order, a bridge's new gate last).
        sites: the mutated nodes, as indices into the copy's gates.
        description: what changed, in words (``"G145: NAND -> NOR"``).
        probes: how to tell whether a vector excites it: ``(new gate, its fan-in, original
            signals)`` triples; the vector excites the mutation when the new gate evaluated on
            the fan-in's original values differs from one of the original signals.
    """

    kind: str
    netlist: GateNetlist
    sites: List[int]
    description: str
    probes: List[Tuple[Gate, List[Tuple[str, bool]], List[str]]] = field(default_factory=list)


def _copy(netlist: GateNetlist) -> GateNetlist:
    gates = [Gate(g.name, g.kind, list(g.inputs), g.line, g.instance) for g in netlist.gates]
    return GateNetlist(netlist.name, netlist.source, gates, list(netlist.outputs))


def _logic(netlist: GateNetlist) -> List[int]:
    return [i for i, g in enumerate(netlist.gates) if g.inputs]


def _fanin_cone(netlist: GateNetlist, signal: str) -> set:
    """Every signal ``signal`` depends on, itself included."""
    driver = {g.name: g for g in netlist.gates}
    seen = {signal}
    stack = [signal]
    while stack:
        for s, _ in driver[stack.pop()].inputs:
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


def _swappable(g: Gate) -> bool:
    return g.kind in GATE_SWAPS and (len(g.inputs) > 1 or g.kind not in ("AND", "OR", "NAND", "NOR"))


def apply_mutation(cone: GateNetlist, kind: str, site: tuple) -> Optional[Mutation]:
    """A copy of ``cone`` with the mutation ``kind`` at ``site``, or ``None`` when that would
    close a combinational loop (``pin_swap``, ``bridge``).  ``site`` (indices into the cone's
    gates): ``(gate,)`` for ``gate_swap`` and the stuck-at kinds, ``(gate, pin)`` for
    ``inverted_input``, ``(gate, pin, other gate, its pin)`` for ``pin_swap``, ``(a, b,
    "AND"|"OR")`` for ``bridge``.  A site the kind cannot take is a ``ValueError``."""
    gates = cone.gates
    if kind not in MUTATION_KINDS:
        raise ValueError(f"unknown mutation kind {kind!r}; the kinds: {', '.join(MUTATION_KINDS)}")
    if kind == "bridge":
        return _bridge(cone, *site)
    i = site[0]
    if not gates[i].inputs:
        raise ValueError(f"{kind}: {gates[i].name!r} is a {gates[i].kind}, not a logic gate")
    m = _copy(cone)
    g = m.gates[i]
    if kind == "gate_swap":
        if not _swappable(g):
            raise ValueError(f"gate_swap: {g.name!r} ({g.kind}, {len(g.inputs)} pins) has no swap")
        old, g.kind = g.kind, GATE_SWAPS[g.kind]
        return Mutation(kind, m, [i], f"{g.name}: {old} -> {g.kind}", [(g, g.inputs, [g.name])])
    if kind == "inverted_input":
        k = site[1]
        s, inv = g.inputs[k]
        g.inputs[k] = (s, not inv)
        return Mutation(kind, m, [i], f"{g.name}: pin {k} ({s}) inverted", [(g, g.inputs, [g.name])])
    if kind in ("stuck_at_0", "stuck_at_1"):
        const = Gate(g.name, "CONST0" if kind == "stuck_at_0" else "CONST1", [], g.line)
        m.gates[i] = const
        return Mutation(kind, m, [i], f"{g.name} stuck at {kind[-1]}", [(const, [], [g.name])])
    _, k, j, q = site  # pin_swap
    a, b = gates[i].inputs[k], gates[j].inputs[q]
    if i == j or a[0] == b[0]:
        raise ValueError("pin_swap: two pins of two different gates reading different signals")
    # g now reads b, h reads a: a loop closes when g is in b's fan-in cone or h in a's
    if gates[i].name in _fanin_cone(cone, b[0]) or gates[j].name in _fanin_cone(cone, a[0]):
        return None
    h = m.gates[j]
    g.inputs[k], h.inputs[q] = b, a
    return Mutation(
        kind,
        m,
        [i, j],
        f"{g.name} pin {k} ({a[0]}) <-> {h.name} pin {q} ({b[0]})",
        [(g, g.inputs, [g.name]), (h, h.inputs, [h.name])],
    )


def draw_site(cone: GateNetlist, kind: str, rng: np.random.Generator) -> Optional[tuple]:
    """A site of ``kind`` drawn uniformly with ``rng`` (see :func:`apply_mutation`), ``None`` when
    the cone has none."""
    gates = cone.gates
    logic = _logic(cone)
    if kind == "gate_swap":
        sites = [i for i in logic if _swappable(gates[i])]
        return (sites[int(rng.integers(len(sites)))],) if sites else None
    if kind in ("stuck_at_0", "stuck_at_1"):
        return (logic[int(rng.integers(len(logic)))],) if logic else None
    pins = [(i, k) for i in logic for k in range(len(gates[i].inputs))]
    if kind == "inverted_input":
        return pins[int(rng.integers(len(pins)))] if pins else None
    if kind == "pin_swap":
        if len(logic) < 2:
            return None
        (i, k), (j, q) = (pins[int(x)] for x in rng.integers(len(pins), size=2))
        return (i, k, j, q) if i != j and gates[i].inputs[k][0] != gates[j].inputs[q][0] else ()
    signals = [i for i, g in enumerate(gates) if g.kind == "INPUT" or g.inputs]
    if len(signals) < 2:
        return None
    i, j = (signals[int(x)] for x in rng.choice(len(signals), size=2, replace=False))
    return (i, j, "AND" if rng.integers(2) == 0 else "OR")


def mutate(cone: GateNetlist, kind: str, rng: np.random.Generator) -> Optional[Mutation]:
    """A copy of ``cone`` with one mutation of ``kind`` at a site drawn with ``rng``; ``None``
    when the cone has no site of that kind, or when :data:`REDRAWS` draws all close a loop (or,
    for ``pin_swap``, pick two pins of one gate or of one signal)."""
    for _ in range(REDRAWS):
        site = draw_site(cone, kind, rng)
        if site is None:
            return None
        if site:
            m = apply_mutation(cone, kind, site)
            if m is not None:
                return m
    return None


def _bridge(cone: GateNetlist, i: int, j: int, wired: str) -> Optional[Mutation]:
    gates = cone.gates
    root = cone.outputs[0][0]
    if i == j or wired not in ("AND", "OR") or not (gates[i].inputs or gates[i].kind == "INPUT"):
        raise ValueError("bridge: two different signals (gates or inputs) and 'AND' or 'OR'")
    # a: the root if one is, else a logic gate if one is (its name goes to the bridge)
    if gates[j].name == root or (not gates[i].inputs and gates[j].inputs):
        i, j = j, i
    a, b = gates[i].name, gates[j].name
    if a in _fanin_cone(cone, b) or b in _fanin_cone(cone, a):
        return None
    m = _copy(cone)
    taken = {g.name for g in m.gates}
    if gates[i].inputs:  # the bridge takes a's name; a's driver is renamed
        name, renamed = a, a + "~"
        while renamed in taken:
            renamed += "~"
        m.gates[i].name = renamed
        moved = {b: name}
        fanin = [(renamed, False), (b, False)]
    else:  # two cone inputs: a new name, and every reader of either moves to it
        name = f"bridge({a},{b})"
        while name in taken:
            name += "~"
        moved = {a: name, b: name}
        fanin = [(a, False), (b, False)]
    for g in m.gates:
        g.inputs = [(moved.get(s, s), inv) for s, inv in g.inputs]
    m.outputs = [(moved.get(s, s), inv, line) for s, inv, line in m.outputs]
    m.gates.append(Gate(name, wired, fanin, 0))
    probe = Gate(name, wired, [(a, False), (b, False)], 0)
    return Mutation(
        "bridge", m, [i, j, len(m.gates) - 1], f"{a} and {b} bridged (wired-{wired})", [(probe, probe.inputs, [a, b])]
    )


# -- activation ---------------------------------------------------------------------------------
def activation_pool(num_inputs: int, seed: Union[int, Sequence[int]]) -> np.ndarray:
    """The weighted random pool (packed, ``[inputs, words]``; see the module docstring)."""
    rng = np.random.default_rng(seed)
    per = POOL_BATCH // 64
    words = np.empty((num_inputs, POOL_BATCHES * per), dtype=np.uint64)
    for b in range(POOL_BATCHES):
        r = rng.integers(0, 1 << 64, size=(3, num_inputs, per), dtype=np.uint64)
        choices = (r[0] & r[1] & r[2], r[0] & r[1], r[0], r[0] | r[1], r[0] | r[1] | r[2])
        pick = rng.integers(len(POOL_WEIGHTS), size=num_inputs)
        words[:, b * per : (b + 1) * per] = np.stack([choices[p][n] for n, p in enumerate(pick)]) if num_inputs else 0
    return words


class SignalValues:
    """Every signal's value of a cone on the activation pool, simulated once.

    Attributes:
        pool: the pool, packed (``[inputs, words]``).
        vectors: the pool, unpacked (``[vectors, inputs]``).
        values: every gate's value (``[gates, words]``, rows in the cone's gate order).
    """

    def __init__(self, cone: GateNetlist, seed: Union[int, Sequence[int]]):
        probe = GateNetlist(cone.name, cone.source, cone.gates, [(g.name, False, 0) for g in cone.gates])
        sim = Simulator(probe)
        self.pool = activation_pool(len(sim.inputs), seed)
        self.vectors = unpack(self.pool, self.pool.shape[1] * 64)
        self.values = sim.run_words(self.pool)
        self.row = {g.name: i for i, g in enumerate(cone.gates)}

    def of(self, signal: str) -> np.ndarray:
        return self.values[self.row[signal]]


def evaluate(gate: Gate, values: Sequence[np.ndarray], width: int) -> np.ndarray:
    """``gate`` evaluated on packed fan-in ``values`` (one array per pin, its inversion applied
    here); ``width`` words."""
    if gate.kind == "CONST0":
        return np.zeros(width, dtype=np.uint64)
    if gate.kind == "CONST1":
        return np.full(width, ONES, dtype=np.uint64)
    pins = [v ^ ONES if inv else v for v, (_, inv) in zip(values, gate.inputs)]
    kind = gate.kind
    if kind == "MUX":
        s, d1, d0 = pins
        return d0 ^ (s & (d1 ^ d0))
    if kind in ("AND", "NAND", "BUF", "NOT"):
        out = np.bitwise_and.reduce(pins)
    elif kind in ("OR", "NOR"):
        out = np.bitwise_or.reduce(pins)
    else:
        out = np.bitwise_xor.reduce(pins)
    return out ^ ONES if kind in ("NAND", "NOR", "NOT", "XNOR") else out


def activation_vectors(mutation: Mutation, values: SignalValues, limit: int = MAX_ACTIVATING) -> np.ndarray:
    """Up to ``limit`` vectors of the pool that excite ``mutation`` (unpacked ``[m, inputs]``)."""
    width = values.values.shape[1]
    excited = np.zeros(width, dtype=np.uint64)
    for gate, fanin, originals in mutation.probes:
        new = evaluate(Gate(gate.name, gate.kind, fanin), [values.of(s) for s, _ in fanin], width)
        for s in originals:
            excited |= new ^ values.of(s)
    hits = np.flatnonzero(unpack(excited[None, :], width * 64)[:, 0])[:limit]
    return values.vectors[hits]


def label_mutation(
    original: Simulator,
    mutation: Mutation,
    *,
    exhaustive: int,
    vectors: int,
    seed: int,
    values: Optional[SignalValues] = None,
    aim: Optional[Callable[[], np.ndarray]] = None,
    confirm: int = 0,
    quick: bool = False,
) -> Tuple[FunctionComparison, np.ndarray]:
    """The comparison of ``mutation``'s copy with the original, and the vectors simulated besides
    the random ones (none when exhaustive).  When there are more than ``exhaustive`` inputs:
    ``values``, the original's :class:`SignalValues`, gives the activating vectors, and ``aim``
    (called once, for the full check) targeted ones
    (:func:`~hipool.data.netlists.gatebench_targets.targeted_vectors`).  ``confirm``: when the
    copies agree on all these, simulate ``confirm`` more random vectors (another seed) and the
    whole weighted pool before calling them equal.  With ``quick``, one word of random vectors
    and the activating ones are tried first, and when they already tell the two apart (a
    certain ``fail``) that comparison is returned and the full check skipped.  A copy whose
    simulation fails (a loop) is a :class:`~hipool.data.netlists.gates.NetlistError`."""
    copy = Simulator(mutation.netlist)
    none = np.zeros((0, len(original.inputs)), dtype=np.uint8)
    extra = None
    if len(original.inputs) > exhaustive:
        if values is None:
            raise ValueError("label_mutation: a cone with more inputs than 'exhaustive' needs its SignalValues")
        extra = activation_vectors(mutation, values)
    if quick:
        first = compare_functions(
            original, copy, exhaustive_inputs=min(exhaustive, 6), num_random=64, seed=seed, extra=extra
        )
        if not first.equal:
            return first, extra if extra is not None else none
    result = compare_functions(original, copy, exhaustive_inputs=exhaustive, num_random=vectors, seed=seed, extra=extra)
    if result.equal and not result.exhaustive and values is not None and (aim is not None or confirm):
        more = [values.vectors] + ([aim()] if aim is not None else [])
        more_vectors = np.concatenate(more)
        second = compare_functions(
            original, copy, exhaustive_inputs=0, num_random=max(confirm, 64), seed=seed + 1, extra=more_vectors
        )
        if not second.equal:
            return second, more_vectors
        result.num_vectors += second.num_vectors
        result.note += (
            f"; then {max(confirm, 64)} more random vectors (seed {seed + 1}), the {len(more[0])} weighted ones "
            f"and {len(more_vectors) - len(more[0])} targeted ones"
        )
    return result, extra if extra is not None else none


__all__ = [
    "GATE_SWAPS",
    "MAX_ACTIVATING",
    "MUTATION_KINDS",
    "Mutation",
    "SignalValues",
    "activation_pool",
    "activation_vectors",
    "apply_mutation",
    "draw_site",
    "evaluate",
    "label_mutation",
    "mutate",
]
