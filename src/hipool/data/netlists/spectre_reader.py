"""The Spectre reader's state machine, for :mod:`hipool.data.netlists.spectre`: files and
their includes, lines and ``\\`` continuations, ``{ }`` blocks and ``if``/``else``, libraries
and sections, ``simulator lang=`` switches (SPICE sections go to
:func:`hipool.data.netlists.spice.parse_spice_text`), and the statements (``model``,
``subckt``/``ends``, ``parameters``, ``global``, ``include``, instances).  The accepted syntax
is specified in that module's docstring.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .analog import Design, Element, Subckt
from .gates import NetlistError, decode_netlist_text, read_netlist_bytes
from .spectre_masters import PLAIN_TYPES, POLARITY, SKIPPED, SPICE_TYPES, family, resolve_masters
from .spectre_syntax import (
    TO_SPECTRE,
    TYPE_PARAM,
    WORD,
    parse_params,
    show,
    spice_numbers,
    split_braces,
    strip_comment,
    tokenize,
    unquote,
)

_WHAT = "Spectre netlist"


@dataclass
class SpectreFile:
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


class SpectreReader:
    """Reads a Spectre file and its includes into ``design``; :meth:`resolve` then gives each
    instance its family.  ``max_files`` and ``max_depth`` bound the includes."""

    def __init__(self, main: Path, max_files: int, max_depth: int):
        self.max_files, self.max_depth = max_files, max_depth
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
        f = SpectreFile(path, want, len(self.stack))
        parts: List[str] = []
        spice: List[str] = []
        start = spice_start = 0
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.rstrip("\r")
            if f.lang == "spice":
                if TO_SPECTRE.match(line):
                    self.spice(f, spice, spice_start)
                    spice, f.lang = [], "spectre"
                else:
                    spice.append(line)
                continue
            if not parts:
                if line.lstrip().startswith("*"):
                    continue
                start = number
            line = strip_comment(line).rstrip()
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
                raise NetlistError(f"{f.at(opened[1])}: {what} {show(opened[0])} has no end{what}")
        if len(self.stack) > f.depth:
            sub = self.stack[-1]
            raise NetlistError(f"{sub.where}: subckt {show(sub.name)} has no ends")
        return f.found

    def spice(self, f: SpectreFile, lines: List[str], first_line: int) -> None:
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
                sub.params = {k: spice_numbers(v) for k, v in sub.params.items()}
                sub.local_params = [(k, spice_numbers(v)) for k, v in sub.local_params]
                for el in sub.elements:
                    _plain_numbers(el)
        d.params[n_params:] = [(k, spice_numbers(v)) for k, v in d.params[n_params:]]

    # -- statements ---------------------------------------------------------------------
    def statement(self, f: SpectreFile, text: str, line: int, chain: List[Tuple[str, Optional[str], str]]) -> None:
        pieces = split_braces(text)
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

    def open(self, f: SpectreFile, header: Optional[str], line: int) -> None:
        if not f.active():
            return
        kind = "skip"
        if not f.skipping:
            if header is not None:
                m = WORD.match(header)
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
                f.model, kind = self.model(f, tokenize(header, f.at(line)), line), "model"
            elif header is None and word:
                f.model, kind = word, "model"  # the model named on the line before
        f.after_if, f.pending = False, None
        f.blocks.append((kind, line))
        f.skipping += kind != "if"

    def close(self, f: SpectreFile, line: int) -> None:
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

    def plain(self, f: SpectreFile, text: str, line: int, chain: List[Tuple[str, Optional[str], str]]) -> None:
        where = f.at(line)
        m = WORD.match(text)
        word = m.group() if m else ""
        if word in ("section", "endsection", "library", "endlibrary"):
            self.sectioning(f, word, tokenize(text, where)[1:], line)
            return
        if word == "simulator":
            self.simulator(f, tokenize(text, where), line)
            return
        if not f.active():
            return
        if f.skipping:
            typed = TYPE_PARAM.search(text)
            if f.model and typed:
                self.set_type(f.model, typed.group(1))
            return
        after_if, f.after_if, f.pending = f.after_if, False, None
        if word in ("if", "else"):
            if word == "else" and not after_if:
                raise NetlistError(f"{where}: 'else' without an if block before it")
            f.pending = word
            return
        if word in SKIPPED:
            return
        tokens = tokenize(text, where)
        first = tokens[0]
        if first == "model":
            f.pending = self.model(f, tokens, line)
        elif first == "subckt" or (first == "inline" and tokens[1:2] == ["subckt"]):
            self.subckt(tokens[2:] if first == "inline" else tokens[1:], where, inline=first == "inline")
        elif first == "ends":
            self.ends(f, tokens[1:], where)
        elif first == "parameters":
            params = parse_params(tokens[1:], where, "parameters")
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
                f"{where}: {show(first)} is a SPICE card in Spectre text (simulator lang=spice missing?)"
            )
        elif first.startswith("#"):
            raise NetlistError(f"{where}: {show(first)}: hipool does not read Spectre's preprocessor directives")
        else:
            self.instance(tokens, where)

    def simulator(self, f: SpectreFile, tokens: List[str], line: int) -> None:
        where = f.at(line)
        lang = parse_params(tokens[1:], where, "simulator").get("lang", "")
        if lang not in ("spectre", "spice"):
            raise NetlistError(f"{where}: simulator lang={show(lang)}: hipool reads lang=spectre and lang=spice")
        if lang == "spice" and (len(self.stack) > f.depth or f.blocks):
            inside = f"subckt {show(self.stack[-1].name)}" if len(self.stack) > f.depth else "a '{ }' block"
            raise NetlistError(f"{where}: simulator lang=spice inside {inside}: hipool reads SPICE sections at the top")
        f.lang = lang

    def sectioning(self, f: SpectreFile, word: str, args: List[str], line: int) -> None:
        where = f.at(line)
        what = word[3:] if word.startswith("end") else word
        name = args[0] if args else ""
        if not word.startswith("end"):
            if not name:
                raise NetlistError(f"{where}: {word} has no name")
            if getattr(f, what) is not None:
                opened = getattr(f, what)
                raise NetlistError(f"{where}: {word} {show(name)} inside {what} {show(opened[0])} (line {opened[1]})")
            setattr(f, what, (name, line))
            return
        opened = getattr(f, what)
        if opened is None:
            raise NetlistError(f"{where}: {word} without a {what} before it")
        if name and name != opened[0]:
            raise NetlistError(f"{where}: {word} {show(name)} closes {what} {show(opened[0])} (line {opened[1]})")
        if what == "section" and f.want is not None and opened[0] == f.want:
            f.found = True
        setattr(f, what, None)

    def model(self, f: SpectreFile, tokens: List[str], line: int) -> str:
        where = f.at(line)
        if len(tokens) < 3 or tokens[1] in "()=" or tokens[2] in "()=":
            raise NetlistError(f"{where}: model takes a name and a device type: 'model nch bsim4 type=n'")
        name, written = tokens[1], tokens[2]
        if name in self.models:
            raise NetlistError(f"{where}: model {show(name)} is defined twice (first at {self.models[name][2]})")
        params = parse_params(tokens[3:], where, f"model {name}")
        self.models[name] = (family(written) or SPICE_TYPES.get(written.lower()), written, where)
        self.design.models[name] = written
        if "type" in params:
            self.set_type(name, params["type"])
        elif self.models[name][0] in PLAIN_TYPES:
            self.design.models[name] = PLAIN_TYPES[self.models[name][0] or ""]
        return name

    def set_type(self, name: str, written: str) -> None:
        letter = self.models[name][0]
        if self.design.models[name] == self.models[name][1]:  # not typed yet
            typed = POLARITY.get(letter or "", {}).get(unquote(written).lower())
            self.design.models[name] = typed or PLAIN_TYPES.get(letter or "", self.models[name][1])

    def subckt(self, args: List[str], where: str, inline: bool = False) -> None:
        if not args or args[0] in "()=":
            raise NetlistError(f"{where}: subckt has no name: 'subckt name (port1 port2 ...)'")
        name, rest = args[0], args[1:]
        if "=" in rest:
            raise NetlistError(f"{where}: subckt {show(name)}: parameters belong on a 'parameters' line")
        if rest[:1] == ["("]:
            if rest[-1] != ")" or rest.count("(") != 1 or rest.count(")") != 1:
                raise NetlistError(f"{where}: subckt {show(name)}: unbalanced parenthesis around its ports")
            rest = rest[1:-1]
        elif "(" in rest or ")" in rest:
            raise NetlistError(f"{where}: subckt {show(name)}: unbalanced parenthesis around its ports")
        if name in self.design.subckts:
            first = self.design.subckts[name].where
            raise NetlistError(f"{where}: subckt {show(name)} is defined twice (first at {first})")
        sub = Subckt(name=name, ports=rest, where=where, inline=inline)
        self.design.subckts[name] = sub
        self.stack.append(sub)

    def ends(self, f: SpectreFile, args: List[str], where: str) -> None:
        if len(self.stack) <= f.depth:
            raise NetlistError(f"{where}: ends without a subckt before it")
        sub = self.stack.pop()
        if args and args[0] != sub.name:
            raise NetlistError(f"{where}: ends {show(args[0])} closes subckt {show(sub.name)} ({sub.where})")

    def include(
        self, f: SpectreFile, tokens: List[str], line: int, chain: List[Tuple[str, Optional[str], str]]
    ) -> None:
        where = f.at(line)
        if len(tokens) < 2 or tokens[1] in "()=":
            raise NetlistError(f'{where}: include names no file: include "file" [section=name]')
        name = unquote(tokens[1])
        section = parse_params(tokens[2:], where, "include").get("section")
        section = unquote(section) if section else None
        shown = os.path.join(os.path.dirname(f.path), name)
        real = os.path.realpath(shown)
        if os.path.commonpath([self.root, real]) != self.root:
            raise NetlistError(f"{where}: include {show(name)} is {real}, outside the design's folder {self.root}")
        if not os.path.isfile(real):
            raise NetlistError(f"{where}: include {show(name)}: no such file ({shown})")
        if any(r == real and s == section for r, s, _ in chain):
            loop = [p for _, _, p in chain] + [shown]
            raise NetlistError(f"{where}: include loop: {' -> '.join(loop)}")
        if len(chain) > self.max_depth:
            raise NetlistError(f"{where}: includes nest deeper than {self.max_depth}")
        if self.files >= self.max_files:
            raise NetlistError(f"{where}: the design reads more than {self.max_files} files")
        if not self.read(shown, real, section, chain + [(real, section, shown)]) and section is not None:
            raise NetlistError(f"{where}: include {show(name)}: the file has no section {show(section)}")

    def instance(self, tokens: List[str], where: str) -> None:
        name, n = tokens[0], len(tokens)
        if name in "()=":
            raise NetlistError(f"{where}: a statement starts with {name!r} (unbalanced parenthesis?)")
        if n > 1 and tokens[1] == "=":
            raise NetlistError(f"{where}: {show(name)}=...: a parameter where a statement belongs")
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
        params = parse_params(tokens[i:], where, f"instance {name}")
        el = Element(name=name, letter="?", nets=nets, params=params, where=where)
        body = self.stack[-1].elements if self.stack else self.design.elements
        body.append(el)
        self.pending.append((el, master, body))

    # -- masters ------------------------------------------------------------------------
    def resolve(self) -> None:
        """Give every instance read its family (:func:`~.spectre_masters.resolve_masters`)."""
        resolve_masters(self.design, self.models, self.pending)


def _plain_numbers(el: Element) -> None:
    if el.value is not None:
        el.value = spice_numbers(el.value)
    el.params = {k: spice_numbers(v) for k, v in el.params.items()}


__all__ = ["SpectreFile", "SpectreReader"]
