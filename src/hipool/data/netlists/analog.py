r"""The analog representation: what the SPICE/CDL and Spectre readers build, flattened, and the
PyG graph made from it.

A reader parses a file into a :class:`Design`: the top level's element lines
(:class:`Element`), its subcircuit definitions (:class:`Subckt`), its ``.model`` cards
(model name → device type), its parameters and global nets.  :func:`flatten` resolves it
into an :class:`AnalogNetlist` of devices on named nets, every subcircuit instance
expanded, every value evaluated (:mod:`hipool.data.netlists.values`), and
:func:`to_data` turns that into one graph.  Reading never runs anything from the file.

The graph: the synthetic circuits' representation, for SPICE's devices
------------------------------------------------------------------------
As for the synthetic circuits (:mod:`hipool.data.circuits`): **every device and every net
is a node, and every pin is an edge between its device and its net** (both directions
stored), its *pin role* one-hot in ``edge_attr`` (:data:`ANALOG_ROLES`).  Nets are nodes
because a net is a hyperedge (a supply rail touches hundreds of pins): joining the devices
on a net pairwise would make every rail a clique.  Devices that refer to other devices
rather than nets get an edge of role ``coupling`` to them: a mutual inductance ``K`` to its
inductors, a current-controlled source ``F``/``H`` and a current-controlled switch ``W`` to
the voltage source that senses their current.

The vocabulary is SPICE's, not the synthetic generator's (whose parts are board-level:
op-amps, regulators, a connector): :data:`ANALOG_KINDS` is ``NET`` then the device kinds,
a transistor split by polarity where the netlist says it (the ``.model`` card's type, else
the model's name: ``nmos``/``nch``/``nfet``/``n…`` is N, ``pmos``/``pch``/``pfet``/``p…`` P,
``npn``/``pnp``; ``MOS``/``BJT``/``JFET`` where neither tells).  Pins and their roles
(:data:`PINS`): ``R C L`` passive; ``D`` pos (anode), neg (cathode); bipolar collector,
base, emitter, substrate; MOS drain, gate, source, bulk; JFET and MESFET drain, gate,
source; ``V I B`` pos, neg; ``E G`` out_pos, out_neg, ctrl_pos, ctrl_neg; ``F H`` out_pos,
out_neg; switches ``S`` out_pos, out_neg, ctrl_pos, ctrl_neg and ``W`` out_pos, out_neg;
transmission lines (``T O U``) passive.  Pins beyond those are ``passive`` (a MOS model's
extra body or thermal nodes), for ``E``/``G`` alternately ``ctrl_pos``/``ctrl_neg`` (the
controlling pairs of ``poly(n)``, at most 20).

``x`` (float32 ``[N, NUM_ANALOG_FEATURES]``, :data:`ANALOG_FEATURE_NAMES`): the kind one-hot;
``has_value``; ``value``: ``log10 |v| / 10`` of the device's main value (clipped to
``[-3, 3]``), for ``R`` its resistance, ``C``/``L`` their capacitance/inductance, ``K`` the
coupling, ``V``/``I`` the DC value, ``E F G H`` the gain, a MOS transistor ``W/L``,
``D``/``Q``/``J`` the area where given; ``value_unknown``: a value was written but could not
be evaluated (a parameter no scope defines, an expression this reader does not evaluate: see
:mod:`~hipool.data.netlists.values`); for nets ``is_ground`` (``0``, ``gnd``, ``gnd!``,
``vss``, ``agnd``, ``dgnd``, ``avss``, ``dvss``, ``ground``, ``vee``: the names designers
use), ``is_power`` (``vdd``, ``vcc``, ``avdd``, ``dvdd``, ``vpp``, ``vdda``, ... : a name
starting with an optional ``a``/``d`` then ``vdd``/``vcc``/``vpp``), ``is_port`` (a pin of
the design: the ports of the top subcircuit when the design is one) and ``log(1 + count)``
of the pins of each role on the net.

**Parameters.**  Values are evaluated where the device sits: the top level's parameters,
then for each instance on the way down the caller's scope (inherited, as HSPICE does), its
subcircuit's defaults (evaluated in order, each seeing the ones before) overridden by the
values the instance gives (evaluated in the caller's scope), then the subcircuit's local
``.param`` lines.

**The designer's hierarchy.**  Every device and every net inside a subcircuit instance
records the path of instances it was flattened from; ``level_labels`` and
``instance_paths`` follow the gate-level convention (:func:`hipool.data.netlists.gates.level_labels`:
finest level first, the last column the top's instances).  A net that is a port of an
instance belongs to the instance above (it is the parent's net); a global net (``.global``,
SPICE's ``0``, a CDL name ending in ``!``) to none.  Names inside an instance are
``<path>/<name>`` (``xota/mm3``, ``xota/net16``).

**The design of a file.**  The top level's elements when there are any; otherwise the one
subcircuit that no other instantiates (a CDL file's top cell), with its ports marked
``is_port``.  Several such subcircuits and no top-level element is an error naming them
(a cell library is not a design).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

import torch
from torch_geometric.data import Data

from .gates import NetlistError, level_labels
from .values import evaluate

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
#: Width of ``x``.
NUM_ANALOG_FEATURES: int = len(ANALOG_KINDS) + 6 + len(ANALOG_ROLES)
#: Names of the ``x`` columns.
ANALOG_FEATURE_NAMES: Tuple[str, ...] = (
    tuple(f"is_{k}" for k in ANALOG_KINDS)
    + ("has_value", "value", "value_unknown", "is_ground", "is_power", "is_port")
    + tuple(f"pins_{r}" for r in ANALOG_ROLES)
)
#: Most devices a design may flatten to (checked before anything is built).
MAX_DEVICES = 10_000_000
#: Deepest nesting of subcircuit instances.
MAX_DEPTH = 200

_GROUND = {"0", "gnd", "gnd!", "vss", "vss!", "agnd", "dgnd", "avss", "dvss", "ground", "vee", "vee!", "gnd_"}
_POWER = re.compile(r"^[ad]?v(dd|cc|pp)", re.IGNORECASE)


def is_ground(net: str) -> bool:
    """Whether a (flat or global) net name is a ground by the naming rule of the module docstring."""
    return net.rsplit("/", 1)[-1].lower() in _GROUND


def is_power(net: str) -> bool:
    """Whether a net name is a supply by the naming rule of the module docstring."""
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
    """A parsed netlist file (see the module docstring).

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
    """A device of a flattened netlist: its kind (:data:`DEVICE_KINDS`), nets, pin roles,
    main value (``None``: none written, or ``unknown``), the instance path it came from and
    the devices it refers to (flat names)."""

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
    """The :data:`DEVICE_KINDS` entry of an element of family ``letter`` naming ``model``
    (see the module docstring for the rule)."""
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


