r"""SPICE, ngspice, HSPICE-style and CDL netlists, read into the analog record of
:mod:`hipool.data.netlists.analog`.

:func:`parse_spice` reads a file (and the files it includes) into a
:class:`~hipool.data.netlists.analog.Design`; :func:`read_spice` flattens it into an
:class:`~hipool.data.netlists.analog.AnalogNetlist`; :func:`parse_spice_text` reads SPICE
text into a design that another reader (Spectre's ``simulator lang=spice``) is building.
Reading never runs anything from the file: expressions are evaluated by
:mod:`~hipool.data.netlists.values`, and ``.control`` scripts are skipped unread.

**Lines.**  The first line of the main file is its *title* and is skipped (SPICE's rule,
as ngspice and HSPICE apply it), unless it is blank or starts with ``*`` or ``.`` (a CDL
file's banner, a netlist that starts with a card); included files have no title.  Names
are case-insensitive and folded to lower case.  A line whose first character (after
blanks) is ``+`` continues the statement before it; full-line comments and blank lines may
stand between the two, and errors name the statement's first line.  Comments: a line
starting with ``*`` or ``//``; the rest of a line from ``;``, and from a ``$`` or ``//``
that starts the line or follows a blank.  Three CDL forms of ``$`` are read, not
comments: ``$[name]`` (the element's model: ``C1 a b 1p $[cmim]``), ``$.MODEL=name`` (the
same), and ``$PINS pin=net ...`` on an ``X`` line (its connections by port name, used when
the subcircuit is defined and every port is named).  Tabs are blanks; ``\r\n`` line ends,
a UTF-8 byte-order mark, and a last line without a newline are fine.

**Statements** are whitespace-separated tokens; ``name=value`` (blanks around ``=``
allowed) is a parameter, its value a number with an SI suffix (``4.7k``, ``10uF``,
``2meg``), a name, ``{expression}`` or ``'expression'`` (which may hold blanks) or
``f(...)``.  ``(`` ``)`` and ``,`` separate tokens: a parenthesized node list ``(a b c)``
reads as its nodes.  A token after the first parameter of an element is ignored (a flag
such as ``off``).  An unbalanced ``{``, ``(`` or quote is an error.

**Elements** (the first letter is the family, the name is the whole token):

=========  ============================================================================
``R C L``  ``R1 n1 n2 [model] [value]`` (value and model in either order; ``r=``/``c=``
           ``l=`` too, and CDL's ``res=``/``cap=``/``ind=``).  A lone name in the value's
           place is the model if a ``.model`` card of that name exists, else the value
           (a parameter: unknown if no scope defines it).
``D``      ``D1 a k model [area]``
``Q``      ``Q1 c b e [s] model [area]``; ``J1``/``Z1 d g s model [area]``;
``M``      ``M1 d g s [b ...] model [l w]`` (3 to 7 nodes; the model is the last token
           that is not a number; HSPICE's positional ``l w`` follow it); W/L from ``w=``
           ``l=``.  ``off``/``on`` flags of these and the switches are dropped.
``S W``    ``S1 n+ n- c+ c- model``; ``W1 n+ n- vsource model`` (the source is a link)
``T O U``  ``T1``/``O1 n1 n2 n3 n4 [model]``; ``U1 n1 n2 n3 model``
``V I``    ``V1 n+ n- [value] [dc value] [ac ...] [pulse(...) sin(...) pwl(...) ...]``:
           the main value is a leading bare value, else the ``dc`` value (``dc=`` too)
``E G``    ``E1 o+ o- c+ c- gain`` (HSPICE's ``vcvs``/``vccs`` keyword allowed);
           ``E1 o+ o- value={expr}`` (``vol=`` for E, ``cur=`` for G), ``table {expr} ...``,
           ``laplace {expr} ...``: two nodes and an expression (unknown when it reads node
           voltages); ``E1 o+ o- poly(n) c1+ c1- ... coefficients``: the output nodes and
           every controlling pair (at most 20), no value
``F H``    ``F1 o+ o- vsource gain`` (``cccs``/``ccvs`` allowed); ``F1 o+ o- poly(n) v1 ...
           vn coefficients``: the sources are links, no value
``K``      ``K1 L1 L2 [L3 ...] coupling`` (or ``k=``): the inductors are links (the
           coupling is the last word, a number or a parameter, unless ``k=`` gives it)
``B``      ``B1 n+ n- v=expr`` or ``i=expr`` (the rest of the line is the expression)
``X``      ``X1 n1 ... nk subckt [params:] [p=v ...]``; CDL's ``X1 n1 ... / subckt``
=========  ============================================================================

Other first letters (``A``: XSPICE code models, ``N``: OSDI/Verilog-A devices, ``P``
``Y``: coupled and lossy lines, ...) and statements that start with neither a letter nor
``.`` are errors naming the line.

**Dot cards.**  ``.subckt name ports... [params:] [p=v ...]`` ... ``.ends [name]`` (also
HSPICE's ``.macro``/``.eom``): definitions may nest, their names are global, and a name
defined twice is an error.  ``.model name type ...`` records the type (``nmos``, ``npn``,
``d``, ``sw``, ...), the rest of the card is not read.  ``.param`` (``.params``) at the
top level are the design's parameters, inside a subcircuit its local ones; a user function
``.param f(x)=...`` is skipped (values using it are unknown), as is ``.func``.
``.global`` and CDL's ``*.GLOBAL`` name global nets (a name ending in ``!`` is global
anyway); ``*.PININFO`` records nothing (the ``.subckt`` line lists the ports) and every
other ``*.`` line (``*.BIPOLAR``, ``*.PIN``, ``*.SCALE``, ...) is a comment, its ``+``
lines included.  ``.end`` ends the file that holds it (``.alter`` too: hipool reads the
first variant).  ``.control`` ... ``.endc`` and HSPICE's ``.data`` ... ``.enddata`` are
skipped.  ``.if (cond)`` / ``.elseif (cond)`` / ``.else`` / ``.endif`` are evaluated where
that is safe: outside subcircuit definitions, over numbers and the top-level ``.param``
values defined above, with at most one comparison (``== != < <= > >=``; non-zero is
true); any other condition is an error.  Every other dot card is skipped: ``.title``,
``.option(s)``, ``.temp``, ``.tran .ac .dc .op .noise .tf .pz .sens .disto .four .sp``,
``.print .plot .probe .save .meas(ure)``, ``.ic .nodeset .width .csparam``, ``.func`` and
dot cards hipool does not know.

**Includes.**  ``.include file`` (``.inc``), ``.lib file section`` (read only the section:
``.lib section`` ... ``.endl`` blocks of that file; a file ``.include``-d whole skips its
sections) and PSpice's ``.lib file`` (one argument that is quoted or holds ``.`` or
``/``: the whole file).  The file name may be quoted; it is relative to the including
file's folder (no ``~`` or variables).  A netlist is untrusted input: the included file's
real path (symlinks resolved) must lie inside the main file's folder (absolute paths
too), includes may nest :data:`MAX_INCLUDE_DEPTH` deep and read :data:`MAX_FILES` files
in all; a loop is an error naming the chain; a file that is missing is an error naming
the including line and the path.  A ``.subckt`` or ``.if`` opened in a file must close
in it.

Errors are :class:`~hipool.data.netlists.gates.NetlistError` (``file:line: what is
wrong``): the above, a ``.subckt`` without ``.ends`` or a bad ``.subckt`` line, an
``.ends`` without ``.subckt`` or naming another one, an element with too few tokens, a
``.model`` without a type, a ``.param`` that is not ``name=value``, a ``+`` line with
nothing to continue, a ``.control``, ``.data`` or ``.lib`` section with no end in its file, text that is not UTF-8 or holds a NUL;
:func:`~hipool.data.netlists.analog.flatten` adds an undefined subcircuit, a recursive
one and a node count that does not fit, each with the element's line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple, Union

from .analog import AnalogNetlist, Design, Element, Subckt, flatten
from .gates import NetlistError, decode_netlist_text, no_cyclic_gc, read_netlist_bytes
from .values import evaluate

#: Most files one netlist may read, itself and its includes together.
MAX_FILES = 1000
#: Deepest nesting of includes.
MAX_INCLUDE_DEPTH = 50

_WHAT = "SPICE netlist"
_LETTERS = frozenset("RCLKDQMJZSWTOUVIEFGHBX")
_UNSUPPORTED = {
    "A": "an XSPICE code model",
    "N": "an OSDI/Verilog-A device",
    "P": "a coupled multiconductor line",
    "Y": "a lossy transmission line",
}
#: Heads of ``f(...)`` groups read as one item (sources' waveforms, controlled sources' forms).
_CALLS = frozenset("pulse sin exp pwl sffm am trnoise trrandom pat poly table laplace freq distof1 distof2".split())
#: Words of an independent source that are not its value.
_SOURCE_WORDS = _CALLS | {"dc", "ac", "portnum", "z0", "external"}
_FLAGS = frozenset(("off", "on"))
#: Words after a controlled source's output nodes that start an expression form.
_BEHAVIOURAL = _CALLS | {"value", "vol", "cur"}
_MAIN_PARAM = {"R": ("r", "res", "resistance"), "C": ("c", "cap", "capacitance"), "L": ("l", "ind", "inductance")}
_TOKEN = re.compile(r"""\s*(?:(\{)|('[^']*')|("[^"]*")|([=(),])|([^\s='"(),{}]+))""")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?[a-zµ]*$", re.IGNORECASE)
_FUNCTION_PARAM = re.compile(r"\s*[A-Za-z_]\w*\s*\([^)]*\)\s*=")
_SPECIAL = re.compile(r"""[{'"(),]""")
_COMPARE = re.compile(r"==|!=|<=|>=|<|>")
_SKIP_TO = {".control": ".endc", ".data": ".enddata"}

_Token = Tuple[str, str, int, int]  # kind (w: word, e: {expr} or quoted, or the character), text, start, end


@dataclass
class _Call:
    """``head(args ...)``: a waveform or a controlled source's form."""

    head: str
    args: List[str]


@dataclass
class _Items:
    """A statement's tokens after its first: positional items, ``name=value`` parameters
    (names lower case) and CDL's ``$PINS`` map."""

    positional: List[Union[str, _Call]] = field(default_factory=list)
    params: Dict[str, str] = field(default_factory=dict)
    pins: Dict[str, str] = field(default_factory=dict)


def _show(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def _strip_comment(s: str) -> str:
    """``s`` without its inline comment (see the module docstring)."""
    cut = s.find(";")
    if cut < 0:
        cut = len(s)
    i = s.find("//")
    while 0 <= i < cut:
        if i == 0 or s[i - 1] in " \t":
            cut = i
            break
        i = s.find("//", i + 2)
    i = s.find("$")
    while 0 <= i < cut:
        if i == 0 or s[i - 1] in " \t":
            after = s[i + 1 : i + 8].lower()
            cdl = after.startswith(("[", ".model=")) or (after[:4] == "pins" and after[4:5] in ("", " ", "\t"))
            if not cdl:
                cut = i
                break
        i = s.find("$", i + 1)
    return s[:cut].rstrip()


def _statements(text: str, display: str, first_line: int, title: bool) -> Iterator[Tuple[int, str]]:
    """``(line, text)`` of each statement: comments dropped, ``+`` lines joined."""
    start, parts = 0, []
    for k, raw in enumerate(text.split("\n")):
        s = raw.strip()
        if k == 0 and s.startswith("\ufeff"):
            s = s[1:].strip()
        if not s:
            continue
        c = s[0]
        if k == 0 and title and c not in "*.":
            continue
        if c == "*":
            if s[1:2] != ".":
                continue
        elif c == "/" and s.startswith("//"):
            continue
        if ";" in s or "$" in s or "//" in s:
            s = _strip_comment(s)
            if not s:
                continue
        if s[0] == "+":
            if not parts:
                raise NetlistError(f"{display}:{first_line + k}: a '+' line with no statement before it to continue")
            parts.append(s[1:])
            continue
        if parts:
            yield start, " ".join(parts)
        start, parts = first_line + k, [s]
    if parts:
        yield start, " ".join(parts)


def _tokens(s: str, where: str, exact: bool = False) -> List[_Token]:
    """The tokens of a statement; their places in ``s`` only where ``exact`` or the statement
    holds braces, quotes or parentheses (a single token's text is its value)."""
    out: List[_Token] = []
    if not exact and _SPECIAL.search(s) is None:
        for word in s.split():
            if "=" not in word:
                out.append(("w", word, 0, 0))
                continue
            for k, part in enumerate(word.split("=")):
                if k:
                    out.append(("=", "=", 0, 0))
                if part:
                    out.append(("w", part, 0, 0))
        return out
    pos, n = 0, len(s)
    while pos < n:
        m = _TOKEN.match(s, pos)
        if m is None:
            rest = s[pos:].lstrip()
            if rest:
                raise NetlistError(f"{where}: unbalanced {rest[0]!r} in {_show(s)}")
            break
        g = m.lastindex or 0
        a = m.start(g)
        if g == 1:  # a {expression}: find its closing brace
            depth, j = 0, a
            while j < n:
                if s[j] == "{":
                    depth += 1
                elif s[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            else:
                raise NetlistError(f"{where}: unbalanced '{{' in {_show(s)}")
            out.append(("e", s[a : j + 1], a, j + 1))
            pos = j + 1
            continue
        text = m.group(g)
        out.append(("e" if g in (2, 3) else text if g == 4 else "w", text, a, m.end()))
        pos = m.end()
    return out


def _group(toks: List[_Token], i: int, s: str, where: str) -> Tuple[int, List[str]]:
    """The index after the ``(...)`` group opening at ``toks[i]``, and its words."""
    depth, args = 0, []
    for j in range(i, len(toks)):
        kind, text = toks[j][0], toks[j][1]
        if kind == "(":
            depth += 1
        elif kind == ")":
            depth -= 1
            if depth == 0:
                return j + 1, args
        elif kind in ("w", "e"):
            args.append(text)
    raise NetlistError(f"{where}: unbalanced '(' in {_show(s)}")


def _items(toks: List[_Token], s: str, where: str) -> _Items:
    items = _Items()
    target, params_seen = items.params, False
    i, n = 0, len(toks)
    while i < n:
        kind, text = toks[i][0], toks[i][1]
        nxt = toks[i + 1][0] if i + 1 < n else ""
        if kind == "w":
            low = text.lower()
            if low.startswith("params:"):
                text, low = text[7:], low[7:]
                if not text:
                    i += 1
                    continue
            if low == "$pins":
                target, params_seen = items.pins, True
                i += 1
                continue
            if nxt == "=":
                j = i + 2
                if j >= n or toks[j][0] not in ("w", "e", "("):
                    raise NetlistError(f"{where}: parameter {text!r} has no value")
                if toks[j][0] == "(" or (toks[j][0] == "w" and j + 1 < n and toks[j + 1][0] == "("):
                    end, _ = _group(toks, j if toks[j][0] == "(" else j + 1, s, where)
                else:
                    end = j + 1
                value = toks[j][1] if end == j + 1 else s[toks[j][2] : toks[end - 1][3]]
                target[low if target is items.params else text] = value
                params_seen = True
                i = end
                continue
            if nxt == "(" and low in _CALLS:
                i, args = _group(toks, i + 1, s, where)
                if not params_seen:
                    items.positional.append(_Call(low, args))
                continue
        if kind == "(":
            i, args = _group(toks, i, s, where)
            if not params_seen:
                items.positional.extend(args)
            continue
        if kind in ("w", "e") and not params_seen:
            items.positional.append(text)
        i += 1
    return items


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _words(positional: List[Union[str, _Call]]) -> List[str]:
    out: List[str] = []
    for item in positional:
        if isinstance(item, _Call):
            out.append(item.head)
            out.extend(item.args)
        else:
            out.append(item)
    return out


def _is_value(token: str) -> bool:
    """Whether a positional token is a value (a number, ``{...}`` or quoted), not a name."""
    return token[:1] in "{'\"" or _NUMBER.match(token) is not None


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _file_argument(s: str) -> Tuple[str, bool, List[str]]:
    """The file an ``.include``/``.lib`` card names (quoted or not), whether it was quoted,
    and the words after it."""
    rest = s.split(None, 1)[1].strip() if len(s.split(None, 1)) > 1 else ""
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            return "", True, []
        return rest[1:end], True, rest[end + 1 :].split()
    words = rest.split()
    return (words[0], False, words[1:]) if words else ("", False, [])


def _split_model(items: _Items) -> Tuple[List[str], Optional[str]]:
    """The element's words without flags, and the model CDL gives by ``$[name]`` or ``$.MODEL=``."""
    model = items.params.pop("$.model", None)
    words = []
    for w in _words(items.positional):
        if w.startswith("$[") and w.endswith("]"):
            model = w[2:-1] or model
        elif w.lower() not in _FLAGS:
            words.append(w)
    return words, model


class _Reader:
    """One parse: the design being built, the include chain's limits, the open subcircuits."""

    def __init__(self, design: Design, root: Path):
        self.design = design
        self.root = root
        self.fold = design.dialect == "spice"
        self.files = 0
        self.floor = 0  # subcircuits opened in an including file: not closed by this one
        self.stack: List[Subckt] = []
        self.ambiguous: List[Tuple[Element, str]] = []
        self.pinmaps: List[Tuple[Element, Dict[str, str]]] = []

    # -- files --------------------------------------------------------------------------------
    def read_text(
        self,
        text: str,
        display: str,
        folder: Path,
        chain: List[Tuple[Path, Optional[str], str]],
        title: bool,
        first_line: int = 1,
        section: Optional[str] = None,
    ) -> None:
        self.files += 1
        depth0, floor = len(self.stack), self.floor
        self.floor = depth0
        skip_to = ""  # the card that ends a skipped block: .endc, .enddata, .endl
        in_section, found = section is None, section is None
        conds: List[List[bool]] = []  # per open .if: [active, a branch was taken, parent active]
        cond_lines: List[str] = []
        skip_where = ""
        for line, s in _statements(text, display, first_line, title):
            where = f"{display}:{line}"
            head = s.split(None, 1)[0].lower()
            if skip_to:
                if head == skip_to:
                    skip_to = ""
                continue
            skip_where = where
            if not in_section:  # a library file read for one section
                if head == ".lib":
                    args = s.split()[1:]
                    if len(args) == 1:
                        name = _unquote(args[0]).lower()
                        if name == section:
                            in_section = found = True
                        else:
                            skip_to = ".endl"
                continue
            if head in (".if", ".elseif", ".elif", ".else", ".endif"):
                self.conditional(head, s, where, conds, cond_lines)
                continue
            if conds and not conds[-1][0]:
                continue
            if head[0] != "." and head[:2] != "*.":
                self.element(s if not self.fold else s.lower(), where)
            elif head in (".end", ".alter"):
                break
            elif head in _SKIP_TO:
                skip_to = _SKIP_TO[head]
            elif head in (".include", ".inc", ".incl"):
                self.include(_file_argument(s)[0], where, folder, chain, None, head)
            elif head == ".lib":
                name, quoted, more = _file_argument(s)
                if more:
                    self.include(name, where, folder, chain, _unquote(more[0]).lower(), head)
                elif quoted or "." in name or "/" in name:
                    self.include(name, where, folder, chain, None, head)
                else:  # a section definition: read only when a .lib call names it
                    skip_to = ".endl"
            elif head == ".endl":
                if section is not None:
                    in_section = False
            else:
                self.card(head, s if not self.fold else s.lower(), where)
        self.floor = floor
        if skip_to:
            raise NetlistError(f"{skip_where}: this block has no {skip_to}")
        if conds:
            raise NetlistError(f"{cond_lines[-1]}: .if without .endif")
        if len(self.stack) > depth0:
            sub = self.stack[-1]
            raise NetlistError(f"{sub.where}: .subckt {sub.name} has no .ends")
        if not found:
            raise NetlistError(f"{chain[-1][2]}: no section {section!r} (.lib {section} ... .endl) in this file")

    def include(
        self,
        name: str,
        where: str,
        folder: Path,
        chain: List[Tuple[Path, Optional[str], str]],
        section: Optional[str],
        head: str,
    ) -> None:
        """Read file ``name`` (relative to ``folder``), or its ``section``, where ``where`` says."""
        if not name:
            raise NetlistError(f"{where}: {head} names no file")
        target = Path(name) if os.path.isabs(name) else folder / name
        display = os.path.normpath(str(target))
        real = Path(os.path.realpath(target))
        if not (real == self.root or self.root in real.parents):
            raise NetlistError(
                f"{where}: include {name!r} escapes the netlist's folder {str(self.root)!r} (it is {str(real)!r})"
            )
        key = (real, section)
        if any((p, sec) == key for p, sec, _ in chain):
            names = [d + (f" [{sec}]" if sec else "") for _, sec, d in chain] + [display]
            raise NetlistError(f"{where}: include loop: {' -> '.join(names)}")
        if len(chain) >= MAX_INCLUDE_DEPTH:
            raise NetlistError(f"{where}: includes nest deeper than {MAX_INCLUDE_DEPTH}")
        if self.files >= MAX_FILES:
            raise NetlistError(f"{where}: the netlist includes more than {MAX_FILES} files")
        if not real.is_file():
            why = "not a file" if real.exists() else "no such file"
            raise NetlistError(f"{where}: cannot include {name!r}: {why} {display!r}")
        data = read_netlist_bytes(real, _WHAT)
        text = decode_netlist_text(data, display, _WHAT)
        self.read_text(text, display, target.parent, chain + [(real, section, display)], False, 1, section)

    # -- cards ---------------------------------------------------------------------------------
    def conditional(self, head: str, s: str, where: str, conds: List[List[bool]], lines: List[str]) -> None:
        rest = s.split(None, 1)[1] if len(s.split(None, 1)) > 1 else ""
        if head == ".if":
            parent = not conds or conds[-1][0]
            value = parent and self.condition(rest, where)
            conds.append([value, value, parent])
            lines.append(where)
            return
        if not conds:
            raise NetlistError(f"{where}: {head} without .if")
        top = conds[-1]
        if head == ".endif":
            conds.pop()
            lines.pop()
        elif head == ".else":
            top[0] = top[2] and not top[1]
            top[1] = True
        else:
            top[0] = top[2] and not top[1] and self.condition(rest, where)
            top[1] = top[1] or top[0]

    def condition(self, text: str, where: str) -> bool:
        if self.stack:
            raise NetlistError(
                f"{where}: .if inside a subcircuit definition: hipool evaluates conditions only at the top level"
            )
        scope: Dict[str, Optional[float]] = {}
        for name, expr in self.design.params:
            scope[name.lower()] = evaluate(expr, scope)
        inner = text.strip()
        if inner[:1] == "(" and inner[-1:] == ")" and _balanced(inner[1:-1]):
            inner = inner[1:-1]  # one pair around the whole condition
        parts = _COMPARE.split(inner, maxsplit=1)
        values = [evaluate(p, scope) for p in parts]
        if any(v is None for v in values):
            raise NetlistError(
                f"{where}: cannot evaluate the condition {_show(text.strip())}: hipool reads numbers, top-level "
                ".param values defined above and at most one comparison"
            )
        if len(parts) == 1:
            return values[0] != 0
        a, b = values[0], values[1]
        op = _COMPARE.search(text).group()  # type: ignore[union-attr]
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]

    def card(self, head: str, s: str, where: str) -> None:
        design = self.design
        if head in (".subckt", ".macro"):
            self.subckt(s, where)
        elif head in (".ends", ".eom"):
            args = s.split()[1:]
            if len(self.stack) <= self.floor:
                raise NetlistError(f"{where}: {head} without .subckt")
            sub = self.stack[-1]
            if args and args[0] != sub.name:
                raise NetlistError(f"{where}: {head} {args[0]} closes subcircuit {sub.name!r} (opened at {sub.where})")
            self.stack.pop()
        elif head == ".model":
            args = s.split(None, 2)
            kind = re.match(r"[^\s(]*", args[2]).group() if len(args) > 2 else ""  # type: ignore[union-attr]
            if not kind:
                raise NetlistError(f"{where}: .model {args[1] if len(args) > 1 else ''} has no device type")
            design.models[args[1]] = kind.lower()
        elif head in (".param", ".params"):
            self.param(s, where)
        elif head in (".global", "*.global"):
            for name in s.split()[1:]:
                design.globals.add(name)
        # *.PININFO and every other card: nothing the graph holds

    def subckt(self, s: str, where: str) -> None:
        items = _items(_tokens(s, where)[1:], s, where)
        words = _words(items.positional)
        if not words or words[0][:1] in "{'\"":
            raise NetlistError(f"{where}: a .subckt line needs a name, then its ports: got {_show(s)}")
        name = words[0]
        if name in self.design.subckts:
            first = self.design.subckts[name].where
            raise NetlistError(f"{where}: subcircuit {name!r} is defined twice (first at {first})")
        sub = Subckt(name=name, ports=words[1:], params=items.params, where=where)
        self.design.subckts[name] = sub
        self.stack.append(sub)

    def param(self, s: str, where: str) -> None:
        rest = s.split(None, 1)[1] if len(s.split(None, 1)) > 1 else ""
        if _FUNCTION_PARAM.match(rest):
            return  # a user function: expressions that call it are unknown
        toks = _tokens(rest, where, exact=True)
        out: List[Tuple[str, str]] = []
        i = 0
        while i < len(toks):
            kind, text = toks[i][0], toks[i][1]
            if kind == "w" and i + 1 < len(toks) and toks[i + 1][0] == "=":
                if i + 2 >= len(toks) or toks[i + 2][0] in ("=", ")", ","):
                    raise NetlistError(f"{where}: .param {text} has no value")
                j = i + 3
                while j < len(toks) and not (toks[j][0] == "w" and j + 1 < len(toks) and toks[j + 1][0] == "="):
                    j += 1  # a value with blanks runs to the next name=
                out.append((text, rest[toks[i + 2][2] : toks[j - 1][3]].strip()))
                i = j
            else:
                raise NetlistError(f"{where}: .param takes name=value, got {_show(text)}")
        target = self.stack[-1].local_params if self.stack else self.design.params
        target.extend(out)

    # -- elements ------------------------------------------------------------------------------
    def element(self, s: str, where: str) -> None:
        toks = _tokens(s, where)
        name = toks[0][1]
        letter = name[0].upper()
        if letter not in _LETTERS:
            what = _UNSUPPORTED.get(letter)
            if what or letter.isalpha():
                raise NetlistError(
                    f"{where}: element {name!r}: hipool does not read {letter!r} elements"
                    + (f" ({what})" if what else "")
                )
            raise NetlistError(f"{where}: {_show(s)} is neither an element nor a dot card")
        items = _items(toks[1:], s, where)
        el = Element(name=name, letter=letter, nets=[], params=items.params, where=where)
        build = _BUILDERS.get(letter, _build_semiconductor)
        build(self, el, items, s)
        (self.stack[-1].elements if self.stack else self.design.elements).append(el)

    def finish(self) -> None:
        """Settle what needed the whole file: a lone name in a value's place, CDL's ``$PINS``."""
        for el, token in self.ambiguous:
            if token in self.design.models:
                el.model, el.value = token, None
        for el, pins in self.pinmaps:
            sub = self.design.subckts.get(el.model or "")
            if sub is not None and all(p in pins for p in sub.ports):
                el.nets = [pins[p] for p in sub.ports]


def _too_few(el: Element, s: str, what: str) -> NetlistError:
    return NetlistError(f"{el.where}: element {el.name!r} ({el.letter}) needs {what}: got {_show(s)}")


def _build_passive(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    words, model = _split_model(items)
    if len(words) < 2:
        raise _too_few(el, s, "two nodes and a value")
    el.nets = words[:2]
    values = [w for w in words[2:] if _is_value(w)]
    names = [w for w in words[2:] if not _is_value(w)]
    if values:
        el.value = values[0]
    else:
        for key in _MAIN_PARAM[el.letter]:
            if key in items.params:
                el.value = items.params[key]
                break
    if names and model is None:
        if el.value is None:  # a model's name or a parameter's: known once every .model is read
            el.value = names[0]
            reader.ambiguous.append((el, names[0]))
        else:
            model = names[0]
    el.model = model


def _build_semiconductor(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    """``D Q M J Z``: nodes, the model (the last name), then values."""
    words, model = _split_model(items)
    lo = 2 if el.letter == "D" else 3
    if model is None:
        k = max((i for i, w in enumerate(words) if not _is_value(w)), default=-1)
        if k < lo:
            raise _too_few(el, s, f"{lo} nodes and a model")
        model, nets, values = words[k], words[:k], words[k + 1 :]
    else:
        nets, values = words, []
        if len(nets) < lo:
            raise _too_few(el, s, f"{lo} nodes")
    el.nets, el.model = nets, model
    if el.letter == "M":
        for key, v in zip(("l", "w"), values):
            el.params.setdefault(key, v)
    elif values and "area" not in el.params:
        el.value = values[0]


def _build_switch(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    words, model = _split_model(items)
    if el.letter == "S":
        if len(words) < 4:
            raise _too_few(el, s, "four nodes and a model")
        el.nets, rest = words[:4], words[4:]
    else:
        if len(words) < 3:
            raise _too_few(el, s, "two nodes, the controlling voltage source and a model")
        el.nets, el.links, rest = words[:2], [words[2]], words[3:]
    el.model = model or (rest[0] if rest else None)


def _build_line(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    words, model = _split_model(items)
    n = 3 if el.letter == "U" else 4
    if len(words) < n:
        raise _too_few(el, s, f"{n} nodes")
    el.nets = words[:n]
    el.model = model or (words[n] if len(words) > n and not _is_value(words[n]) else None)


def _build_source(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    pos = items.positional
    if len(pos) < 2 or not all(isinstance(p, str) for p in pos[:2]):
        raise _too_few(el, s, "two nodes")
    el.nets = [str(p) for p in pos[:2]]
    rest = pos[2:]
    first = rest[0] if rest else None
    if isinstance(first, str) and first.lower() not in _SOURCE_WORDS:
        el.value = first
    else:
        for k, item in enumerate(rest[:-1]):
            if isinstance(item, str) and item.lower() == "dc" and isinstance(rest[k + 1], str):
                el.value = str(rest[k + 1])
                break
        else:
            el.value = items.params.get("dc")


def _build_controlled(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    """``E G`` (voltage-controlled) and ``F H`` (current-controlled)."""
    pos = list(items.positional)
    if len(pos) < 2 or not all(isinstance(p, str) for p in pos[:2]):
        raise _too_few(el, s, "two nodes")
    el.nets = [str(p) for p in pos[:2]]
    rest = pos[2:]
    if rest and isinstance(rest[0], str) and rest[0].lower() in ("vcvs", "vccs", "cccs", "ccvs"):
        rest = rest[1:]
    behavioural = {"E": ("value", "vol"), "G": ("value", "cur")}.get(el.letter, ("value",))
    head = rest[0] if rest else None
    if isinstance(head, _Call) and head.head == "poly" or head == "poly":
        if isinstance(head, _Call):
            count, rest = (head.args[0] if head.args else ""), _words(rest[1:])
        else:
            rest = _words(rest[1:])
            count, rest = (rest[0] if rest else ""), rest[1:]
        if not count.isdigit() or int(count) < 1:
            raise NetlistError(f"{el.where}: element {el.name!r}: poly({count}) needs a count of dimensions")
        n = int(count)
        if el.letter in ("E", "G"):
            if len(rest) < 2 * n:
                raise _too_few(el, s, f"{2 * n} controlling nodes for poly({n})")
            el.nets += rest[: 2 * n]
        else:
            if len(rest) < n:
                raise _too_few(el, s, f"{n} controlling voltage sources for poly({n})")
            el.links = rest[:n]
        return
    for key in behavioural:
        if key in items.params:
            el.value = items.params[key]
            return
    if isinstance(head, _Call) or (isinstance(head, str) and head.lower() in _BEHAVIOURAL):
        words = _words(rest)
        el.value = words[1] if len(words) > 1 else None  # table {expr} ..., laplace {expr} ...
        return
    words = _words(rest)
    if el.letter in ("E", "G"):
        if len(words) < 2:
            raise _too_few(el, s, "four nodes and a gain, or value={expression}")
        el.nets += words[:2]
        el.value = words[2] if len(words) > 2 else None
    else:
        if not words:
            raise _too_few(el, s, "two nodes, the controlling voltage source and a gain")
        el.links = words[:1]
        el.value = words[1] if len(words) > 1 else None


def _build_coupling(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    words = _words(items.positional)
    given = "coupling" in items.params or "k" in items.params
    links = words if given else words[:-1]  # the coupling is the last word
    if len(links) < 2 or any(w[:1].lower() != "l" for w in links):
        raise _too_few(el, s, "two inductors (L...) and a coupling")
    el.links = links
    el.value = items.params.get("coupling") if given else words[-1]


def _build_behavioural(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    rest = s.split(None, 1)[1] if len(s.split(None, 1)) > 1 else ""
    before, eq, expr = rest.partition("=")
    words = before.replace("(", " ").replace(")", " ").replace(",", " ").split()
    if not eq or len(words) < 3 or words[-1].lower() not in ("v", "i") or not expr.strip():
        raise _too_few(el, s, "two nodes and v=expression or i=expression")
    el.nets, el.value, el.params = words[:2], expr.strip(), {}


def _build_instance(reader: _Reader, el: Element, items: _Items, s: str) -> None:
    words = _words(items.positional)
    if "/" in words:
        k = len(words) - 1 - words[::-1].index("/")
        if k + 1 >= len(words):
            raise _too_few(el, s, "a subcircuit after '/'")
        el.nets, el.model = words[:k], words[k + 1]
    elif words and words[-1].startswith("/") and len(words[-1]) > 1:
        el.nets, el.model = words[:-1], words[-1][1:]
    elif words:
        el.nets, el.model = words[:-1], words[-1]
    else:
        raise _too_few(el, s, "its nodes and a subcircuit")
    if items.pins:
        reader.pinmaps.append((el, items.pins))


_Builder = Callable[[_Reader, Element, _Items, str], None]
_BUILDERS: Dict[str, _Builder] = {
    "R": _build_passive,
    "C": _build_passive,
    "L": _build_passive,
    "S": _build_switch,
    "W": _build_switch,
    "T": _build_line,
    "O": _build_line,
    "U": _build_line,
    "V": _build_source,
    "I": _build_source,
    "E": _build_controlled,
    "G": _build_controlled,
    "F": _build_controlled,
    "H": _build_controlled,
    "K": _build_coupling,
    "B": _build_behavioural,
    "X": _build_instance,
}


def parse_spice_text(
    text: str,
    source: Path,
    design: Design,
    *,
    root: Path,
    title: bool = False,
    first_line: int = 1,
    files: int = 0,
) -> int:
    """Read the SPICE statements of ``text`` into ``design`` (see the module docstring).

    Args:
        text: the statements; its line 1 is line ``first_line`` of ``source``.
        source: the file they come from (for messages, and the folder includes are relative to).
        design: the design to add elements, subcircuits, models, parameters and globals to;
            names are folded to lower case when its dialect is ``"spice"`` (parameter names
            of elements always).
        root: the folder every included file must lie in.
        title: whether the first line is a title (skipped, see the module docstring).
        first_line: the line of ``source`` that ``text`` starts at.

    A ``.subckt`` (or ``.if``) opened in ``text`` must close in it.  A lone name in the
    value's place of an ``R``/``C``/``L`` is a model if ``design`` knows a ``.model`` of that
    name when ``text`` ends (else it is the value).  Raises
    :class:`~hipool.data.netlists.gates.NetlistError` (``file:line: what is wrong``).
    """
    source = Path(source)
    reader = _Reader(design, Path(os.path.realpath(root)))
    reader.files = files - 1 if files else 0  # read_text counts the text itself
    chain = [(Path(os.path.realpath(source)), None, str(source))]
    with no_cyclic_gc():
        reader.read_text(text, str(source), source.parent, chain, title, first_line)
        reader.finish()
    return reader.files


def parse_spice(path: Union[str, Path]) -> Design:
    """The :class:`~hipool.data.netlists.analog.Design` of a SPICE/ngspice/CDL file and its
    includes (see the module docstring); named after the file's stem."""
    path = Path(path)
    text = decode_netlist_text(read_netlist_bytes(path, _WHAT), str(path), _WHAT)
    design = Design(name=path.stem, source=str(path), dialect="spice")
    parse_spice_text(text, path, design, root=path.parent, title=True)
    return design


def read_spice(path: Union[str, Path]) -> AnalogNetlist:
    """The flattened :class:`~hipool.data.netlists.analog.AnalogNetlist` of a SPICE file."""
    return flatten(parse_spice(path))


__all__ = ["MAX_FILES", "MAX_INCLUDE_DEPTH", "parse_spice", "parse_spice_text", "read_spice"]
