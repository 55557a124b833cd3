r"""BLIF netlists (the Berkeley Logic Interchange Format of SIS, ABC and Yosys), flattened into
a :class:`~hipool.data.netlists.gates.GateNetlist` that keeps the designer's hierarchy.

A file holds one or more models::

    .model top                 # the first model is the design, unless one is named
    .inputs a b c
    .outputs y
    .names a b n1              # a single-output cover: n1 = a AND NOT b
    10 1
    .subckt half x=n1 y=c s=y  # an instance of model 'half', formal=actual
    .latch y q re clk 0        # a flip-flop: q <= y
    .end
    .model half
    ...

``\`` at the end of a line continues the statement on the next; ``#`` starts a comment
anywhere.  Errors name the line where the statement starts.

* ``.inputs`` of the design are ``INPUT`` gates; its ``.outputs`` are
  :attr:`GateNetlist.outputs` (never inverted).  ``.latch in out [type control] [init]``
  is a ``DFF`` reading ``in`` (the clock and the reset value are checked and dropped).
* ``.names in1 ... inN out`` and its cover (rows ``cube value``, the cube over ``0 1 -``)
  become **one gate** (:mod:`hipool.data.netlists.covers`) where the cover is exactly one
  of: no rows ``CONST0``, a row ``1`` (no inputs) ``CONST1``, ``1 1`` ``BUF``, ``0 1``
  ``NOT``, one cube of 1s ``AND``, one cube of 0s ``NOR``, one cube mixing 0 and 1 an
  ``AND`` whose pins of the 0 literals are ``inverted``, one-literal cubes on distinct
  inputs (``1- 1``, ``-1 1``) ``OR`` (all 0s: ``NAND``; mixed: ``OR`` with inverted pins),
  ``10 1`` + ``01 1`` ``XOR``, ``11 1`` + ``00 1`` ``XNOR``, a cube of only ``-`` a
  constant. A ``-`` drops that input from the cube, so a gate reads only the inputs its
  cover looks at, in the ``.names`` order. An OFF-set cover (rows with value 0) is the
  complement: ``11 0`` is ``NAND``, ``0 0`` ``BUF``. Repeated cubes count once; covers are
  not minimised.
* Any other cover is kept **as a sub-network**: an ``AND`` per distinct cube over its
  (possibly inverted) literals, named ``<out>.c0``, ``<out>.c1``, ... in row order, then
  ``<out>`` itself: an ``OR`` of the cubes, or for an OFF-set cover a ``NOR`` (not an OR
  followed by a NOT: one gate fewer, the same function).  A sub-network name that the model
  already uses gets ``_`` appended.
* ``.subckt model formal=actual ...`` is **flattened**: the called model's gates are copied
  with their signals renamed to ``<instance path>/<signal>`` (its ports to the actuals they
  are bound to), and each copied gate's :attr:`Gate.instance` is the caller's path plus
  the instance's name.  BLIF instances have no names: the ``k``-th ``.subckt`` of a model
  ``m`` within one parent model is named ``m#k`` (from 0), e.g. ``half#1/full#0/n3``.  As
  ``#`` starts a comment in BLIF, these names never clash with a signal of the file.  An
  output port may stay unconnected (its signal stays internal), an input port may not.
* Skipped without error: ``.exdc`` (the external don't-care network, up to the model's
  ``.end``), ``.start_kiss`` ... ``.end_kiss``, and every other directive hipool does not
  read (``.clock``, ``.area``, ``.delay``, ``.wire_load_slope``, ``.default_input_arrival``,
  ``.input_arrival``, ``.cname``, ``.attr``, ...).  ``.gate`` and ``.mlatch`` (netlists
  mapped to a cell library) and ``.search`` (reading another file) are refused.

Errors are :class:`~hipool.data.netlists.gates.NetlistError` (``file:line: what is wrong``):
a bad cover row (its width, a character other than ``0 1 -``, a value other than 0 or 1,
ON- and OFF-set rows mixed), a ``.names`` without output, a bad ``.latch`` or ``.subckt``,
a model defined twice, an undefined model, a recursive instantiation (the chain is named),
a formal that is no port of the model, an input port left unconnected, a signal driven
twice, a design that would flatten to more than :data:`MAX_GATES` gates (checked from each
model's flattened size before anything is built), text that is not UTF-8 or holds a NUL,
and a file with no model content.  Reading never runs anything and never opens another file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple, Union

from .covers import Cover, cover_gates
from .gates import Gate, GateNetlist, NetlistError, decode_netlist_text, no_cyclic_gc, read_netlist_bytes

#: The most gates a design may flatten to (inputs included): the netlist holds a Python
#: object per gate, and 10 million is a few GB.
MAX_GATES: int = 10_000_000
#: Deepest ``.subckt`` nesting read (deeper chains are surely generated, and would overflow
#: Python's recursion).
MAX_DEPTH: int = 200

#: Directives read here; every other one is skipped (see the module docstring).
_REFUSED = {
    ".gate": "a .gate is a cell of a technology library, which hipool does not read",
    ".mlatch": "a .mlatch is a latch of a technology library, which hipool does not read",
    ".search": ".search reads another file, which hipool does not do: put its models in this file",
}
_LATCH_TYPES = ("fe", "re", "ah", "al", "as")


@dataclass
class _Instance:
    """One ``.subckt``: the model it calls, its bindings (formal -> actual), its name and line."""

    model: str
    bindings: Dict[str, str]
    name: str
    line: int


@dataclass
class _Model:
    name: str
    line: int
    inputs: List[str] = field(default_factory=list)
    outputs: List[Tuple[str, int]] = field(default_factory=list)
    input_lines: List[int] = field(default_factory=list)
    items: List[Union[Cover, Gate, _Instance]] = field(default_factory=list)
    instance_count: Dict[str, int] = field(default_factory=dict)

    def gates(self) -> int:
        return sum(isinstance(i, Gate) for i in self.items)


def _show(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def _statements(text: str) -> Iterator[Tuple[int, List[str]]]:
    """``(line, tokens)`` of each statement: comments dropped, ``\\`` continuations joined."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        tokens = " ".join(parts).split()
        parts = []
        if tokens:
            yield start, tokens
    if parts:
        tokens = " ".join(parts).split()
        if tokens:
            yield start, tokens