# -- flattening -------------------------------------------------------------------------------
def _key(name: str, design: Design) -> str:
    return name if design.dialect == "spectre" else name.lower()


def _scope(
    base: Mapping[str, Optional[float]], assignments: Sequence[Tuple[str, str]], design: Design
) -> Dict[str, Optional[float]]:
    scope = dict(base)
    for name, text in assignments:
        scope[_key(name, design)] = evaluate(text, scope, design.dialect)
    return scope


def _main_value(
    kind: str, el: Element, scope: Mapping[str, Optional[float]], design: Design
) -> Tuple[Optional[float], bool]:
    """``(value, unknown)`` of a device's main value (see the module docstring)."""

    def ev(text: Optional[str]) -> Tuple[Optional[float], bool]:
        if text is None:
            return None, False
        v = evaluate(text, scope, design.dialect)
        return v, v is None

    if kind in ("NMOS", "PMOS", "MOS"):
        w, l_ = el.params.get("w"), el.params.get("l")
        if w is None and l_ is None:
            return None, False
        wv, wu = ev(w)
        lv, lu = ev(l_)
        if wu or lu or wv is None or lv is None or lv == 0:
            return None, bool(wu or lu)
        return wv / lv, False
    text = el.value
    if text is None:
        for key in VALUE_KEYS.get(kind, ()):
            if key in el.params:
                text = el.params[key]
                break
    return ev(text)


