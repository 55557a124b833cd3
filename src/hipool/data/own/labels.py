"""Graph labels of :mod:`hipool.data.own`: a labels CSV field or a JSONL ``"label"`` read as a
class number or a class name, and all of a dataset's labels turned into classes."""

from __future__ import annotations

import math
import re
from typing import Any, List, Optional, Sequence, Tuple, Union

from . import limits  # the constants (limits.MAX_CLASSES, ...), read at call time
from .common import _NUMBER, _brief, _show

_NOT_A_NUMBER = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _csv_label(text: str, where: str) -> Union[int, str]:
    text = text.strip()
    if not text:
        raise ValueError(f"{where}: empty label")
    if _NOT_A_NUMBER.fullmatch(text):
        raise ValueError(
            f"{where}: label {text!r} is not a class number nor a usable class name "
            f"(a missing value?); every graph needs a class"
        )
    if _CONTROL.search(text):
        raise ValueError(f"{where}: label {_brief(text)} holds a control character")
    if _NUMBER.fullmatch(text):
        value = float(text)
        if re.fullmatch(r"[+-]?\d+", text) and len(text.lstrip("+-0")) <= 18:
            return int(text)
        if not value.is_integer():
            what = "too large" if math.isinf(value) else "not a whole number"
            raise ValueError(
                f"{where}: label {_brief(text)} is {what}; labels are class numbers "
                f"0 .. {limits.MAX_CLASSES - 1} or class names"
            )
        return int(value)  # checked against MAX_CLASSES with the others
    return text


def _json_label(value: Any, where: str) -> Union[int, str]:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{where}: label {_brief(value)} is neither a class number (0, 1, ...) nor a class name")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{where}: empty label")
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError(f"{where}: label {_brief(value)} holds a control character")
    return value


def classes(labels: Sequence[Tuple[Union[int, str], str]]) -> Tuple[List[int], int, Optional[List[str]], List[str]]:
    """Class indices, number of classes, class names and notes from ``(label, where)`` pairs."""
    numbers = [(v, w) for v, w in labels if isinstance(v, int)]
    names = [(v, w) for v, w in labels if isinstance(v, str)]
    if numbers and names:
        (n, nw), (s, sw) = numbers[0], names[0]
        raise ValueError(
            f"labels mix class numbers and class names ({nw}: {n!r}; {sw}: {_brief(s)}); use one kind for every graph"
        )
    if names:
        class_names = sorted({v for v, _ in names})
        index = {c: i for i, c in enumerate(class_names)}
        notes = [f"a single class ({_brief(class_names[0])}): nothing to tell apart"] if len(class_names) == 1 else []
        return [index[v] for v, _ in names], len(class_names), class_names, notes
    for v, w in numbers:
        if v < 0:
            raise ValueError(f"{w}: label {v} is negative; class numbers are 0, 1, ...")
        if v >= limits.MAX_CLASSES:
            raise ValueError(
                f"{w}: label {_brief(v)} is too large; class numbers are 0 .. {limits.MAX_CLASSES - 1} "
                f"(MAX_CLASSES); give class names instead"
            )
    num_classes = max(v for v, _ in numbers) + 1
    present = {v for v, _ in numbers}
    missing = sorted(set(range(num_classes)) - present)
    notes = [f"classes {_show(missing)} have no graph"] if missing else []
    if len(present) == 1:
        notes.append(f"a single class ({numbers[0][0]}): nothing to tell apart")
    return [v for v, _ in numbers], num_classes, None, notes
