r"""Numbers and parameter expressions of analog netlists, evaluated without ``eval``.

SPICE and Spectre write values as numbers with a scale suffix (``4.7k``, ``10uF``,
``2meg``, ``1.5mil``) or as expressions over parameters (``{2*w}``, ``'lmin+10n'``,
``w/2``).  :func:`parse_number` reads a number; :func:`evaluate` reads an expression over a
scope of known parameters.  Neither ever runs code from the file: the expression is parsed
by a small recursive-descent parser over numbers, names, ``+ - * / ^ ** %``, parentheses and
a fixed set of functions.

**Scale suffixes.**  SPICE (``dialect="spice"``, case-insensitive): ``t`` 1e12, ``g`` 1e9,
``meg`` 1e6, ``k`` 1e3, ``mil`` 25.4e-6, ``m`` 1e-3, ``u`` (and ``µ``) 1e-6, ``n`` 1e-9,
``p`` 1e-12, ``f`` 1e-15, ``a`` 1e-18; letters after the suffix are a unit and ignored
(``10uF``, ``1kohm``; ``1f`` is a femto, ``1F`` too — SPICE's rule, not a farad).  Spectre
(``dialect="spectre"``, case-sensitive): ``T G M K k m u n p f a`` (``M`` is mega, ``m``
milli), with no unit letters after them.

**Unknown values.**  An expression that names a parameter no scope defines, calls a
function not in :data:`FUNCTIONS`, has a syntax this parser does not read (a ternary, a
comparison) or overflows evaluates to ``None``: the netlist keeps the device and marks its
value *unknown* (a feature bit), it is not an error.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Dict, List, Mapping, Optional, Tuple

#: Scale suffixes of SPICE (lower case; matched case-insensitively, longest first).
SPICE_SCALES: Dict[str, float] = {
    "meg": 1e6,
    "mil": 25.4e-6,
    "t": 1e12,
    "g": 1e9,
    "k": 1e3,
    "m": 1e-3,
    "u": 1e-6,
    "µ": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
    "a": 1e-18,
}
#: Scale suffixes of Spectre (case-sensitive).
SPECTRE_SCALES: Dict[str, float] = {
    "T": 1e12,
    "G": 1e9,
    "M": 1e6,
    "K": 1e3,
    "k": 1e3,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
    "a": 1e-18,
}


def _log(x: float) -> float:
    return math.log(x)


#: The functions an expression may call (anything else makes the value unknown).
FUNCTIONS: Dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "exp": math.exp,
    "log": _log,
    "ln": _log,
    "log10": math.log10,
    "pow": math.pow,
    "pwr": lambda a, b: math.copysign(abs(a) ** b, a),
    "min": min,
    "max": max,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "floor": math.floor,
    "ceil": math.ceil,
    "int": lambda a: float(int(a)),
}

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?([A-Za-zµ]*)|([A-Za-z_][\w.!$#]*)|(\*\*|[-+*/^%(),]))")
#: Longest expression evaluated (longer ones are unknown).
MAX_EXPRESSION = 2000
_MAX_DEPTH = 64


def _scale(suffix: str, dialect: str) -> Optional[float]:
    """The factor of a number's suffix, or ``None`` when it is not one."""
    if not suffix:
        return 1.0
    if dialect == "spectre":
        return SPECTRE_SCALES.get(suffix)
    low = suffix.lower()
    if not low.isalpha():  # "2n2222", "1k5": not numbers
        return None
    for key in ("meg", "mil"):
        if low.startswith(key):
            return SPICE_SCALES[key]
    return SPICE_SCALES.get(low[0], 1.0 if low[0].isalpha() else None)


def parse_number(text: str, dialect: str = "spice") -> Optional[float]:
    """The value of a number such as ``4.7k``, ``1e-12``, ``10uF`` or ``2meg``; ``None`` when
    ``text`` is not a number (a parameter name, an expression)."""
    m = _NUMBER.match(text)
    if m is None:
        return None
    factor = _scale(text[m.end() :], dialect)
    if factor is None:
        return None
    value = float(m.group()) * factor
    return value if math.isfinite(value) else None