def _roots(design: Design) -> List[str]:
    used = {
        _key(el.model, design)
        for sub in design.subckts.values()
        for el in sub.elements
        if el.letter == "X" and el.model
    }
    return [name for name in design.subckts if name not in used]


def _sizes(design: Design) -> Dict[str, int]:
    """Flattened size (devices plus instances) of every subcircuit (recursion, nesting deeper
    than MAX_DEPTH and undefined subcircuits are errors)."""
    sizes: Dict[str, int] = {}
    depths: Dict[str, int] = {}
    instances: Dict[str, int] = {}
    state: Dict[str, int] = {}

    def too_deep(chain: List[str]) -> NetlistError:
        return NetlistError(f"{design.source}: subcircuits nest deeper than {MAX_DEPTH}: {' -> '.join(chain[:5])} ...")

    def visit(name: str, chain: List[str]) -> int:
        if state.get(name) == 2:
            if len(chain) + depths[name] > MAX_DEPTH:
                raise too_deep(chain + [name])
            return sizes[name]
        if state.get(name) == 1:
            loop = chain[chain.index(name) :] + [name]
            sub = design.subckts[name]
            raise NetlistError(f"{sub.where}: subcircuit {name!r} instantiates itself: {' -> '.join(loop)}")
        if len(chain) > MAX_DEPTH:
            raise too_deep(chain)
        state[name] = 1
        total = deepest = count = 0
        for el in design.subckts[name].elements:
            total += _element_size(el, chain + [name], visit)
            if el.letter == "X":
                key = _key(el.model or "", design)
                deepest, count = max(deepest, depths[key]), count + 1 + instances[key]
        state[name] = 2
        sizes[name], depths[name], instances[name] = total, deepest + 1, count
        return total

    def _element_size(el: Element, chain: List[str], visit_fn) -> int:  # noqa: ANN001
        if el.letter != "X":
            return 1
        key = _key(el.model or "", design)
        if key not in design.subckts:
            raise NetlistError(f"{el.where}: instance {el.name!r} of subcircuit {el.model!r}, which is not defined")
        return visit_fn(key, chain)

    for name in design.subckts:
        visit(name, [])
    top = 0
    for el in design.elements:
        top += _element_size(el, [], visit)
    sizes[""] = top
    # instances flatten expands (an empty subcircuit's too: they cost time though they add no device)
    sizes["#instances"] = sum(1 + instances[_key(el.model or "", design)] for el in design.elements if el.letter == "X")
    for name in design.subckts:
        sizes["#instances " + name] = instances[name]
    return sizes


