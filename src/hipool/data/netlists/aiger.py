r"""AIGER and-inverter graphs (the AIGER 1.9 format, http://fmv.jku.at/aiger/FORMAT), ASCII
``.aag`` and binary ``.aig``, read into a :class:`~hipool.data.netlists.gates.GateNetlist`.

The header's first word (``aag`` or ``aig``), not the file's extension, picks the variant.
A literal is ``2 * variable + inverted``; variable 0 is the constant false.

* Each input is a ``Gate(name, "INPUT")``; each latch a ``Gate(name, "DFF", [next])``; each
  AND gate a ``Gate(name, "AND", [rhs0, rhs1])``, its fan-in ``(signal, inverted)`` pairs.
  Literals 0 and 1 read one ``CONST0`` gate named ``const0`` (first in :attr:`gates`, made
  only when some literal uses it; literal 1 is that gate inverted).  Then come the inputs,
  the latches and the AND gates, each in the file's order.
* Names: ``i<k>``, ``l<k>`` and ``a<k>`` (the k-th input, latch and AND gate), or the symbol
  table's ``i<k> name`` and ``l<k> name``.  A default name that a symbol already took gets
  ``_`` appended; two inputs or latches given the same name are an error.  The symbol
  table's names for outputs (``o<k> name``) go to :attr:`GateNetlist.output_names` (the
  simulator's column names); those of properties (``b``, ``c``, ``j``, ``f``) are checked but
  not kept.  The comment section is not read.
* The AIGER 1.9 header fields ``B C J F`` (bad states, invariant constraints, justice and
  fairness properties) are read as **extra outputs**, appended after the primary outputs
  in that order (a justice property contributes each of its literals): the graph does not
  tell them apart from primary outputs.  A latch's reset value (0, 1, or its own literal
  for "uninitialised") is checked and dropped: a ``DFF`` node has no reset.

Errors are a :class:`~hipool.data.netlists.gates.NetlistError` naming the place:
``file:line: ...`` for the text parts, ``file: byte N: ...`` (the offset of the offending
varint) inside the binary AND section.  In a binary file the header is line 1 and lines
after the AND section are counted as an editor counts them.  Binary AND gates have no line
(their :attr:`Gate.line` is 0).  Refused: a bad header (not ``aag``/``aig``, 5 to 9
numbers, M < I + L + A, or M != I + L + A for binary), more than :data:`MAX_VARIABLES`
variables, a literal above 2M + 1, an odd or constant AND left-hand side (or input or latch
literal), a variable defined twice, a variable used but never defined, a binary AND whose
deltas do not give ``lhs > rhs0 >= rhs1``, a file that ends early, and text that is not
UTF-8 (or a binary section where text belongs).  Reading never runs anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .gates import Gate, GateNetlist, NetlistError, no_cyclic_gc, read_netlist_bytes

#: The most variables (header field M) a file may declare: the graph holds a Python object
#: per gate: 10 million (as many as hipool reads in one graph of the user's own) is a few GB.
MAX_VARIABLES: int = 10_000_000

_FIELDS = ("M", "I", "L", "O", "A", "B", "C", "J", "F")
_MAX_DIGITS = 12  # longer numbers are over any bound; int() on huge strings is slow
_AND = Tuple[int, int, int, int]  # (lhs variable, rhs0 literal, rhs1 literal, line)


def _show(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


class _Lines:
    """The text lines of ``data`` from byte ``pos`` on, numbered from ``line``."""

    def __init__(self, netlist: GateNetlist, data: bytes, pos: int = 0, line: int = 1):
        self.netlist, self.data, self.pos, self.line = netlist, data, pos, line - 1

    def error(self, message: str) -> NetlistError:
        return self.netlist.error(self.line, message)

    def next(self, what: str) -> str:
        text = self.maybe()
        if text is None:
            raise self.netlist.error(self.line + 1, f"the file ends before {what}")
        return text

    def maybe(self) -> Optional[str]:
        """The next line (without its newline), or None at the end of the file."""
        data, pos = self.data, self.pos
        if pos >= len(data):
            return None
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        self.pos = end + 1
        self.line += 1
        raw = data[pos:end]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self.error(
                f"byte {pos + e.start} is not UTF-8 text (binary data where AIGER expects a text line?)"
            ) from None
        return text[:-1] if text.endswith("\r") else text

    def numbers(self, what: str, fewest: int, most: int) -> List[int]:
        """The next line as ``fewest`` to ``most`` non-negative integers."""
        tokens = self.next(what).split()
        if not fewest <= len(tokens) <= most:
            want = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise self.error(f"{what} has {len(tokens)} numbers; it takes {want}")
        return [self.integer(t, what) for t in tokens]

    def integer(self, token: str, what: str) -> int:
        if not (token.isascii() and token.isdigit()) or len(token) > _MAX_DIGITS:
            raise self.error(f"{what}: {_show(token)} is not a non-negative integer (of at most {_MAX_DIGITS} digits)")
        return int(token)


class _Reader:
    """The sections of one AIGER file as numbers, then the netlist built from them."""

    def __init__(self, data: bytes, source: str, name: str):
        self.data = data
        self.netlist = GateNetlist(name=name, source=source)
        self.lines = _Lines(self.netlist, data)
        self.defined: Dict[int, int] = {}  # ASCII: variable -> the line that defined it

    def literal(self, lit: int, what: str) -> int:
        if lit > self.max_literal:
            raise self.lines.error(
                f"{what}: literal {lit} is out of range (M = {self.m} allows up to {self.max_literal})"
            )
        return lit

    def define(self, lit: int, what: str) -> int:
        """The variable of ``lit``, a new definition (an input, latch or AND output)."""
        self.literal(lit, what)
        if lit & 1 or lit < 2:
            kind = "odd (inverted)" if lit & 1 else "the constant"
            raise self.lines.error(f"{what}: literal {lit} is {kind}; it must be an even literal of 2 or more")
        var = lit >> 1
        if var in self.defined:
            raise self.lines.error(
                f"{what}: variable {var} (literal {lit}) is defined twice (first on line {self.defined[var]})"
            )
        self.defined[var] = self.lines.line
        return var

    def header(self) -> None:
        lines = self.lines
        tokens = lines.next("the header").split()
        if not tokens or tokens[0] not in ("aag", "aig"):
            got = _show(tokens[0]) if tokens else "an empty line"
            raise lines.error(f"not an AIGER header: expected 'aag' or 'aig' then M I L O A, got {got}")
        self.binary = tokens[0] == "aig"
        counts = tokens[1:]
        if not 5 <= len(counts) <= 9:
            raise lines.error(
                f"the header has {len(counts)} numbers; AIGER takes 5 (M I L O A) to 9 (M I L O A B C J F)"
            )
        values = [lines.integer(t, f"header field {f}") for t, f in zip(counts, _FIELDS)]
        values += [0] * (9 - len(values))
        self.m, self.i, self.l, self.o, self.a, self.b, self.c, self.j, self.f = values
        big = [f"{f} = {v}" for f, v in zip(_FIELDS, values) if v > MAX_VARIABLES]
        if big:
            raise lines.error(f"{', '.join(big)} is over the limit of {MAX_VARIABLES} that hipool reads")
        total = self.i + self.l + self.a
        if self.m < total:
            raise lines.error(f"M = {self.m} is less than I + L + A = {total}")
        if self.binary and self.m != total:
            raise lines.error(f"M = {self.m} differs from I + L + A = {total}, as binary AIGER ('aig') requires")
        self.max_literal = 2 * self.m + 1

    def sections(self) -> None:
        """Inputs, latches, outputs and properties: text in both variants."""
        lines = self.lines
        self.inputs: List[Tuple[int, int]] = []
        for k in range(self.i):
            if self.binary:  # implicit: variables 1..I
                var = k + 1
            else:
                (lit,) = lines.numbers(f"input {k}", 1, 1)
                var = self.define(lit, f"input {k}")
            self.inputs.append((var, lines.line))
        self.latches: List[Tuple[int, int, int]] = []
        for k in range(self.l):
            what = f"latch {k}"
            if self.binary:
                fields = lines.numbers(what, 1, 2)
                lit = 2 * (self.i + k + 1)
            else:
                fields = lines.numbers(what, 2, 3)
                lit = fields.pop(0)
                self.define(lit, what)
            nxt = self.literal(fields[0], what)
            if len(fields) == 2 and fields[1] not in (0, 1, lit):
                raise lines.error(f"{what}: reset value {fields[1]} is none of 0, 1 or the latch's literal {lit}")
            self.latches.append((lit >> 1, nxt, lines.line))
        self.outputs: List[Tuple[int, int]] = []
        for label, count in (("output", self.o), ("bad state", self.b), ("constraint", self.c)):
            for k in range(count):
                (lit,) = lines.numbers(f"{label} {k}", 1, 1)
                self.outputs.append((self.literal(lit, f"{label} {k}"), lines.line))
        sizes = [lines.numbers(f"the size of justice property {k}", 1, 1)[0] for k in range(self.j)]
        for k, size in enumerate(sizes):
            for n in range(size):
                (lit,) = lines.numbers(f"literal {n} of justice property {k}", 1, 1)
                self.outputs.append((self.literal(lit, f"justice property {k}"), lines.line))
        for k in range(self.f):
            (lit,) = lines.numbers(f"fairness constraint {k}", 1, 1)
            self.outputs.append((self.literal(lit, f"fairness constraint {k}"), lines.line))

    def ascii_ands(self) -> List[_AND]:
        lines = self.lines
        ands: List[_AND] = []
        for k in range(self.a):
            what = f"AND gate {k}"
            lhs, r0, r1 = lines.numbers(what, 3, 3)
            var = self.define(lhs, what)
            ands.append((var, self.literal(r0, what), self.literal(r1, what), lines.line))
        return ands

    def binary_ands(self) -> List[_AND]:
        data, source = self.data, self.netlist.source
        pos = self.lines.pos
        ands: List[_AND] = []
        append = ands.append
        lhs = 2 * (self.i + self.l)
        for k in range(self.a):
            lhs += 2
            at0 = pos
            d0, pos = _varint(data, pos)
            at1 = pos
            d1, pos = _varint(data, pos) if d0 >= 0 else (d0, pos)
            if d0 < 0 or d1 < 0:
                at = at0 if d0 < 0 else at1
                why = "the file ends inside it" if min(d0, d1) == -1 else "it has more than 4 bytes"
                raise NetlistError(f"{source}: byte {at}: AND gate {k} (lhs {lhs}): a delta is unreadable: {why}")
            if not 0 < d0 <= lhs:
                raise NetlistError(
                    f"{source}: byte {at0}: AND gate {k} (lhs {lhs}): delta0 = {d0} gives rhs0 = {lhs - d0}; "
                    f"binary AIGER needs lhs > rhs0 >= 0"
                )
            r0 = lhs - d0
            if d1 > r0:
                raise NetlistError(
                    f"{source}: byte {at1}: AND gate {k} (lhs {lhs}): delta1 = {d1} gives rhs1 = {r0 - d1}; "
                    f"binary AIGER needs rhs0 = {r0} >= rhs1 >= 0"
                )
            append((lhs >> 1, r0, r0 - d1, 0))
        self.lines = _Lines(self.netlist, data, pos, 1 + data.count(b"\n", 0, pos))
        return ands

    def symbols(self) -> Dict[str, Dict[int, Tuple[str, int]]]:
        """The symbol table: kind letter -> position -> (name, line); the comment is not read."""
        lines = self.lines
        limits = {"i": self.i, "l": self.l, "o": self.o, "b": self.b, "c": self.c, "j": self.j, "f": self.f}
        table: Dict[str, Dict[int, Tuple[str, int]]] = {k: {} for k in limits}
        while True:
            text = lines.maybe()
            if text is None or (text[:1] == "c" and not text[1:2].isdigit()):
                return table
            if not text:
                continue
            space = text.find(" ")
            kind, index = text[:1], text[1:space] if space > 0 else text[1:]
            if kind not in limits or space < 0 or not text[space + 1 :]:
                raise lines.error(
                    f"expected a symbol ('i0 name', 'l0 name', 'o0 name', ...) or the comment 'c', got {_show(text)}"
                )
            pos = lines.integer(index, f"symbol {_show(text)}")
            if pos >= limits[kind]:
                raise lines.error(f"symbol {_show(text)} names {kind}{pos}, but the header gives only {limits[kind]}")
            if pos in table[kind]:
                raise lines.error(f"{kind}{pos} is named twice (first on line {table[kind][pos][1]})")
            table[kind][pos] = (text[space + 1 :], lines.line)

    def build(self, ands: List[_AND], table: Dict[str, Dict[int, Tuple[str, int]]]) -> GateNetlist:
        netlist = self.netlist
        names: Dict[int, str] = {}
        taken: Dict[str, int] = {}  # symbol name -> its line
        for kind, defs in (("i", self.inputs), ("l", self.latches)):
            for pos, (name, line) in sorted(table[kind].items()):
                if name in taken:
                    raise netlist.error(line, f"symbol {kind}{pos} repeats the name {_show(name)} (line {taken[name]})")
                taken[name] = line
                names[defs[pos][0]] = name
        for prefix, defs in (("i", self.inputs), ("l", self.latches), ("a", ands)):
            for k, d in enumerate(defs):
                var = d[0]
                if var not in names:
                    default = f"{prefix}{k}"
                    while taken and default in taken:
                        default += "_"
                    names[var] = default
        const = "const0"
        while const in taken:
            const += "_"
        names[0] = const
        uses_const = False

        def signal(lit: int, line: int, what: str) -> Tuple[str, bool]:
            name = names.get(lit >> 1)
            if name is None:
                raise netlist.error(
                    line, f"{what} uses literal {lit}: variable {lit >> 1} is no input, latch or AND gate"
                )
            return name, bool(lit & 1)

        gates = netlist.gates
        gates.extend(Gate(names[var], "INPUT", [], line) for var, line in self.inputs)
        for var, nxt, line in self.latches:
            uses_const |= nxt < 2
            gates.append(Gate(names[var], "DFF", [signal(nxt, line, f"latch {names[var]!r}")], line))
        get = names.get
        for var, r0, r1, line in ands:
            n0, n1 = get(r0 >> 1), get(r1 >> 1)
            if n0 is None or n1 is None:
                signal(r0 if n0 is None else r1, line, f"AND gate {names[var]!r}")
            if r1 < 2 or r0 < 2:
                uses_const = True
            gates.append(Gate(names[var], "AND", [(n0, bool(r0 & 1)), (n1, bool(r1 & 1))], line))
        for lit, line in self.outputs:
            uses_const |= lit < 2
            netlist.outputs.append((*signal(lit, line, "output"), line))
        netlist.output_names = {pos: name for pos, (name, _) in sorted(table["o"].items())}
        if uses_const:
            gates.insert(0, Gate(const, "CONST0", [], 1))
        return netlist


def _varint(data: bytes, pos: int) -> Tuple[int, int]:
    """The 7-bit varint at ``pos`` and the position after it; the value is -1 if the data ends
    inside it, -2 if it is longer than 4 bytes (over 2 * :data:`MAX_VARIABLES` + 1)."""
    n = len(data)
    if pos >= n:
        return -1, pos
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    x, shift = b & 0x7F, 7
    for p in range(pos + 1, min(pos + 4, n)):
        b = data[p]
        x |= (b & 0x7F) << shift
        if b < 0x80:
            return x, p + 1
        shift += 7
    return (-1 if pos + 4 > n else -2), pos


def parse_aiger(data: bytes, source: str, name: str) -> GateNetlist:
    """The netlist of an AIGER file's bytes (ASCII ``aag`` or binary ``aig``, by its header).

    Args:
        data: the file's contents.
        source: where they came from, for error messages (``source:line: ...``).
        name: the design's name (:attr:`GateNetlist.name`, the graph's ``graph_id``).

    Raises:
        NetlistError: the file is not valid AIGER (see the module docstring).
    """
    with no_cyclic_gc():
        reader = _Reader(bytes(data), source, name)
        reader.header()
        reader.sections()
        ands = reader.binary_ands() if reader.binary else reader.ascii_ands()
        return reader.build(ands, reader.symbols())


def read_aiger(path: Union[str, Path]) -> GateNetlist:
    """The netlist of the AIGER file at ``path`` (``.aag`` or ``.aig``; the header decides),
    named after the file's stem; see :func:`parse_aiger`."""
    path = Path(path)
    return parse_aiger(read_netlist_bytes(path, "AIGER netlist"), str(path), path.stem)