class _Parser:
    """The models of one file, as written (nothing flattened yet)."""

    def __init__(self, source: str, default_name: str):
        self.source = source
        self.default_name = default_name
        self.models: Dict[str, _Model] = {}
        self.model: Optional[_Model] = None
        self.cover: Optional[Cover] = None
        self.skip_to = ""  # ".end" inside .exdc, ".end_kiss" inside a kiss description
        self.last_end = 0

    def error(self, line: int, message: str) -> NetlistError:
        return NetlistError(f"{self.source}:{line}: {message}")

    def parse(self, text: str) -> None:
        for line, tokens in _statements(text):
            word = tokens[0]
            if self.skip_to:
                if word == self.skip_to:
                    if word == ".end":
                        self.end(line)
                    self.skip_to = ""
                continue
            if word[0] != ".":
                self.row(line, tokens)
                continue
            self.cover = None
            if word == ".model":
                self.start(line, tokens)
                continue
            model = self.model
            if model is None:
                if self.models:
                    raise self.error(
                        line, f"{word} outside a model (after .end on line {self.last_end}): start one with .model"
                    )
                model = self.model = self.add(_Model(self.default_name, line), line)
            if word == ".end":
                self.end(line)
            elif word == ".inputs":
                model.inputs += tokens[1:]
                model.input_lines += [line] * (len(tokens) - 1)
            elif word == ".outputs":
                model.outputs += [(s, line) for s in tokens[1:]]
            elif word == ".names":
                if len(tokens) < 2:
                    raise self.error(line, ".names has no signal: it takes its inputs, then its output")
                self.cover = Cover(tokens[1:-1], tokens[-1], line)
                model.items.append(self.cover)
            elif word == ".latch":
                self.latch(line, tokens[1:])
            elif word == ".subckt":
                self.subckt(line, tokens[1:])
            elif word in _REFUSED:
                raise self.error(line, _REFUSED[word])
            elif word == ".exdc":
                self.skip_to = ".end"
            elif word == ".start_kiss":
                self.skip_to = ".end_kiss"
            # every other directive (timing, clocks, attributes) carries nothing the graph holds
        if self.model is not None:
            self.end(0)  # a missing final .end is tolerated
        if not self.models:
            raise NetlistError(f"{self.source}: no .model and no BLIF statement: not a BLIF netlist")

    def add(self, model: _Model, line: int) -> _Model:
        if model.name in self.models:
            raise self.error(
                line, f"model {_show(model.name)} is defined twice (first on line {self.models[model.name].line})"
            )
        self.models[model.name] = model
        return model

    def start(self, line: int, tokens: List[str]) -> None:
        if len(tokens) != 2:
            raise self.error(line, f".model takes one name, got {len(tokens) - 1}")
        if self.model is not None:
            self.end(line)  # a model without .end ends where the next begins
        self.model = self.add(_Model(tokens[1], line), line)

    def end(self, line: int) -> None:
        model = self.model
        assert model is not None
        taken: Set[str] = set(model.inputs) | {s for s, _ in model.outputs}
        for item in model.items:
            if isinstance(item, Cover):
                taken.update(item.inputs)
                taken.add(item.output)
            elif isinstance(item, Gate):
                taken.add(item.name)
                taken.update(s for s, _ in item.inputs)
            else:
                taken.update(item.bindings.values())
        items: List[Union[Cover, Gate, _Instance]] = []
        for item in model.items:
            if isinstance(item, Cover):
                items += cover_gates(item, taken)
            else:
                items.append(item)
        model.items = items
        self.model, self.cover, self.last_end = None, None, line

    def row(self, line: int, tokens: List[str]) -> None:
        cover = self.cover
        if cover is None:
            raise self.error(line, f"{_show(' '.join(tokens))} is not a directive and follows no .names")
        n = len(cover.inputs)
        out = cover.output
        if n == 0:
            if len(tokens) != 1:
                raise self.error(
                    line,
                    f"a cover row of .names {_show(out)} (no inputs) is one value (0 or 1), got {len(tokens)} fields",
                )
            cube, value = "", tokens[0]
        else:
            if len(tokens) != 2:
                raise self.error(
                    line,
                    f"a cover row of .names {_show(out)} is an input cube and a value ('{'1' * n} 1'), "
                    f"got {len(tokens)} fields",
                )
            cube, value = tokens
            if len(cube) != n:
                raise self.error(
                    line, f"cover row {_show(cube)} of .names {_show(out)} has {len(cube)} characters for {n} inputs"
                )
            bad = set(cube) - {"0", "1", "-"}
            if bad:
                raise self.error(
                    line,
                    f"cover row {_show(cube)} of .names {_show(out)} holds {_show(min(bad))}; "
                    "a cube takes only 0, 1 and -",
                )
        if value not in ("0", "1"):
            raise self.error(line, f"cover row of .names {_show(out)} has the value {_show(value)}; it must be 0 or 1")
        if not cover.value:
            cover.value, cover.value_line = value, line
        elif value != cover.value:
            raise self.error(
                line,
                f".names {_show(out)} mixes ON-set rows (value 1) and OFF-set rows (value 0) "
                f"(line {cover.value_line} has {cover.value}); a cover takes one or the other",
            )
        cover.rows.append((cube, value))

    def latch(self, line: int, args: List[str]) -> None:
        if not 2 <= len(args) <= 5:
            raise self.error(line, f".latch takes 'input output [type control] [init]', got {len(args)} fields")
        if len(args) >= 4 and args[2] not in _LATCH_TYPES:
            raise self.error(line, f".latch type {_show(args[2])} is none of {', '.join(_LATCH_TYPES)}")
        if len(args) in (3, 5) and args[-1] not in ("0", "1", "2", "3"):
            raise self.error(
                line, f".latch initial value {_show(args[-1])} is none of 0, 1, 2 (don't care), 3 (unknown)"
            )
        assert self.model is not None
        self.model.items.append(Gate(args[1], "DFF", [(args[0], False)], line))

    def subckt(self, line: int, args: List[str]) -> None:
        if not args:
            raise self.error(line, ".subckt names no model: it takes 'model formal=actual ...'")
        model = self.model
        assert model is not None
        bindings: Dict[str, str] = {}
        for arg in args[1:]:
            formal, eq, actual = arg.partition("=")
            if not eq or not formal or not actual:
                raise self.error(line, f".subckt {_show(args[0])}: {_show(arg)} is not formal=actual")
            if formal in bindings:
                raise self.error(line, f".subckt {_show(args[0])} binds the formal {_show(formal)} twice")
            bindings[formal] = actual
        k = model.instance_count.get(args[0], 0)
        model.instance_count[args[0]] = k + 1
        model.items.append(_Instance(args[0], bindings, f"{args[0]}#{k}", line))