def flatten(design: Design) -> AnalogNetlist:
    """The devices of ``design`` with every subcircuit instance expanded (see the module
    docstring); a :class:`~hipool.data.netlists.gates.NetlistError` naming the file and line
    for an undefined subcircuit, a recursive instantiation (the chain), a pin count that does
    not match the subcircuit's ports or the device's kind, a reference to a device that is
    not defined, or a design of more than :data:`MAX_DEVICES` devices."""
    sizes = _sizes(design)
    elements, ports_of_top = design.elements, []
    top_params: List[Tuple[str, str]] = list(design.params)
    if not elements:
        roots = _roots(design)
        if not roots:
            raise NetlistError(f"{design.source}: no devices and no subcircuits: nothing to read")
        if len(roots) > 1:
            raise NetlistError(
                f"{design.source}: no top-level devices and {len(roots)} subcircuits that nothing instantiates "
                f"({', '.join(roots[:6])}{', ...' if len(roots) > 6 else ''}): a library of cells, not one design"
            )
        root = design.subckts[roots[0]]
        elements, ports_of_top = root.elements, list(root.ports)
        top_params += list(root.params.items()) + list(root.local_params)
        total, count = sizes[roots[0]], sizes["#instances " + roots[0]]
    else:
        total, count = sizes[""], sizes["#instances"]
    if total > MAX_DEVICES:
        raise NetlistError(f"{design.source}: the design flattens to {total:,} devices, more than {MAX_DEVICES:,}")
    if count > MAX_DEVICES:
        raise NetlistError(
            f"{design.source}: the design expands {count:,} subcircuit instances, more than {MAX_DEVICES:,}"
        )
    global_nets = {_key(g, design) for g in design.globals} | {"0"}
    devices: List[Device] = []
    nets: Dict[str, Tuple[str, ...]] = {}

    def net_of(name: str, binding: Mapping[str, str], path: Tuple[str, ...], level: Tuple[str, ...]) -> str:
        key = _key(name, design)
        if key in binding:
            return binding[key]
        if key in global_nets or (design.dialect != "spectre" and key.endswith("!")) or key == "0":
            nets.setdefault(key, ())
            return key
        flat = "/".join(path + (key,))
        nets.setdefault(flat, level)
        return flat

    def expand(
        body: Sequence[Element],
        binding: Mapping[str, str],
        scope: Mapping[str, Optional[float]],
        path: Tuple[str, ...],
        inline: Optional[Subckt] = None,
        level: Tuple[str, ...] = (),
    ) -> None:
        # an inline subcircuit's devices stay at the caller's level; its namesake takes the instance's name
        namesake = _key(inline.name, design) if inline is not None and inline.inline else None

        def flat(name: str) -> str:
            key = _key(name, design)
            return "/".join(path if key == namesake else path + (key,))

        for el in body:
            flat_nets = [net_of(n, binding, path, level) for n in el.nets]
            if el.letter == "X":
                sub = design.subckts[_key(el.model or "", design)]
                if len(el.nets) != len(sub.ports):
                    shown_ports = " ".join(sub.ports[:8]) + (" ..." if len(sub.ports) > 8 else "")
                    raise NetlistError(
                        f"{el.where}: instance {el.name!r} connects {len(el.nets)} nets, but subcircuit "
                        f"{sub.name!r} has {len(sub.ports)} ports ({shown_ports})"
                    )
                inner_binding = {_key(p, design): n for p, n in zip(sub.ports, flat_nets)}
                # defaults in the subcircuit's scope, the instance's values in the caller's
                inner = dict(scope)
                given = {_key(k, design): evaluate(v, scope, design.dialect) for k, v in el.params.items()}
                for k, v in sub.params.items():
                    kk = _key(k, design)
                    inner[kk] = given[kk] if kk in given else evaluate(v, inner, design.dialect)
                for kk, v in given.items():
                    inner[kk] = v  # the instance's value wins over the caller's
                inner = _scope(inner, sub.local_params, design)
                key = _key(el.name, design)
                child = path if key == namesake else path + (key,)
                expand(sub.elements, inner_binding, inner, child, inline=sub, level=level if sub.inline else child)
                continue
            try:
                kind = device_kind(el.letter, _key(el.model, design) if el.model else None, design.models)
            except ValueError:
                raise NetlistError(
                    f"{el.where}: element {el.name!r}: hipool does not read devices of kind {el.letter!r}"
                ) from None
            roles, lo, hi = PINS[kind]
            if not lo <= len(el.nets) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise NetlistError(f"{el.where}: element {el.name!r} ({kind}) has {len(el.nets)} nets; it takes {want}")
            if kind in LINKS and len(el.links) < LINKS[kind]:
                raise NetlistError(
                    f"{el.where}: element {el.name!r} ({kind}) names {len(el.links)} devices; it needs {LINKS[kind]}"
                )
            value, unknown = _main_value(kind, el, scope, design)
            extra = ("ctrl_pos", "ctrl_neg") if kind in ("E", "G") else ("passive", "passive")
            full_roles = tuple(roles[k] if k < len(roles) else extra[k % 2] for k in range(len(el.nets)))
            name = flat(el.name)
            devices.append(
                Device(
                    name=name,
                    kind=kind,
                    nets=flat_nets,
                    roles=full_roles,
                    value=value,
                    unknown=unknown,
                    instance=level,
                    links=[flat(t) for t in el.links],
                    where=el.where,
                )
            )

    expand(elements, {}, _scope({}, top_params, design), ())
    ports = {_key(p, design) for p in list(ports_of_top) + list(design.ports)}
    return AnalogNetlist(name=design.name, source=design.source, devices=devices, nets=nets, ports=ports)


def analog_depth(netlist: AnalogNetlist) -> int:
    """The deepest nesting of subcircuit instances in ``netlist`` (0: flat)."""
    return max((len(d.instance) for d in netlist.devices), default=0)


