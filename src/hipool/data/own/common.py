"""What the readers of :mod:`hipool.data.own` share: values shown short in messages, UTF-8
text, strict JSON, and the checks of node counts and float32 values."""

from __future__ import annotations

import json
import re
import reprlib
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from . import limits  # the constants (limits.MAX_NODES, ...), read at call time

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SHOW = 8  # names listed in a message before "..."


# -- names in order, values in messages -----------------------------------------


class _Repr(reprlib.Repr):
    """Short reprs, with JSON's spelling of ``true``, ``false`` and ``null``."""

    def repr_bool(self, value: bool, level: int) -> str:
        return "true" if value else "false"

    def repr_NoneType(self, value: None, level: int) -> str:
        return "null"


_repr = _Repr()
_repr.maxstring = _repr.maxother = _repr.maxlong = 60
_repr.maxlist = _repr.maxdict = 6
_repr.maxlevel = 3


def _natural_key(name: str) -> list:
    """``name`` with its digit runs compared as numbers (``f2`` before ``f10``); a run is compared by
    its length and digits without leading zeros, never turned into an int (5000 digits would fail)."""
    return [(len(t.lstrip("0")), t.lstrip("0")) if i % 2 else t for i, t in enumerate(re.split(r"([0-9]+)", name))]


def _show(names: Iterable[Any]) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:_SHOW])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOW else "") if names else "(none)"


def _brief(value: Any) -> str:
    """``repr(value)`` cut short: user values in messages may be huge or deeply nested."""
    return _repr.repr(value)


# -- checks ---------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating))


def _check_nodes(n: int, where: str) -> None:
    if n > limits.MAX_NODES:
        raise ValueError(f"{where}: {n} nodes, more than MAX_NODES = {limits.MAX_NODES} per graph")


def _check_float32(arr: np.ndarray, where: str, say) -> None:
    """A ValueError, ``say(index, value)`` naming the first value of ``arr`` that is NaN, infinite
    or beyond float32 (where it would become infinite)."""
    bad = ~(np.abs(arr) <= _FLOAT32_MAX)  # NaN compares False
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: {say(at, float(arr[at]))}; must be finite, within float32 range (|v| <= 3.4e38)")


# -- text and JSON --------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raw = path.read_bytes()
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None


class _RepeatedKey(ValueError):
    pass


def _object(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set = set()
        raise _RepeatedKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> Optional[str]:
    """The first string (key or value) in parsed JSON that is not text (holds a lone UTF-16
    surrogate such as ``"\\ud800"``, which no UTF-8 file or terminal can hold), or None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return v
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _load_json(text: str, where: str, *, one_line: bool = False) -> Any:
    """Parsed JSON; every failure a ValueError at ``where`` (``where:col`` of one line, else
    ``where:line:col``)."""
    try:
        value = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as e:
        at = f"{e.colno}" if one_line else f"{e.lineno}:{e.colno}"
        raise ValueError(f"{where}:{at}: malformed JSON: {e.msg}") from None
    except _RepeatedKey as e:
        raise ValueError(f"{where}: an object has the key {_brief(e.args[0])} twice") from None
    except RecursionError:
        raise ValueError(
            f"{where}: JSON nested too deeply (Python's parser stops at about {sys.getrecursionlimit()} levels)"
        ) from None
    except ValueError as e:  # an integer of more than 4300 digits
        what = "an integer with too many digits (at most 4300)" if "digits" in str(e) else str(e)
        raise ValueError(f"{where}: cannot read JSON: {what}") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then walk the parsed value
        bad = _lone_surrogate(value)
        if bad is not None:
            raise ValueError(
                f"{where}: the string {_brief(bad)} holds a lone UTF-16 surrogate (a \\ud800-"
                f"\\udfff escape without its pair), which is not text"
            )
    return value


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(type(value), "?")


def _json_key(value: Any, where: str = "") -> str:
    """A hashable stand-in for any JSON value (equal values, equal keys)."""
    try:
        return json.dumps(value, sort_keys=True)
    except RecursionError:
        raise ValueError(f"{where}: the id {_brief(value)} is nested too deeply") from None


def _check_name(name: Any) -> None:
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise ValueError(f"name must be a non-empty string (the dataset's name) or None, got {_brief(name)}")
