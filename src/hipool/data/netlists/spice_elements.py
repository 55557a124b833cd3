"""The element builders of the SPICE reader (:mod:`hipool.data.netlists.spice`): one per
first letter (``R C L``, ``D Q M J Z``, ``S W``, ``T O U``, ``V I``, ``E G F H``, ``K``, ``B``,
``X``), each filling an :class:`~hipool.data.netlists.analog.Element`'s nets, links, model and
value from the statement's items, and the table :data:`_BUILDERS` that picks them.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Protocol, Tuple

from .analog import Element
from .gates import NetlistError
from .spice_syntax import _CALLS, _Call, _is_value, _Items, _show, _words

_LETTERS = frozenset("RCLKDQMJZSWTOUVIEFGHBX")
_UNSUPPORTED = {
    "A": "an XSPICE code model",
    "N": "an OSDI/Verilog-A device",
    "P": "a coupled multiconductor line",
    "Y": "a lossy transmission line",
}
#: Words of an independent source that are not its value.
_SOURCE_WORDS = _CALLS | {"dc", "ac", "portnum", "z0", "external"}
_FLAGS = frozenset(("off", "on"))
#: Words after a controlled source's output nodes that start an expression form.
_BEHAVIOURAL = _CALLS | {"value", "vol", "cur"}
_MAIN_PARAM = {"R": ("r", "res", "resistance"), "C": ("c", "cap", "capacitance"), "L": ("l", "ind", "inductance")}


class _Pending(Protocol):
    """What a builder leaves for the reader to settle once the whole text is read."""

    #: ``(element, name)``: a lone name in an ``R``/``C``/``L`` value's place (a model or a value).
    ambiguous: List[Tuple[Element, str]]
    #: ``(instance, port -> net)``: CDL's ``$PINS`` maps.
    pinmaps: List[Tuple[Element, Dict[str, str]]]


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


def _too_few(el: Element, s: str, what: str) -> NetlistError:
    return NetlistError(f"{el.where}: element {el.name!r} ({el.letter}) needs {what}: got {_show(s)}")


def _build_passive(reader: _Pending, el: Element, items: _Items, s: str) -> None:
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


def _build_semiconductor(reader: _Pending, el: Element, items: _Items, s: str) -> None:
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


def _build_switch(reader: _Pending, el: Element, items: _Items, s: str) -> None:
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


def _build_line(reader: _Pending, el: Element, items: _Items, s: str) -> None:
    words, model = _split_model(items)
    n = 3 if el.letter == "U" else 4
    if len(words) < n:
        raise _too_few(el, s, f"{n} nodes")
    el.nets = words[:n]
    el.model = model or (words[n] if len(words) > n and not _is_value(words[n]) else None)


def _build_source(reader: _Pending, el: Element, items: _Items, s: str) -> None:
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


def _build_controlled(reader: _Pending, el: Element, items: _Items, s: str) -> None:
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


def _build_coupling(reader: _Pending, el: Element, items: _Items, s: str) -> None:
    words = _words(items.positional)
    given = "coupling" in items.params or "k" in items.params
    links = words if given else words[:-1]  # the coupling is the last word
    if len(links) < 2 or any(w[:1].lower() != "l" for w in links):
        raise _too_few(el, s, "two inductors (L...) and a coupling")
    el.links = links
    el.value = items.params.get("coupling") if given else words[-1]


def _build_behavioural(reader: _Pending, el: Element, items: _Items, s: str) -> None:
    rest = s.split(None, 1)[1] if len(s.split(None, 1)) > 1 else ""
    before, eq, expr = rest.partition("=")
    words = before.replace("(", " ").replace(")", " ").replace(",", " ").split()
    if not eq or len(words) < 3 or words[-1].lower() not in ("v", "i") or not expr.strip():
        raise _too_few(el, s, "two nodes and v=expression or i=expression")
    el.nets, el.value, el.params = words[:2], expr.strip(), {}


def _build_instance(reader: _Pending, el: Element, items: _Items, s: str) -> None:
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


_Builder = Callable[[_Pending, Element, _Items, str], None]
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
