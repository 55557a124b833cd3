r"""Spectre netlists (Cadence's simulator language), parsed into a
:class:`~hipool.data.netlists.analog.Design` and flattened by
:func:`~hipool.data.netlists.analog.flatten`.

A netlist is a list of statements, one a line::

    // Spectre: names are case-sensitive, M is mega and m milli
    simulator lang=spectre
    global 0 vdd!
    parameters wn=2u
    include "models.scs" section=tt
    model nch bsim4 type=n
    subckt inv (a y vdd vss)            // or: subckt inv a y vdd vss
        parameters wp=4u
        MP (y a vdd vdd) pch w=wp l=180n
        MN (y a vss vss) nch w=wn l=180n
    ends inv
    I1 (in out vdd! 0) inv wp=6u
    R0 (out 0) resistor r=2M
    tran1 tran stop=1u                   // analyses are skipped

**Lines.**  ``//`` starts a comment anywhere outside a ``"string"``; a line whose first
character (after blanks) is ``*`` is a comment; ``\`` at the end of a line continues the
statement on the next; blank lines, ``\r\n`` endings, tabs and a UTF-8 byte-order mark are
fine.  Errors name the line where the statement starts.

**Instances** ``name (n1 n2 ...) master p1=v1 p2=v2 ...``: the nets in parentheses, then the
master, then parameters.  Without parentheses (``name n1 n2 master p=v``) the nets are the
tokens before the master, and the master is the last token before the first ``p=v``; an
instance may have no nets (``K1 mutual_inductor ind1=L1 ind2=L2 coupling=0.9``).  A value
is one token, or a parenthesised or bracketed group that may hold blanks (``w=(a + b)``,
``wave=[0 0 1n 1.8]``); ``p = v`` with blanks around ``=`` is read too, and a token after a
value that is not ``name=`` continues that value (``r=a + b``).  Values stay texts;
:func:`~hipool.data.netlists.analog.flatten` evaluates them (:mod:`~.values`, Spectre's
suffixes: ``T G M K k m u n p f a``).  The master decides the instance's family
(:attr:`~hipool.data.netlists.analog.Element.letter`), first rule that applies:

1. a subcircuit defined in the file (or an included one), before or after the instance: ``X``;
2. a ``model name type ...`` statement: the family of ``type`` (below); ``type=n|p``
   (``npn|pnp`` for bipolars) is the polarity, recorded in ``Design.models`` as SPICE's
   ``nmos pmos npn pnp njf pjf nmf pmf``; without ``type=`` the type is recorded as
   written (``bsim4``) and the model's name decides the polarity, as for SPICE.  A
   binned model (``model nch bsim4 { 1: type=n ... }``) takes the first ``type=`` of its block;
3. a ``.model`` card of a SPICE section (``simulator lang=spice``): its type;
4. one of Spectre's primitives (:data:`PRIMITIVES`): ``resistor`` R, ``capacitor`` C,
   ``inductor`` L, ``mutual_inductor`` K (its inductors from ``ind1=``/``ind2=``, its value
   ``coupling=``), ``diode`` D, ``bjt`` Q, ``jfet`` J, ``vsource``/``port``/``iprobe`` V,
   ``isource`` I, ``vcvs``/``pvcvs`` E (``gain=``), ``vccs``/``pvccs`` G (``gm=``), ``cccs``
   F (``gain=``) and ``ccvs`` H (``rm=``), both sensing the source named by ``probe=``,
   ``bsource`` B, ``switch``/``relay`` S, ``tline`` T; and the device types a ``model`` may
   name (:func:`family`): MOS M (``mos*``, ``bsim*``, ``b3soi*``, ``psp*``, ``ekv*``,
   ``hisim*``, ``hvmos*``, ``tft*``), bipolar Q (``bjt*``, ``vbic*``, ``hicum*``,
   ``mextram*``, ``hbt*``), ``jfet*`` J, MESFET Z (``gaas``, ``tom2``, ``tom3``,
   ``mesfet*``), diode D (``diode*``, ``juncap*``, ``dio500``), ``phy_res`` R;
5. a name with a device's look (case-insensitive prefix, and only when the instance's net
   count fits the family): ``nmos pmos nch pch nfet pfet`` M, ``npn pnp`` Q, ``res`` R,
   ``cap`` C, ``ind`` L, ``dio`` D.  This reads schematic exports that name analogLib's
   cells (``nmos4``, ``pmos4``, ``npn``, ``pnp``) without defining them; the polarity comes
   from the name (``nmos4`` is NMOS, ``pnp`` PNP).  Nothing else is guessed:
6. else ``file:line: instance X of master 'foo', which is neither a primitive, a model nor
   a subcircuit defined in the file``.

A device's main value (:data:`MAIN_PARAMETER`) is ``r`` for R, ``c`` C, ``l`` L,
``coupling`` K, ``area`` D Q J Z, ``dc`` V I, ``gain`` E F, ``gm`` G, ``rm`` H, and ``w/l``
for MOS; without it, :func:`~hipool.data.netlists.analog.flatten` looks for its other keys.

**Statements.**  ``subckt name (ports)`` / ``subckt name ports`` / ``inline subckt ...``
... ``ends [name]`` defines a subcircuit; definitions may nest (a nested definition is
visible to the whole file, where Spectre scopes it to its parent) and a name may be defined
once.  An ``inline subckt`` adds no level of hierarchy: its device named like the
subcircuit takes the instance's name, and its other devices are named ``<instance>/<name>``
at the caller's level (:class:`~hipool.data.netlists.analog.Subckt`).  ``parameters a=1 b=2`` at the top level are the
design's parameters; inside a subcircuit they are its parameters' defaults, which an
instance's ``name=value`` overrides.  ``global 0 vdd!`` declares global nets (a name
ending in ``!`` is global only when declared, as in Spectre).  ``include "file"
[section=s]`` (and ``#include``) reads another file, starting in Spectre syntax, relative
to the including file's folder; its real path must lie inside the folder of the file given
to :func:`read_spectre` (no escape through ``..`` or links); a missing file, a loop (the chain is named), more than
:data:`MAX_FILES` files or a nesting deeper than :data:`MAX_INCLUDE_DEPTH` are errors.
``library name`` ... ``endlibrary`` and ``section name`` ... ``endsection`` delimit a model
library: a file read as a whole skips every library and section, and
``include "f" section=s`` reads only section ``s`` of ``f`` (a file without it is an
error).  ``ahdl_include`` (Verilog-A) is not opened: an instance of a Verilog-A module is
an unknown master.

**Skipped** without error: analyses and control statements, written ``name type ...``
(``tran1 tran stop=1u``, ``simulatorOptions options reltol=1e-3``, ``dcOp dc``; the types
are :data:`ANALYSES`) unless the file defines a subcircuit or model of that name; the
statements ``save``, ``ic``, ``nodeset``, ``statistics``, ``process``, ``mismatch``,
``vary``, ``correlate``, ``truncate``, ``real``, ``export``; and every ``{ ... }`` block
(``statistics {...}``, ``sweep ... {...}``, ``montecarlo ... {...}``, functions,
``paramset``: an instance of a paramset is an unknown master).  ``if (...) { ... } else
{ ... }``: the first branch is read, the others skipped (conditions are not evaluated).
Other preprocessor lines (``#define``, ``#ifdef``, ...) are refused, and so is a SPICE dot
card (``.model``, ``.ends``) outside a SPICE section.

**Languages.**  ``simulator lang=spice`` switches to SPICE until ``simulator
lang=spectre`` (or the end of the file): that text goes to
:func:`hipool.data.netlists.spice.parse_spice_text`, which adds its elements, subcircuits,
models, parameters and globals to the same design with SPICE's syntax.  As the design is a
Spectre one, its names **keep their case** (SPICE would fold them; the SPICE reader folds
only element parameter names, ``W=`` is ``w``), so Spectre statements and SPICE cards
refer to each other's subcircuits and models as written.  Its numbers are rewritten to
plain ones (``1meg`` is ``1000000.0``, ``1M`` is ``0.001``) so that they keep SPICE's
meaning in this Spectre design.  A SPICE model's type (``.model qn npn``) decides the
family of a Spectre instance of it.  A switch inside a subcircuit or a ``{}`` block is
refused; an included file starts in Spectre.  ``simulator lang=spectre
insensitive=yes`` is read, but names stay case-sensitive.

**Errors** are :class:`~hipool.data.netlists.gates.NetlistError`, ``file:line: what is
wrong``: a ``subckt`` without ``ends``, an ``ends`` without ``subckt`` or naming another,
an unbalanced parenthesis or quote, an instance without master, an unknown master, a
parameter without value, a subcircuit or model defined twice, an instance of a model whose
type is no device hipool reads (``model m verilogmod``), an unbalanced ``{}``, a bad
``include``, a file that is not UTF-8 text or holds a NUL byte; and those of
:func:`~hipool.data.netlists.analog.flatten`.  Reading never runs anything from the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

from .analog import PINS, AnalogNetlist, Design, Element, Subckt, flatten
from .gates import NetlistError, decode_netlist_text, no_cyclic_gc, read_netlist_bytes
from .values import parse_number

#: Most files one design may read (the main file and its includes).
MAX_FILES = 1000
#: Deepest nesting of ``include``.
MAX_INCLUDE_DEPTH = 50
_WHAT = "Spectre netlist"

#: Spectre's primitive masters: the SPICE letter and the parameters naming other devices.
PRIMITIVES: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "resistor": ("R", ()),
    "capacitor": ("C", ()),
    "inductor": ("L", ()),
    "mutual_inductor": ("K", ("ind1", "ind2")),
    "diode": ("D", ()),
    "bjt": ("Q", ()),
    "jfet": ("J", ()),
    "vsource": ("V", ()),
    "port": ("V", ()),
    "iprobe": ("V", ()),
    "isource": ("I", ()),
    "vcvs": ("E", ()),
    "pvcvs": ("E", ()),
    "vccs": ("G", ()),
    "pvccs": ("G", ()),
    "cccs": ("F", ("probe",)),
    "ccvs": ("H", ("probe",)),
    "bsource": ("B", ()),
    "switch": ("S", ()),
    "relay": ("S", ()),
    "tline": ("T", ()),
}
#: The parameter holding a family's main value (MOS: ``w``/``l``, read by ``flatten``).
MAIN_PARAMETER: Dict[str, str] = {
    "R": "r",
    "C": "c",
    "L": "l",
    "K": "coupling",
    "D": "area",
    "Q": "area",
    "J": "area",
    "Z": "area",
    "V": "dc",
    "I": "dc",
    "E": "gain",
    "G": "gm",
    "F": "gain",
    "H": "rm",
}
#: Analysis and control types (``name type ...`` statements, skipped).
ANALYSES: Set[str] = set(
    "ac acmatch alter altergroup assert check checklimit dc dcmatch envlp hb hbac hbnoise hbsp hbxf info "
    "loadpull montecarlo noise options pac pdisto pnoise psp pss pstb pxf pz qpac qpnoise qpsp qpss qpxf "
    "reliability sens set shell sp stb sweep tdr thermal tran uti xf".split()
)
_SKIPPED = {
    "save",
    "ic",
    "nodeset",
    "statistics",
    "process",
    "mismatch",
    "vary",
    "correlate",
    "truncate",
    "real",
    "export",
}
_FAMILIES: Tuple[Tuple[re.Pattern, str], ...] = (
    (re.compile(r"(mos\d+\w*|bsim\w*|b3soi\w*|b4soi\w*|psp\w*|ekv\w*|hisim\w*|hvmos\w*|tft\w*)"), "M"),
    (re.compile(r"(bjt\w*|vbic\w*|hicum\w*|mextram\w*|hbt\w*)"), "Q"),
    (re.compile(r"jfet\w*"), "J"),
    (re.compile(r"(gaas|tom2|tom3|mesfet\w*)"), "Z"),
    (re.compile(r"(diode\w*|juncap\w*|dio500)"), "D"),
    (re.compile(r"(resistor|phy_res)"), "R"),
    (re.compile(r"capacitor"), "C"),
    (re.compile(r"inductor"), "L"),
    (re.compile(r"(switch|relay)"), "S"),
    (re.compile(r"tline"), "T"),
)
_LOOKS = re.compile(r"(?i)(?:(nmos|pmos|nch|pch|nfet|pfet)|(npn|pnp)|(res)|(cap)|(ind)|(dio))")
_LOOK_LETTERS = ("M", "Q", "R", "C", "L", "D")
_LETTER_KIND = {"M": "MOS", "Q": "BJT", "R": "R", "C": "C", "L": "L", "D": "D"}
#: Polarity of ``type=`` per family.
_TYPES: Dict[str, Dict[str, str]] = {
    "M": {"n": "nmos", "p": "pmos", "nmos": "nmos", "pmos": "pmos"},
    "Q": {"npn": "npn", "pnp": "pnp", "n": "npn", "p": "pnp"},
    "J": {"n": "njf", "p": "pjf"},
    "Z": {"n": "nmf", "p": "pmf"},
}
_PLAIN_TYPES = {"D": "d", "R": "r", "C": "c", "L": "l", "S": "sw"}
#: SPICE model types (of a SPICE section) → letter.
_SPICE_TYPES = {"nmos": "M", "pmos": "M", "npn": "Q", "pnp": "Q", "njf": "J", "pjf": "J", "nmf": "Z", "pmf": "Z"}
_SPICE_TYPES.update({"d": "D", "r": "R", "res": "R", "c": "C", "l": "L", "sw": "S", "csw": "W"})
_WORD = re.compile(r"[^\s(){}=\"]+")
_TYPE = re.compile(r"\btype\s*=\s*\"?(\w+)")
_TO_SPECTRE = re.compile(r"^\s*simulator\s+lang\s*=\s*spectre\b", re.IGNORECASE)
_SPICE_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[A-Za-zµ]+")


@lru_cache(maxsize=4096)
def family(name: str) -> Optional[str]:
    """The SPICE letter of a Spectre device type (``bsim4`` → ``M``), or ``None``."""
    for pattern, letter in _FAMILIES:
        if pattern.fullmatch(name):
            return letter
    return None


def _show(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def _strip_comment(line: str) -> str:
    i = line.find("//")
    if i < 0:
        return line
    if '"' not in line[:i]:
        return line[:i]
    quoted = False
    for k, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif not quoted and line.startswith("//", k):
            return line[:k]
    return line


def _pieces(text: str) -> List[str]:
    """The statement split at its braces (outside strings): ``["if (c)", "{"]``."""
    if "{" not in text and "}" not in text:
        return [text]
    out: List[str] = []
    start, quoted = 0, False
    for k, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "{}":
            piece = text[start:k].strip()
            if piece:
                out.append(piece)
            out.append(c)
            start = k + 1
    piece = text[start:].strip()
    if piece:
        out.append(piece)
    return out


_CLOSE = {"(": ")", "[": "]", "{": "}"}


def _value_end(text: str, i: int, where: str) -> int:
    """Where the value starting at ``i`` ends: at a blank or ``)`` outside its own brackets."""
    stack: List[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise NetlistError(f"{where}: a quote that is never closed")
            i = j + 1
            continue
        if c in _CLOSE:
            stack.append(_CLOSE[c])
        elif c in ")]}":
            if not stack:
                if c == ")":
                    return i
                raise NetlistError(f"{where}: {c!r} without its opening bracket in a parameter value")
            if stack.pop() != c:
                raise NetlistError(f"{where}: mismatched brackets in a parameter value")
        elif c.isspace() and not stack:
            return i
        i += 1
    if stack:
        raise NetlistError(f"{where}: unbalanced parenthesis: a parameter value leaves {len(stack)} open")
    return i


def _tokens(text: str, where: str) -> List[str]:
    """Words, ``(``, ``)``, ``=`` and, after each ``=``, its value (possibly empty)."""
    if "=" not in text and '"' not in text:
        return text.replace("(", " ( ").replace(")", " ) ").split()
    out: List[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(c)
            i += 1
        elif c == "=":
            out.append("=")
            i += 1
            while i < n and text[i].isspace():
                i += 1
            j = _value_end(text, i, where)
            out.append(text[i:j])
            i = j
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise NetlistError(f"{where}: a quote that is never closed")
            out.append(text[i : j + 1])
            i = j + 1
        else:
            m = _WORD.match(text, i)
            j = m.end() if m else i + 1
            out.append(text[i:j])
            i = j
    return out


def _params(tokens: Sequence[str], where: str, what: str) -> Dict[str, str]:
    """``name=value`` pairs; a stray token continues the previous value (``r=a + b``)."""
    params: Dict[str, str] = {}
    last: Optional[str] = None
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if i + 1 < n and tokens[i + 1] == "=":
            value = tokens[i + 2] if i + 2 < n else ""
            if t in "()":
                raise NetlistError(f"{where}: {what}: a parenthesis before '=' (unbalanced parenthesis?)")
            if not value:
                raise NetlistError(f"{where}: {what}: parameter {_show(t)} has no value")
            params[t] = value
            last = t
            i += 3
        elif t == "=":
            raise NetlistError(f"{where}: {what}: '=' without a parameter name")
        elif last is not None and t not in "()":
            params[last] += " " + t
            i += 1
        else:
            raise NetlistError(f"{where}: {what}: {_show(t)} where a parameter (name=value) belongs")
    return params


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _spice_numbers(text: str) -> str:
    """SPICE's suffixed numbers (``1meg``, ``10uF``) as plain ones, for Spectre's evaluation."""

    def plain(m: re.Match) -> str:
        value = parse_number(m.group(), "spice")
        return m.group() if value is None else repr(value)

    return _SPICE_NUMBER.sub(plain, text)


@dataclass
class _File:
    """The state of one file being read."""

    path: str
    want: Optional[str]  # the section to read (include ... section=), or None: the whole file
    depth: int  # open subcircuits when the file began
    lang: str = "spectre"
    library: Optional[Tuple[str, int]] = None
    section: Optional[Tuple[str, int]] = None
    found: bool = False
    blocks: List[Tuple[str, int]] = field(default_factory=list)  # open { }: (kind, line)
    skipping: int = 0  # how many of them are skipped blocks
    after_if: bool = False  # the last piece closed an if/else branch
    pending: Optional[str] = None  # "if", "else" or a model name: a '{' on the next line belongs to it
    model: Optional[str] = None  # the model whose { } block is being skipped

    def at(self, line: int) -> str:
        return f"{self.path}:{line}"

    def active(self) -> bool:
        if self.want is None:
            return self.library is None and self.section is None
        return self.section is not None and self.section[0] == self.want


class _Reader:
    def __init__(self, main: Path):
        self.root = os.path.realpath(main.parent)
        self.design = Design(name=main.stem, source=str(main), dialect="spectre")
        self.stack: List[Subckt] = []
        self.models: Dict[str, Tuple[Optional[str], str, str]] = {}  # name -> (letter, type as written, where)
        self.pending: List[Tuple[Element, str, List[Element]]] = []
        self.files = 0

    # -- files and lines ----------------------------------------------------------------
    def read(self, path: str, real: str, want: Optional[str], chain: List[Tuple[str, Optional[str], str]]) -> bool:
        """Read one file; whether the section ``want`` was found."""
        self.files += 1
        text = decode_netlist_text(read_netlist_bytes(Path(real), _WHAT), path, _WHAT)
        if text.startswith("\ufeff"):  # a byte-order mark
            text = text[1:]
        f = _File(path, want, len(self.stack))
        parts: List[str] = []
        spice: List[str] = []
        start = spice_start = 0
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.rstrip("\r")
            if f.lang == "spice":
                if _TO_SPECTRE.match(line):
                    self.spice(f, spice, spice_start)
                    spice, f.lang = [], "spectre"
                else:
                    spice.append(line)
                continue
            if not parts:
                if line.lstrip().startswith("*"):
                    continue
                start = number
            line = _strip_comment(line).rstrip()
            if line.endswith("\\"):
                parts.append(line[:-1])
                continue
            parts.append(line)
            statement = " ".join(parts).strip()
            parts = []
            if statement:
                self.statement(f, statement, start, chain)
                spice_start = number + 1
        if parts and " ".join(parts).strip():
            self.statement(f, " ".join(parts).strip(), start, chain)
        if f.lang == "spice":
            self.spice(f, spice, spice_start)
        if f.blocks:
            raise NetlistError(f"{f.at(f.blocks[-1][1])}: this '{{' is never closed")
        for what, opened in (("section", f.section), ("library", f.library)):
            if opened is not None:
                raise NetlistError(f"{f.at(opened[1])}: {what} {_show(opened[0])} has no end{what}")
        if len(self.stack) > f.depth:
            sub = self.stack[-1]
            raise NetlistError(f"{sub.where}: subckt {_show(sub.name)} has no ends")
        return f.found

    def spice(self, f: _File, lines: List[str], first_line: int) -> None:
        if not f.active() or not any(line.strip() for line in lines):
            return
        try:
            from .spice import parse_spice_text
        except ImportError:
            raise NetlistError(f"{f.at(first_line)}: a SPICE section, and hipool's SPICE reader is missing") from None
        d = self.design
        n_elements, n_params, known = len(d.elements), len(d.params), set(d.subckts)
        self.files = parse_spice_text(
            "\n".join(lines),
            Path(f.path),
            d,
            root=Path(self.root),
            title=False,
            first_line=first_line,
            files=self.files,
        )
        for el in d.elements[n_elements:]:
            _plain_numbers(el)
        for name, sub in d.subckts.items():
            if name not in known:
                sub.params = {k: _spice_numbers(v) for k, v in sub.params.items()}
                sub.local_params = [(k, _spice_numbers(v)) for k, v in sub.local_params]
                for el in sub.elements:
                    _plain_numbers(el)
        d.params[n_params:] = [(k, _spice_numbers(v)) for k, v in d.params[n_params:]]

    # -- statements ---------------------------------------------------------------------
    def statement(self, f: _File, text: str, line: int, chain: List[Tuple[str, Optional[str], str]]) -> None:
        pieces = _pieces(text)
        header: Optional[str] = None
        for k, piece in enumerate(pieces):
            if piece == "{":
                self.open(f, header, line)
                header = None
            elif piece == "}":
                self.close(f, line)
            elif k + 1 < len(pieces) and pieces[k + 1] == "{":
                header = piece
            else:
                self.plain(f, piece, line, chain)

    def open(self, f: _File, header: Optional[str], line: int) -> None:
        if not f.active():
            return
        kind = "skip"
        if not f.skipping:
            if header is not None:
                m = _WORD.match(header)
                word = m.group() if m else ""
            else:  # a '{' alone on its line belongs to the statement before
                word = f.pending or ""
            if word == "if":
                kind = "if"
            elif word == "else":
                if header is not None and not f.after_if:
                    raise NetlistError(f"{f.at(line)}: 'else' without an if block before it")
                kind = "else"
            elif word == "model" and header is not None:
                f.model, kind = self.model(f, _tokens(header, f.at(line)), line), "model"
            elif header is None and word:
                f.model, kind = word, "model"  # the model named on the line before
        f.after_if, f.pending = False, None
        f.blocks.append((kind, line))
        f.skipping += kind != "if"

    def close(self, f: _File, line: int) -> None:
        if not f.active():
            return
        if not f.blocks:
            raise NetlistError(f"{f.at(line)}: '}}' without a '{{' before it")
        kind, _ = f.blocks.pop()
        f.skipping -= kind != "if"
        f.pending = None
        f.after_if = kind in ("if", "else") and not f.skipping
        if kind == "model":
            f.model = None

    def plain(self, f: _File, text: str, line: int, chain: List[Tuple[str, Optional[str], str]]) -> None:
        where = f.at(line)
        m = _WORD.match(text)
        word = m.group() if m else ""
        if word in ("section", "endsection", "library", "endlibrary"):
            self.sectioning(f, word, _tokens(text, where)[1:], line)
            return
        if word == "simulator":
            self.simulator(f, _tokens(text, where), line)
            return
        if not f.active():
            return
        if f.skipping:
            typed = _TYPE.search(text)
            if f.model and typed:
                self.set_type(f.model, typed.group(1))
            return
        after_if, f.after_if, f.pending = f.after_if, False, None
        if word in ("if", "else"):
            if word == "else" and not after_if:
                raise NetlistError(f"{where}: 'else' without an if block before it")
            f.pending = word
            return
        if word in _SKIPPED:
            return
        tokens = _tokens(text, where)
        first = tokens[0]
        if first == "model":
            f.pending = self.model(f, tokens, line)
        elif first == "subckt" or (first == "inline" and tokens[1:2] == ["subckt"]):
            self.subckt(tokens[2:] if first == "inline" else tokens[1:], where, inline=first == "inline")
        elif first == "ends":
            self.ends(f, tokens[1:], where)
        elif first == "parameters":
            params = _params(tokens[1:], where, "parameters")
            if self.stack:
                self.stack[-1].params.update(params)
            else:
                self.design.params.extend(params.items())
        elif first == "global":
            self.design.globals.update(t for t in tokens[1:] if t not in "()")
        elif first in ("include", "#include"):
            self.include(f, tokens, line, chain)
        elif first == "ahdl_include":
            return
        elif first.startswith(".") and len(first) > 1:
            raise NetlistError(
                f"{where}: {_show(first)} is a SPICE card in Spectre text (simulator lang=spice missing?)"
            )
        elif first.startswith("#"):
            raise NetlistError(f"{where}: {_show(first)}: hipool does not read Spectre's preprocessor directives")
        else:
            self.instance(tokens, where)

    def simulator(self, f: _File, tokens: List[str], line: int) -> None:
        where = f.at(line)
        lang = _params(tokens[1:], where, "simulator").get("lang", "")
        if lang not in ("spectre", "spice"):
            raise NetlistError(f"{where}: simulator lang={_show(lang)}: hipool reads lang=spectre and lang=spice")
        if lang == "spice" and (len(self.stack) > f.depth or f.blocks):
            inside = f"subckt {_show(self.stack[-1].name)}" if len(self.stack) > f.depth else "a '{ }' block"
            raise NetlistError(f"{where}: simulator lang=spice inside {inside}: hipool reads SPICE sections at the top")
        f.lang = lang

    def sectioning(self, f: _File, word: str, args: List[str], line: int) -> None:
        where = f.at(line)
        what = word[3:] if word.startswith("end") else word
        name = args[0] if args else ""
        if not word.startswith("end"):
            if not name:
                raise NetlistError(f"{where}: {word} has no name")
            if getattr(f, what) is not None:
                opened = getattr(f, what)
                raise NetlistError(f"{where}: {word} {_show(name)} inside {what} {_show(opened[0])} (line {opened[1]})")
            setattr(f, what, (name, line))
            return
        opened = getattr(f, what)
        if opened is None:
            raise NetlistError(f"{where}: {word} without a {what} before it")
        if name and name != opened[0]:
            raise NetlistError(f"{where}: {word} {_show(name)} closes {what} {_show(opened[0])} (line {opened[1]})")
        if what == "section" and f.want is not None and opened[0] == f.want:
            f.found = True
        setattr(f, what, None)

    def model(self, f: _File, tokens: List[str], line: int) -> str:
        where = f.at(line)
        if len(tokens) < 3 or tokens[1] in "()=" or tokens[2] in "()=":
            raise NetlistError(f"{where}: model takes a name and a device type: 'model nch bsim4 type=n'")
        name, written = tokens[1], tokens[2]
        if name in self.models:
            raise NetlistError(f"{where}: model {_show(name)} is defined twice (first at {self.models[name][2]})")
        params = _params(tokens[3:], where, f"model {name}")
        self.models[name] = (family(written) or _SPICE_TYPES.get(written.lower()), written, where)
        self.design.models[name] = written
        if "type" in params:
            self.set_type(name, params["type"])
        elif self.models[name][0] in _PLAIN_TYPES:
            self.design.models[name] = _PLAIN_TYPES[self.models[name][0] or ""]
        return name

    def set_type(self, name: str, written: str) -> None:
        letter = self.models[name][0]
        if self.design.models[name] == self.models[name][1]:  # not typed yet
            typed = _TYPES.get(letter or "", {}).get(_unquote(written).lower())
            self.design.models[name] = typed or _PLAIN_TYPES.get(letter or "", self.models[name][1])

    def subckt(self, args: List[str], where: str, inline: bool = False) -> None:
        if not args or args[0] in "()=":
            raise NetlistError(f"{where}: subckt has no name: 'subckt name (port1 port2 ...)'")
        name, rest = args[0], args[1:]
        if "=" in rest:
            raise NetlistError(f"{where}: subckt {_show(name)}: parameters belong on a 'parameters' line")
        if rest[:1] == ["("]:
            if rest[-1] != ")" or rest.count("(") != 1 or rest.count(")") != 1:
                raise NetlistError(f"{where}: subckt {_show(name)}: unbalanced parenthesis around its ports")
            rest = rest[1:-1]
        elif "(" in rest or ")" in rest:
            raise NetlistError(f"{where}: subckt {_show(name)}: unbalanced parenthesis around its ports")
        if name in self.design.subckts:
            first = self.design.subckts[name].where
            raise NetlistError(f"{where}: subckt {_show(name)} is defined twice (first at {first})")
        sub = Subckt(name=name, ports=rest, where=where, inline=inline)
        self.design.subckts[name] = sub
        self.stack.append(sub)

    def ends(self, f: _File, args: List[str], where: str) -> None:
        if len(self.stack) <= f.depth:
            raise NetlistError(f"{where}: ends without a subckt before it")
        sub = self.stack.pop()
        if args and args[0] != sub.name:
            raise NetlistError(f"{where}: ends {_show(args[0])} closes subckt {_show(sub.name)} ({sub.where})")

    def include(self, f: _File, tokens: List[str], line: int, chain: List[Tuple[str, Optional[str], str]]) -> None:
        where = f.at(line)
        if len(tokens) < 2 or tokens[1] in "()=":
            raise NetlistError(f'{where}: include names no file: include "file" [section=name]')
        name = _unquote(tokens[1])
        section = _params(tokens[2:], where, "include").get("section")
        section = _unquote(section) if section else None
        shown = os.path.join(os.path.dirname(f.path), name)
        real = os.path.realpath(shown)
        if os.path.commonpath([self.root, real]) != self.root:
            raise NetlistError(f"{where}: include {_show(name)} is {real}, outside the design's folder {self.root}")
        if not os.path.isfile(real):
            raise NetlistError(f"{where}: include {_show(name)}: no such file ({shown})")
        if any(r == real and s == section for r, s, _ in chain):
            loop = [p for _, _, p in chain] + [shown]
            raise NetlistError(f"{where}: include loop: {' -> '.join(loop)}")
        if len(chain) > MAX_INCLUDE_DEPTH:
            raise NetlistError(f"{where}: includes nest deeper than {MAX_INCLUDE_DEPTH}")
        if self.files >= MAX_FILES:
            raise NetlistError(f"{where}: the design reads more than {MAX_FILES} files")
        if not self.read(shown, real, section, chain + [(real, section, shown)]) and section is not None:
            raise NetlistError(f"{where}: include {_show(name)}: the file has no section {_show(section)}")

    def instance(self, tokens: List[str], where: str) -> None:
        name, n = tokens[0], len(tokens)
        if name in "()=":
            raise NetlistError(f"{where}: a statement starts with {name!r} (unbalanced parenthesis?)")
        if n > 1 and tokens[1] == "=":
            raise NetlistError(f"{where}: {_show(name)}=...: a parameter where a statement belongs")
        nets: List[str] = []
        i = 1
        if i < n and tokens[i] == "(":
            j = i + 1
            while j < n and tokens[j] != ")":
                if tokens[j] in ("(", "="):
                    raise NetlistError(f"{where}: instance {name}: {tokens[j]!r} among its nets (unbalanced '('?)")
                nets.append(tokens[j])
                j += 1
            if j == n:
                raise NetlistError(f"{where}: instance {name}: unbalanced parenthesis: '(' is never closed")
            i = j + 1
            if i >= n or tokens[i] in "()=" or (i + 1 < n and tokens[i + 1] == "="):
                raise NetlistError(f"{where}: instance {name} has no master after its nets")
            master = tokens[i]
            i += 1
        else:
            j = i
            while j < n and tokens[j] not in "()" and not (j + 1 < n and tokens[j + 1] == "="):
                j += 1
            if j < n and tokens[j] in "()":
                raise NetlistError(f"{where}: instance {name}: unbalanced parenthesis ({tokens[j]!r} among its nets)")
            if j == i:
                raise NetlistError(f"{where}: instance {name} has no master (a statement 'name (nets) master')")
            nets, master, i = tokens[i : j - 1], tokens[j - 1], j
        params = _params(tokens[i:], where, f"instance {name}")
        el = Element(name=name, letter="?", nets=nets, params=params, where=where)
        body = self.stack[-1].elements if self.stack else self.design.elements
        body.append(el)
        self.pending.append((el, master, body))

    # -- masters ------------------------------------------------------------------------
    def resolve(self) -> None:
        for el, master, body in self.pending:
            sub = self.design.subckts.get(master)
            if master in ANALYSES and master not in self.models and (sub is None or len(el.nets) != len(sub.ports)):
                body.remove(el)  # an analysis: known only once the whole file is read
                continue
            links: Tuple[str, ...] = ()
            model: Optional[str] = master
            if master in self.design.subckts:
                letter: Optional[str] = "X"
            elif master in self.models:
                letter, written, _ = self.models[master]
                if letter is None:
                    raise NetlistError(
                        f"{el.where}: instance {el.name} of model {master!r}, whose type {written!r} "
                        "is no device hipool reads"
                    )
            elif self.design.models.get(master, "").lower() in _SPICE_TYPES:
                letter = _SPICE_TYPES[self.design.models[master].lower()]
            elif master in PRIMITIVES:
                letter, links = PRIMITIVES[master]
                model = master if letter in ("Q", "J") else None
            else:
                letter = family(master) or self.looks(master, len(el.nets))
                if letter is None:
                    raise NetlistError(
                        f"{el.where}: instance {el.name} of master {master!r}, which is neither a primitive, "
                        "a model nor a subcircuit defined in the file"
                    )
            el.letter, el.model = letter, model
            main = MAIN_PARAMETER.get(letter)
            if main is not None and main in el.params:
                el.value = el.params[main]
            el.links = [_unquote(el.params[p]) for p in links if p in el.params]

    @staticmethod
    def looks(master: str, pins: int) -> Optional[str]:
        m = _LOOKS.match(master)
        if m is None:
            return None
        letter = _LOOK_LETTERS[m.lastindex - 1]  # type: ignore[operator]
        _, lo, hi = PINS[_LETTER_KIND[letter]]
        return letter if lo <= pins <= hi else None


def _plain_numbers(el: Element) -> None:
    if el.value is not None:
        el.value = _spice_numbers(el.value)
    el.params = {k: _spice_numbers(v) for k, v in el.params.items()}


def parse_spectre(path: Union[str, os.PathLike], ports: Optional[Sequence[str]] = None) -> Design:
    """The :class:`~hipool.data.netlists.analog.Design` of a Spectre file (see the module
    docstring): named after the file's stem, every instance's master resolved to its family.

    Args:
        path: the netlist file (UTF-8 text); the files it includes must lie in its folder.
        ports: the design's pins (``Design.ports``, marked ``is_port``), e.g. the names of
            AnalogGenie's ``Port<id>.txt``; default none.

    Raises:
        NetlistError: ``file:line: what is wrong`` (see the module docstring).
    """
    main = Path(path)
    reader = _Reader(main)
    if ports is not None:
        reader.design.ports = [str(p) for p in ports]
    real = os.path.realpath(main)
    with no_cyclic_gc():
        reader.read(str(main), real, None, [(real, None, str(main))])
        reader.resolve()
    return reader.design


def read_spectre(path: Union[str, os.PathLike], ports: Optional[Sequence[str]] = None) -> AnalogNetlist:
    """A Spectre netlist, flattened: ``flatten(parse_spectre(path, ports))`` (see
    :func:`parse_spectre` and :func:`~hipool.data.netlists.analog.flatten`)."""
    design = parse_spectre(path, ports)
    with no_cyclic_gc():
        return flatten(design)


__all__ = ["ANALYSES", "MAX_FILES", "MAX_INCLUDE_DEPTH", "PRIMITIVES", "family", "parse_spectre", "read_spectre"]
