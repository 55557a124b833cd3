"""BLIF covers as gates: the gate (or small sub-network) that a ``.names`` cover computes.

A cover is a sum of cubes over its inputs (``1``: the input, ``0``: its complement, ``-``:
not used), ON-set (rows with output ``1``) or OFF-set (output ``0``: the complement).  It
becomes one gate where it is one: a constant, ``BUF``, ``NOT``, ``AND``/``NOR`` (one cube;
mixed literals are an ``AND`` with inverted pins), ``OR``/``NAND`` (single-literal cubes;
mixed, an ``OR`` with inverted pins), ``XOR``/``XNOR`` (two 2-literal cubes); an OFF-set
cover gives the complementary kind.  Any other cover becomes one ``AND`` per distinct cube
(``<out>.c0``, ``<out>.c1``, ..., a name already taken gets ``_`` appended) feeding ``<out>``,
an ``OR`` (ON-set) or a ``NOR`` (OFF-set).  Covers are not minimised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Set, Tuple

from .gates import Gate

COMPLEMENT = {
    "AND": "NAND",
    "NAND": "AND",
    "OR": "NOR",
    "NOR": "OR",
    "XOR": "XNOR",
    "XNOR": "XOR",
    "BUF": "NOT",
    "NOT": "BUF",
    "CONST0": "CONST1",
    "CONST1": "CONST0",
}
_Literal = Tuple[int, bool]  # (position among the .names inputs, inverted)


@dataclass
class Cover:
    """One ``.names``: its inputs, output, rows (``(cube, value)``) and line."""

    inputs: List[str]
    output: str
    line: int
    rows: List[Tuple[str, str]] = field(default_factory=list)
    value: str = ""  # "1" (ON-set) or "0" (OFF-set) once a row is read
    value_line: int = 0


def cover_gates(cover: Cover, taken: Set[str]) -> List[Gate]:
    """The gate (or sub-network) of a cover; see the module docstring.  ``taken``: the names in
    use, to which the sub-network's names are added."""
    out, names, line = cover.output, cover.inputs, cover.line
    on = cover.value != "0"
    if not cover.rows:
        return [Gate(out, "CONST0", [], line)]
    cubes: List[Tuple[_Literal, ...]] = []
    seen: Set[Tuple[_Literal, ...]] = set()
    for cube, _ in cover.rows:
        lits = tuple((i, c == "0") for i, c in enumerate(cube) if c != "-")
        if not lits:  # a cube of only don't-cares: the whole space
            return [Gate(out, "CONST1" if on else "CONST0", [], line)]
        if lits not in seen:
            seen.add(lits)
            cubes.append(lits)

    def gate(kind: str, lits: Tuple[_Literal, ...], invert_pins: bool) -> List[Gate]:
        pins = [(names[i], inv and invert_pins) for i, inv in lits]
        return [Gate(out, kind if on else COMPLEMENT[kind], pins, line)]

    if len(cubes) == 1:
        lits = cubes[0]
        if len(lits) == 1:
            return gate("NOT" if lits[0][1] else "BUF", lits, False)
        inverted = sum(inv for _, inv in lits)
        if inverted == len(lits):
            return gate("NOR", lits, False)
        return gate("AND", lits, True)
    if all(len(c) == 1 for c in cubes):
        flat = tuple(c[0] for c in cubes)
        if len({i for i, _ in flat}) < len(flat):  # x + ~x: the whole space
            return [Gate(out, "CONST1" if on else "CONST0", [], line)]
        if all(inv for _, inv in flat):
            return gate("NAND", flat, False)
        return gate("OR", flat, True)
    if len(cubes) == 2 and len(cubes[0]) == len(cubes[1]) == 2:
        (i0, a0), (j0, b0) = cubes[0]
        (i1, a1), (j1, b1) = cubes[1]
        if (i0, j0) == (i1, j1) and (a0 != b0) == (a1 != b1):
            return gate("XOR" if a0 != b0 else "XNOR", ((i0, False), (j0, False)), False)
    gates: List[Gate] = []
    for k, lits in enumerate(cubes):
        name = f"{out}.c{k}"
        while name in taken:
            name += "_"
        taken.add(name)
        gates.append(Gate(name, "AND", [(names[i], inv) for i, inv in lits], line))
    gates.append(Gate(out, "OR" if on else "NOR", [(g.name, False) for g in gates], line))
    return gates
