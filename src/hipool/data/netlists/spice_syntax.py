"""The lexical layer of the SPICE reader (:mod:`hipool.data.netlists.spice`): comments, ``+``
continuation lines and statements, the tokenizer, and a statement's items (positional words,
``head(...)`` groups, ``name=value`` parameters and CDL's ``$PINS`` map).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple, Union

from .gates import NetlistError

#: Heads of ``f(...)`` groups read as one item (sources' waveforms, controlled sources' forms).
_CALLS = frozenset("pulse sin exp pwl sffm am trnoise trrandom pat poly table laplace freq distof1 distof2".split())
_TOKEN = re.compile(r"""\s*(?:(\{)|('[^']*')|("[^"]*")|([=(),])|([^\s='"(),{}]+))""")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?[a-zµ]*$", re.IGNORECASE)
_SPECIAL = re.compile(r"""[{'"(),]""")

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