def strip_braces(text: str) -> str:
    """An expression without SPICE's ``{...}`` or ``'...'`` quoting."""
    text = text.strip()
    while len(text) >= 2 and (text[0], text[-1]) in (("{", "}"), ("'", "'"), ('"', '"')):
        text = text[1:-1].strip()
    return text


def _tokens(text: str, dialect: str) -> Optional[List[Tuple[str, object]]]:
    out: List[Tuple[str, object]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        pos = m.end()
        if m.group(1) is not None:
            factor = _scale(m.group(3), dialect)
            if factor is None:
                return None
            number = float(m.group(1) + (m.group(2) or "")) * factor
            if not math.isfinite(number):  # 1e999: an overflow, unknown (not inf, which 1/inf makes 0)
                return None
            out.append(("num", number))
        elif m.group(4) is not None:
            out.append(("name", m.group(4)))
        else:
            out.append(("op", m.group(5)))
    return out


class _Unknown(Exception):
    pass


class _Parser:
    def __init__(self, tokens: List[Tuple[str, object]], scope: Mapping[str, Optional[float]], fold: bool):
        self.tokens, self.scope, self.fold, self.i, self.depth = tokens, scope, fold, 0, 0

    def peek(self) -> Tuple[str, object]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", None)

    def take(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.i += 1
            return True
        return False

    def expr(self) -> float:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Unknown
        value = self.term()
        while True:
            if self.take("+"):
                value += self.term()
            elif self.take("-"):
                value -= self.term()
            else:
                break
        self.depth -= 1
        return value

    def term(self) -> float:
        value = self.unary()
        while True:
            if self.take("*"):
                value *= self.unary()
            elif self.take("/"):
                value /= self.unary()
            elif self.take("%"):
                value = math.fmod(value, self.unary())
            else:
                return value

    def unary(self) -> float:
        if self.take("-"):
            return -self.unary()
        if self.take("+"):
            return self.unary()
        return self.power()

    def power(self) -> float:
        base = self.atom()
        if self.take("**") or self.take("^"):
            exponent = self.unary()  # right-associative
            return math.pow(base, exponent)
        return base

    def atom(self) -> float:
        kind, value = self.peek()
        self.i += 1
        if kind == "num":
            return float(value)  # type: ignore[arg-type]
        if kind == "op" and value == "(":
            inner = self.expr()
            if not self.take(")"):
                raise _Unknown
            return inner
        if kind == "name":
            name = str(value)
            key = name.lower() if self.fold else name
            if self.take("("):
                fn = FUNCTIONS.get(name.lower())
                args = [self.expr()]
                while self.take(","):
                    args.append(self.expr())
                if fn is None or not self.take(")"):
                    raise _Unknown
                return float(fn(*args))
            known = self.scope.get(key)
            if known is None:
                raise _Unknown
            return known
        raise _Unknown


def evaluate(text: str, scope: Mapping[str, Optional[float]], dialect: str = "spice") -> Optional[float]:
    """The value of an expression over ``scope`` (parameter name → value, ``None`` for an
    unknown one; names are matched in lower case for SPICE, as written for Spectre), or
    ``None`` when it cannot be evaluated (see the module docstring).  Never raises."""
    text = strip_braces(text)
    if not text or len(text) > MAX_EXPRESSION:
        return None
    number = parse_number(text, dialect)
    if number is not None and _NUMBER.match(text) and " " not in text:
        return number
    tokens = _tokens(text, dialect)
    if not tokens:
        return None
    parser = _Parser(tokens, scope, fold=dialect != "spectre")
    try:
        value = parser.expr()
        if parser.i != len(tokens):
            return None
    except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
        return None
    return value if math.isfinite(value) else None


__all__ = ["FUNCTIONS", "MAX_EXPRESSION", "SPECTRE_SCALES", "SPICE_SCALES", "evaluate", "parse_number", "strip_braces"]
