"""ISCAS ``.bench`` netlists (the ISCAS-85 and ISCAS-89 benchmarks' format).

One design per file::

    # comment
    INPUT(G0)
    OUTPUT(G17)
    G5 = DFF(G10)
    G10 = NAND(G0, G5)

``INPUT(s)`` and ``OUTPUT(s)`` declare primary inputs and outputs; ``s = KIND(a, b, ...)``
defines signal ``s`` as a gate of ``KIND`` over its fan-in in pin order.  Keywords and gate
kinds are case-insensitive; signal names are case-sensitive and may hold any character but
white space, ``(``, ``)``, ``,``, ``=`` and ``#``.  Kinds, with their common aliases:
``AND``, ``NAND``, ``OR``, ``NOR``, ``XOR``, ``XNOR``, ``NOT`` (``INV``), ``BUF``
(``BUFF``), ``DFF`` (``FF``, ``LATCH``), ``MUX`` (select first), and the constants
``CONST0``/``GND``/``ZERO`` and ``CONST1``/``VDD``/``ONE`` with no fan-in.  A ``#`` starts
a comment anywhere on a line.  Definitions may come in any order (a gate may read a
signal defined further down).  Errors are :class:`~hipool.data.netlists.gates.NetlistError`
with ``file:line``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Union

from .gates import Gate, GateNetlist, NetlistError, decode_netlist_text, read_netlist_bytes

#: The kinds a ``.bench`` file may name, by their (upper-case) spelling.
KINDS: Dict[str, str] = {
    **{k: k for k in ("AND", "NAND", "OR", "NOR", "XOR", "XNOR", "NOT", "BUF", "DFF", "MUX")},
    "INV": "NOT",
    "BUFF": "BUF",
    "FF": "DFF",
    "LATCH": "DFF",
    "CONST0": "CONST0",
    "GND": "CONST0",
    "ZERO": "CONST0",
    "CONST1": "CONST1",
    "VDD": "CONST1",
    "ONE": "CONST1",
}
_NAME = r"[^\s(),=#]+"
_DECL = re.compile(rf"(INPUT|OUTPUT)\s*\(\s*({_NAME})\s*\)", re.IGNORECASE)
_GATE = re.compile(rf"({_NAME})\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)")
_ARG = re.compile(rf"\s*({_NAME})\s*")


def parse_bench(text: str, source: str, name: str) -> GateNetlist:
    """The :class:`~hipool.data.netlists.gates.GateNetlist` of ``.bench`` text (``source`` names
    it in errors, ``name`` is the design's name)."""
    netlist = GateNetlist(name=name, source=source)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        decl = _DECL.fullmatch(line)
        if decl:
            keyword, signal = decl.group(1).upper(), decl.group(2)
            if keyword == "INPUT":
                netlist.gates.append(Gate(signal, "INPUT", line=number))
            else:
                netlist.outputs.append((signal, False, number))
            continue
        gate = _GATE.fullmatch(line)
        if gate is None:
            raise NetlistError(
                f"{source}:{number}: expected INPUT(name), OUTPUT(name) or name = KIND(inputs), got {_clip(line)}"
            )
        signal, kind_text, args = gate.group(1), gate.group(2), gate.group(3)
        kind = KINDS.get(kind_text.upper())
        if kind is None:
            raise NetlistError(
                f"{source}:{number}: unknown gate kind {_clip(kind_text)} for {_clip(signal)}; "
                f"known: {', '.join(sorted(KINDS))}"
            )
        inputs = []
        if args.strip():
            for part in args.split(","):
                arg = _ARG.fullmatch(part)
                if arg is None:
                    raise NetlistError(
                        f"{source}:{number}: gate {_clip(signal)} has a bad input {_clip(part.strip()) or 'name'!s} "
                        f"(inputs are names separated by commas)"
                    )
                inputs.append((arg.group(1), False))
        netlist.gates.append(Gate(signal, kind, inputs, line=number))
    if not netlist.gates and not netlist.outputs:
        raise NetlistError(f"{source}: no INPUT, OUTPUT or gate: not a .bench netlist")
    return netlist


def read_bench(path: Union[str, Path]) -> GateNetlist:
    """Read a ``.bench`` file (UTF-8 or ASCII text; the design is named after the file's stem)."""
    path = Path(path)
    text = decode_netlist_text(read_netlist_bytes(path, ".bench netlist"), str(path), ".bench netlist")
    return parse_bench(text, str(path), path.stem)


def _clip(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
