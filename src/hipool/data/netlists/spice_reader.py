"""The reading state of the SPICE reader (:mod:`hipool.data.netlists.spice`): :class:`_Reader`
walks the statements of a text, follows ``.include``/``.lib`` within the limits it is given,
skips ``.control``/``.data``/``.lib`` blocks, evaluates ``.if`` conditions, reads the dot cards
(``.subckt``/``.ends``, ``.model``, ``.param``, ``.global``) and hands each element to its
builder (:mod:`~hipool.data.netlists.spice_elements`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .analog import Design, Element, Subckt
from .gates import NetlistError, decode_netlist_text, read_netlist_bytes
from .spice_elements import _BUILDERS, _LETTERS, _UNSUPPORTED, _build_semiconductor
from .spice_syntax import _items, _show, _statements, _tokens, _unquote, _words
from .values import evaluate

_WHAT = "SPICE netlist"
_FUNCTION_PARAM = re.compile(r"\s*[A-Za-z_]\w*\s*\([^)]*\)\s*=")
_COMPARE = re.compile(r"==|!=|<=|>=|<|>")
_SKIP_TO = {".control": ".endc", ".data": ".enddata"}


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


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


class _Reader:
    """One parse: the design being built, the include chain's limits, the open subcircuits."""

    def __init__(self, design: Design, root: Path, max_files: int, max_depth: int):
        self.design = design
        self.root = root
        self.max_files = max_files  # the spice module's limits, read there at each parse
        self.max_depth = max_depth
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
        if len(chain) >= self.max_depth:
            raise NetlistError(f"{where}: includes nest deeper than {self.max_depth}")
        if self.files >= self.max_files:
            raise NetlistError(f"{where}: the netlist includes more than {self.max_files} files")
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