class _Flattener:
    """The design's netlist: sizes and hierarchy checked first, then the gates copied."""

    def __init__(self, parser: _Parser, netlist: GateNetlist):
        self.models = parser.models
        self.error = parser.error
        self.netlist = netlist
        self.sizes: Dict[str, int] = {}
        self.driven: Dict[str, int] = {}

    def size(self, model: _Model, chain: List[Tuple[str, int]]) -> int:
        """The gates ``model`` flattens to; refuses undefined models, bad bindings, recursion."""
        known = self.sizes.get(model.name)
        if known is not None:
            return known
        if len(chain) > MAX_DEPTH:
            raise self.error(chain[-1][1], f".subckt nesting is deeper than {MAX_DEPTH} models")
        total = model.gates()
        for item in model.items:
            if not isinstance(item, _Instance):
                continue
            sub = self.models.get(item.model)
            if sub is None:
                known_models = ", ".join(_show(m) for m in self.models)
                raise self.error(
                    item.line,
                    f".subckt calls model {_show(item.model)}, which the file does not define "
                    f"(it defines {known_models})",
                )
            names = [m for m, _ in chain] + [model.name]
            if sub.name in names:
                loop = " -> ".join(names[names.index(sub.name) :] + [sub.name])
                raise self.error(item.line, f"recursive instantiation: {loop}")
            ports = set(sub.inputs) | {s for s, _ in sub.outputs}
            for formal in item.bindings:
                if formal not in ports:
                    raise self.error(
                        item.line,
                        f".subckt {_show(item.model)}: {_show(formal)} is not a port of the model (line {sub.line})",
                    )
            for formal in sub.inputs:
                if formal not in item.bindings:
                    raise self.error(
                        item.line,
                        f".subckt {_show(item.model)} ({item.name}) leaves the input port {_show(formal)} unconnected",
                    )
            total += self.size(sub, chain + [(model.name, item.line)])
            if total > MAX_GATES:
                raise self.error(
                    item.line,
                    f"model {_show(model.name)} flattens to more than {MAX_GATES} gates (MAX_GATES), "
                    "the most hipool reads",
                )
        self.sizes[model.name] = total
        return total

    def emit(self, model: _Model, path: Tuple[str, ...], prefix: str, ports: Dict[str, str]) -> None:
        gates, driven = self.netlist.gates, self.driven
        for item in model.items:
            if isinstance(item, _Instance):
                sub_ports = {f: ports.get(a, prefix + a) for f, a in item.bindings.items()}
                self.emit(self.models[item.model], path + (item.name,), f"{prefix}{item.name}/", sub_ports)
                continue
            assert isinstance(item, Gate)
            name = ports.get(item.name, prefix + item.name)
            first = driven.get(name)
            if first is not None:
                where = f" (in instance {'/'.join(path)})" if path else ""
                raise self.error(item.line, f"signal {_show(name)} is driven twice{where} (first on line {first})")
            driven[name] = item.line
            inputs = [(ports.get(s, prefix + s), inv) for s, inv in item.inputs]
            gates.append(Gate(name, item.kind, inputs, item.line, path))


