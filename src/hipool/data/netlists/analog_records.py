"""The analog representation's vocabulary and records: device kinds, pin roles, the naming
rules of grounds and supplies, and the dataclasses a reader fills and flattening produces.

:mod:`hipool.data.netlists.analog` specifies the representation (its module docstring is the
reference for every rule here: which kind a device is, the roles of its pins, which nets are
grounds and supplies) and re-exports everything public from this module.  A reader builds a
:class:`Design` of :class:`Element` and :class:`Subckt` records;
:func:`~hipool.data.netlists.analog.flatten` resolves it into an :class:`AnalogNetlist` of
:class:`Device` records.  Nothing here evaluates values or builds graphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Set, Tuple

#: Device kinds, in the order of their one-hot columns (after ``NET``).
DEVICE_KINDS: Tuple[str, ...] = (
    "R",
    "C",
    "L",
    "K",
    "D",
    "NPN",
    "PNP",
    "BJT",
    "NMOS",
    "PMOS",
    "MOS",
    "NJF",
    "PJF",
    "JFET",
    "MESFET",
    "SWITCH",
    "LINE",
    "V",
    "I",
    "E",
    "F",
    "G",
    "H",
    "B",
)
#: Node kinds: nets, then devices.
ANALOG_KINDS: Tuple[str, ...] = ("NET",) + DEVICE_KINDS
#: Pin roles, in the order of the ``edge_attr`` columns (and of the per-net counts in ``x``).
ANALOG_ROLES: Tuple[str, ...] = (
    "passive",
    "pos",
    "neg",
    "collector",
    "base",
    "emitter",
    "substrate",
    "drain",
    "gate",
    "source",
    "bulk",
    "out_pos",
    "out_neg",
    "ctrl_pos",
    "ctrl_neg",
    "coupling",
)
_BJT = ("collector", "base", "emitter", "substrate")
_MOS = ("drain", "gate", "source", "bulk")
_FET = ("drain", "gate", "source")
_CTRL = ("out_pos", "out_neg", "ctrl_pos", "ctrl_neg")
#: The roles of a kind's pins in pin order, and how many pins it takes (at least, at most).
PINS: Dict[str, Tuple[Tuple[str, ...], int, int]] = {
    "R": (("passive", "passive"), 2, 3),
    "C": (("passive", "passive"), 2, 3),
    "L": (("passive", "passive"), 2, 2),
    "K": ((), 0, 0),
    "D": (("pos", "neg"), 2, 3),
    **{k: (_BJT, 3, 5) for k in ("NPN", "PNP", "BJT")},
    **{k: (_MOS, 3, 7) for k in ("NMOS", "PMOS", "MOS")},
    **{k: (_FET, 3, 3) for k in ("NJF", "PJF", "JFET", "MESFET")},
    "SWITCH": (_CTRL, 2, 4),
    "LINE": ((), 3, 4),
    "V": (("pos", "neg"), 2, 2),
    "I": (("pos", "neg"), 2, 2),
    "E": (_CTRL, 2, 42),  # poly(n): n controlling pairs, up to 20
    "G": (_CTRL, 2, 42),
    "F": (("out_pos", "out_neg"), 2, 2),
    "H": (("out_pos", "out_neg"), 2, 2),
    "B": (("pos", "neg"), 2, 2),
}
#: Kinds whose device refers to others by name (``K`` its inductors; ``F H`` and a ``W``
#: switch the voltage source sensing their current): how many, at least.
LINKS: Dict[str, int] = {"K": 2, "F": 1, "H": 1, "SWITCH": 0}
#: The parameters that hold a kind's main value when no positional value is written, in order
#: (a MOS transistor's is ``w/l``, from ``w`` and ``l``).
VALUE_KEYS: Dict[str, Tuple[str, ...]] = {
    "R": ("r", "res", "resistance", "value"),
    "C": ("c", "cap", "capacitance", "value"),
    "L": ("l", "ind", "inductance", "value"),
    "K": ("k", "coupling"),
    **{k: ("area",) for k in ("D", "NPN", "PNP", "BJT", "NJF", "PJF", "JFET", "MESFET")},
    "V": ("dc", "value"),
    "I": ("dc", "value"),
    "E": ("gain", "value"),
    "G": ("gain", "gm", "value"),
    "F": ("gain", "value"),
    "H": ("gain", "rm", "value"),
}
_GROUND = {"0", "gnd", "gnd!", "vss", "vss!", "agnd", "dgnd", "avss", "dvss", "ground", "vee", "vee!", "gnd_"}
_POWER = re.compile(r"^[ad]?v(dd|cc|pp)", re.IGNORECASE)


def is_ground(net: str) -> bool:
    """Whether a (flat or global) net name is a ground by the naming rule of :mod:`~hipool.data.netlists.analog`."""
    return net.rsplit("/", 1)[-1].lower() in _GROUND


def is_power(net: str) -> bool:
    """Whether a net name is a supply by the naming rule of :mod:`~hipool.data.netlists.analog`."""
    return bool(_POWER.match(net.rsplit("/", 1)[-1]))


@dataclass
class Element:
    """One element line of a netlist, as written (nothing resolved yet).

    Attributes:
        name: the instance name (``R1``, ``MM3``, ``xota``).
        letter: its family, as SPICE's first letter: ``R C L K D Q M J Z S W T O U V I E F
            G H B`` for a device, ``X`` for a subcircuit instance (the Spectre reader maps
            its masters to these letters).
        nets: its nets in pin order.
        model: the ``.model`` or subcircuit it names (``None`` for none).
        value: the main value's text (a number or an expression), if written.
        params: its ``name=value`` parameters (names lower case for SPICE), texts unevaluated.
        links: devices it refers to by name (``K``'s inductors; ``F``/``H``/``W``'s sensing source).
        where: ``file:line`` of its line (for messages).
    """

    name: str
    letter: str
    nets: List[str]
    model: Optional[str] = None
    value: Optional[str] = None
    params: Dict[str, str] = field(default_factory=dict)
    links: List[str] = field(default_factory=list)
    where: str = ""


@dataclass
class Subckt:
    """A subcircuit definition: its ports, its parameters' defaults (texts), its local
    ``.param`` lines (in order) and its elements.  ``inline`` (Spectre's ``inline subckt``):
    an instance adds no level of hierarchy, and the element named like the subcircuit takes
    the instance's name (the wrapped device *is* the instance); its other elements are named
    ``<instance>/<name>`` but stay at the caller's level."""

    name: str
    ports: List[str]
    params: Dict[str, str] = field(default_factory=dict)
    local_params: List[Tuple[str, str]] = field(default_factory=list)
    elements: List[Element] = field(default_factory=list)
    where: str = ""
    inline: bool = False


@dataclass
class Design:
    """A parsed netlist file (see :mod:`~hipool.data.netlists.analog`).

    Attributes:
        name: the design's name (the file's stem, or its top subcircuit's).
        source: the file it came from (for messages).
        dialect: ``"spice"`` (names case-insensitive, folded to lower case by the reader)
            or ``"spectre"`` (case-sensitive); how values are read.
        elements: the top level's elements.
        subckts: the subcircuit definitions by name.
        models: model name → device type as the card writes it (``nmos``, ``pnp``, ``d``, ``r``, …).
        params: the top level's parameters in order (``name``, expression text).
        globals: the global nets (besides ``0``).
        ports: the design's pins, when the reader knows them.
    """

    name: str
    source: str
    dialect: str = "spice"
    elements: List[Element] = field(default_factory=list)
    subckts: Dict[str, Subckt] = field(default_factory=dict)
    models: Dict[str, str] = field(default_factory=dict)
    params: List[Tuple[str, str]] = field(default_factory=list)
    globals: Set[str] = field(default_factory=set)
    ports: List[str] = field(default_factory=list)


@dataclass
class Device:
    """A device of a flattened netlist: its kind
    (:data:`~hipool.data.netlists.analog_records.DEVICE_KINDS`), nets, pin roles, main value
    (``None``: none written, or ``unknown``), the instance path it came from and the devices
    it refers to (flat names)."""

    name: str
    kind: str
    nets: List[str]
    roles: Tuple[str, ...]
    value: Optional[float]
    unknown: bool
    instance: Tuple[str, ...]
    links: List[str]
    where: str


@dataclass
class AnalogNetlist:
    """A flattened analog design: devices in the file's order, each net's instance path, and the design's ports."""

    name: str
    source: str
    devices: List[Device]
    nets: Dict[str, Tuple[str, ...]]
    ports: Set[str]


# -- kinds ------------------------------------------------------------------------------------
_MODEL_TYPES: Dict[str, str] = {
    "nmos": "NMOS",
    "pmos": "PMOS",
    "npn": "NPN",
    "pnp": "PNP",
    "njf": "NJF",
    "pjf": "PJF",
    "nmf": "MESFET",
    "pmf": "MESFET",
    "d": "D",
    "r": "R",
    "res": "R",
    "c": "C",
    "l": "L",
    "sw": "SWITCH",
    "csw": "SWITCH",
}
_LETTER_KIND: Dict[str, str] = {
    "R": "R",
    "C": "C",
    "L": "L",
    "K": "K",
    "D": "D",
    "Z": "MESFET",
    "S": "SWITCH",
    "W": "SWITCH",
    "T": "LINE",
    "O": "LINE",
    "U": "LINE",
    "V": "V",
    "I": "I",
    "E": "E",
    "F": "F",
    "G": "G",
    "H": "H",
    "B": "B",
}


def _polarity(model: str, n: str, p: str) -> Optional[str]:
    m = model.lower()
    for key, kind in (
        ("pmos", p),
        ("nmos", n),
        ("pch", p),
        ("nch", n),
        ("pfet", p),
        ("nfet", n),
        ("pnp", p),
        ("npn", n),
    ):
        if key in m:
            return kind
    if m.startswith("p"):
        return p
    if m.startswith("n"):
        return n
    return None


def device_kind(letter: str, model: Optional[str], models: Mapping[str, str]) -> str:
    """The :data:`~hipool.data.netlists.analog_records.DEVICE_KINDS` entry of an element of
    family ``letter`` naming ``model`` (see :mod:`~hipool.data.netlists.analog` for the rule)."""
    if letter in _LETTER_KIND:
        return _LETTER_KIND[letter]
    declared = _MODEL_TYPES.get(models.get(model, "").lower()) if model else None
    if letter == "M":
        if declared in ("NMOS", "PMOS"):
            return declared
        return (_polarity(model, "NMOS", "PMOS") if model else None) or "MOS"
    if letter == "Q":
        if declared in ("NPN", "PNP"):
            return declared
        m = (model or "").lower()
        return "PNP" if "pnp" in m else "NPN" if "npn" in m else "BJT"
    if letter == "J":
        if declared in ("NJF", "PJF"):
            return declared
        return (_polarity(model, "NJF", "PJF") if model else None) or "JFET"
    raise ValueError(f"device_kind: no device family {letter!r}")


__all__ = [
    "ANALOG_KINDS",
    "ANALOG_ROLES",
    "DEVICE_KINDS",
    "LINKS",
    "PINS",
    "VALUE_KEYS",
    "AnalogNetlist",
    "Design",
    "Device",
    "Element",
    "Subckt",
    "device_kind",
    "is_ground",
    "is_power",
]