def _value_feature(v: float) -> float:
    return max(-3.0, min(3.0, math.log10(abs(v)) / 10.0)) if v != 0 else -3.0


def to_data(netlist: AnalogNetlist, depth: Optional[int] = None) -> Data:
    """The device-net graph of ``netlist`` (see the module docstring); nodes are the devices in
    the file's order, then the nets in order of first use.  ``depth``: the width of
    ``level_labels`` (a dataset's deepest nesting), default the design's own.  A device that
    refers to a device not in the design is a :class:`~hipool.data.netlists.gates.NetlistError`."""
    devices = netlist.devices
    if not devices:
        raise NetlistError(f"{netlist.source}: the design has no devices")
    dev_index = {d.name: i for i, d in enumerate(devices)}
    net_index: Dict[str, int] = {}
    n_dev = len(devices)
    src: List[int] = []
    dst: List[int] = []
    roles: List[int] = []
    role_id = {r: i for i, r in enumerate(ANALOG_ROLES)}
    for i, d in enumerate(devices):
        for net, role in zip(d.nets, d.roles):
            j = net_index.setdefault(net, n_dev + len(net_index))
            src.append(i)
            dst.append(j)
            roles.append(role_id[role])
        for target in d.links:
            j = dev_index.get(target)
            if j is None or j == i:
                raise NetlistError(
                    f"{d.where}: {d.name!r} ({d.kind}) refers to device {target!r}, which is not defined"
                )
            src.append(i)
            dst.append(j)
            roles.append(role_id["coupling"])
    n = n_dev + len(net_index)
    k = len(ANALOG_KINDS)
    x = torch.zeros(n, NUM_ANALOG_FEATURES)
    kind_ids = [ANALOG_KINDS.index(d.kind) for d in devices] + [0] * len(net_index)
    x[torch.arange(n), torch.tensor(kind_ids, dtype=torch.long)] = 1.0
    for i, d in enumerate(devices):
        if d.value is not None or d.unknown:
            x[i, k] = 1.0
        if d.value is not None:
            x[i, k + 1] = _value_feature(d.value)
        x[i, k + 2] = float(d.unknown)
    net_names = list(net_index)
    for name, j in net_index.items():
        x[j, k + 3] = float(is_ground(name))
        x[j, k + 4] = float(is_power(name))
        x[j, k + 5] = float(name in netlist.ports)
    s = torch.tensor(src, dtype=torch.long)
    t = torch.tensor(dst, dtype=torch.long)
    r = torch.tensor(roles, dtype=torch.long)
    pin = r != role_id["coupling"]
    counts = torch.zeros(n, len(ANALOG_ROLES))
    counts.index_put_((t[pin], r[pin]), torch.ones(int(pin.sum())), accumulate=True)
    x[:, k + 6 :] = torch.log1p(counts)
    edge_index = torch.cat([torch.stack([s, t]), torch.stack([t, s])], dim=1)
    edge_attr = torch.nn.functional.one_hot(torch.cat([r, r]), len(ANALOG_ROLES)).to(torch.float32)
    data = Data(x=x, edge_index=edge_index, edge_attr=edge_attr, graph_id=netlist.name, num_nodes=n)
    paths = [d.instance for d in devices] + [netlist.nets.get(name, ()) for name in net_names]
    if depth or (depth is None and any(paths)):
        data.level_labels, data.instance_paths = level_labels(paths, depth)
    return data


def device_counts(netlist: AnalogNetlist) -> Dict[str, int]:
    """How many devices of each kind."""
    counts: Dict[str, int] = {}
    for d in netlist.devices:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    return counts


__all__ = [
    "ANALOG_FEATURE_NAMES",
    "ANALOG_KINDS",
    "ANALOG_ROLES",
    "DEVICE_KINDS",
    "MAX_DEPTH",
    "MAX_DEVICES",
    "NUM_ANALOG_FEATURES",
    "PINS",
    "AnalogNetlist",
    "Design",
    "Device",
    "Element",
    "Subckt",
    "analog_depth",
    "device_counts",
    "device_kind",
    "flatten",
    "is_ground",
    "is_power",
    "to_data",
]
