"""The lines and tokens of Spectre text, for :mod:`hipool.data.netlists.spectre`.

Comments (``//`` outside a ``"string"``), a statement split at its braces, words,
parentheses, ``=`` and parameter values (a value may be a bracketed group holding blanks),
``name=value`` pairs, quotes, and SPICE's suffixed numbers rewritten as plain ones.  Errors
are :class:`~hipool.data.netlists.gates.NetlistError`, ``where: what is wrong``.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

from .gates import NetlistError
from .values import parse_number

#: A word: a run of characters other than blanks, ``(){}=`` and quotes.
WORD = re.compile(r"[^\s(){}=\"]+")
#: A ``type=`` parameter, its value in group 1 (read in a skipped ``{ }`` block of a model).
TYPE_PARAM = re.compile(r"\btype\s*=\s*\"?(\w+)")
#: The line that ends a SPICE section.
TO_SPECTRE = re.compile(r"^\s*simulator\s+lang\s*=\s*spectre\b", re.IGNORECASE)
_SPICE_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[A-Za-zµ]+")


def show(text: str, width: int = 60) -> str:
    """``text`` quoted for an error message, cut after ``width`` characters."""
    return repr(text if len(text) <= width else text[:width] + "...")


def strip_comment(line: str) -> str:
    """The line without its ``//`` comment (one inside a ``"string"`` is text)."""
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


def split_braces(text: str) -> List[str]:
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


def tokenize(text: str, where: str) -> List[str]:
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
            m = WORD.match(text, i)
            j = m.end() if m else i + 1
            out.append(text[i:j])
            i = j
    return out


def parse_params(tokens: Sequence[str], where: str, what: str) -> Dict[str, str]:
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
                raise NetlistError(f"{where}: {what}: parameter {show(t)} has no value")
            params[t] = value
            last = t
            i += 3
        elif t == "=":
            raise NetlistError(f"{where}: {what}: '=' without a parameter name")
        elif last is not None and t not in "()":
            params[last] += " " + t
            i += 1
        else:
            raise NetlistError(f"{where}: {what}: {show(t)} where a parameter (name=value) belongs")
    return params


def unquote(text: str) -> str:
    """``text`` without the double quotes around it, if it has them."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def spice_numbers(text: str) -> str:
    """SPICE's suffixed numbers (``1meg``, ``10uF``) as plain ones, for Spectre's evaluation."""

    def plain(m: re.Match) -> str:
        value = parse_number(m.group(), "spice")
        return m.group() if value is None else repr(value)

    return _SPICE_NUMBER.sub(plain, text)


__all__ = [
    "TO_SPECTRE",
    "TYPE_PARAM",
    "WORD",
    "parse_params",
    "show",
    "spice_numbers",
    "split_braces",
    "strip_comment",
    "tokenize",
    "unquote",
]