def parse_blif(text: str, source: str, name: Optional[str] = None, model: Optional[str] = None) -> GateNetlist:
    """The flattened netlist of BLIF text (see the module docstring).

    Args:
        text: the file's contents.
        source: where they came from, for error messages (``source:line: ...``).
        name: the design's name (:attr:`GateNetlist.name`, the graph's ``graph_id``)
            (default: the top model's name).
        model: the model to read as the design (default: the file's first).

    Raises:
        NetlistError: the text is not valid BLIF, or ``model`` is not in it.
    """
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise NetlistError(f"{source}:{line}: a NUL byte: this is a binary file, not a BLIF netlist")
    with no_cyclic_gc():
        return _parse(text, source, name, model)


def _parse(text: str, source: str, name: Optional[str], model: Optional[str]) -> GateNetlist:
    parser = _Parser(source, name or Path(source).stem or "top")
    parser.parse(text)
    if model is None:
        top = next(iter(parser.models.values()))
    elif model in parser.models:
        top = parser.models[model]
    else:
        raise NetlistError(
            f"{source}: no model {_show(model)}; the file defines {', '.join(map(_show, parser.models))}"
        )
    netlist = GateNetlist(name=name or top.name, source=source)
    flat = _Flattener(parser, netlist)
    if len(top.inputs) + flat.size(top, []) > MAX_GATES:
        raise parser.error(
            top.line,
            f"model {_show(top.name)} flattens to more than {MAX_GATES} gates (MAX_GATES), the most hipool reads",
        )
    for signal, line in zip(top.inputs, top.input_lines):
        if signal in flat.driven:
            raise parser.error(line, f"input {_show(signal)} is declared twice (first on line {flat.driven[signal]})")
        flat.driven[signal] = line
        netlist.gates.append(Gate(signal, "INPUT", [], line))
    flat.emit(top, (), "", {})
    netlist.outputs = [(signal, False, line) for signal, line in top.outputs]
    if not netlist.gates and not netlist.outputs:
        raise parser.error(top.line, f"model {_show(top.name)} has no inputs, outputs or logic: nothing to read")
    return netlist


def read_blif(path: Union[str, Path], model: Optional[str] = None) -> GateNetlist:
    """Read a BLIF file (UTF-8 or ASCII text), its first model (or ``model``) as the design,
    named after the file's stem; see :func:`parse_blif`."""
    path = Path(path)
    text = decode_netlist_text(read_netlist_bytes(path, "BLIF netlist"), str(path), "BLIF netlist")
    return parse_blif(text, str(path), path.stem, model)
