"""The block library: ten templates of functional blocks, their variations, and the design rule.

A template's variant is a list of *slots*: a component type, the nets its pins go to
(by name) and the range its value is drawn from.  Net names in :data:`PORTS` are the
block's ports (joined to the rest of the circuit); every other name is a net inside
the block.  A signal block has exactly one pin on ``IN`` and one on ``OUT``, so that
joining blocks is a matter of single pins.

**The block design rule.**  A block is well designed iff its netlist - the component
types and which net every pin goes to, with the pins of ``R``/``C``/``L`` unordered and
internal nets up to renaming - is one of the designs below (:func:`is_library_design`).
Component values are not part of the design (they are the component rule's business).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, Hashable, Iterable, Optional, Sequence, Tuple

from .parts import NON_POLAR, PINS, RATED

#: Port names: nets a block shares with the rest of the circuit.
PORTS: Tuple[str, ...] = ("IN", "OUT", "VCC", "GND", "VOUT")


@dataclass(frozen=True)
class Slot:
    """One component of a design: ``kind``'s pins go to ``nets`` (in pin order); its value's
    exponent is drawn in ``[decades[0], decades[1])`` (``None``: a type without a value)."""

    name: str
    kind: str
    nets: Tuple[str, ...]
    decades: Optional[Tuple[int, int]] = None


@dataclass(frozen=True)
class Variant:
    name: str
    slots: Tuple[Slot, ...]


@dataclass(frozen=True)
class Template:
    """A functional block.

    Args:
        name: the block's name.
        role: ``processing`` (IN → OUT), ``source`` (OUT only), ``regulator`` or ``decoupling``.
        accepts: the signals its input takes: ``analog`` (only analog levels) or ``any``
            (logic levels too); ``None`` without an input.
        output: what its output carries: ``analog`` or ``logic``; ``None`` without one.
        variants: its designs.
        feedback: ``(output net, input net)`` that an R or C of the block must join
            (negative feedback of an amplifier, positive feedback of an oscillator or a
            comparator with hysteresis); ``None`` if the block has none.
        bypass: whether the block carries its own supply bypass capacitor (a ``C``
            between ``VCC`` and ``GND``).
    """

    name: str
    role: str
    accepts: Optional[str]
    output: Optional[str]
    variants: Tuple[Variant, ...]
    feedback: Optional[Tuple[str, str]] = None
    bypass: bool = False

    @property
    def ports(self) -> Tuple[str, ...]:
        used = {n for v in self.variants for s in v.slots for n in s.nets}
        return tuple(p for p in PORTS if p in used)


def _r(name, a, b, lo, hi):
    return Slot(name, "R", (a, b), (lo, hi))


def _c(name, a, b, lo, hi):
    return Slot(name, "C", (a, b), (lo, hi))


def _ce(name, pos, neg, lo, hi):
    return Slot(name, "CE", (pos, neg), (lo, hi))


def _l(name, a, b, lo, hi):
    return Slot(name, "L", (a, b), (lo, hi))


def _options(base: Sequence[Slot], *options: Slot, prefix: str = "") -> Tuple[Variant, ...]:
    """Every combination of the optional slots on top of ``base``."""
    out = []
    for k in range(len(options) + 1):
        for combo in itertools.combinations(options, k):
            name = "+".join([prefix] * bool(prefix) + [s.name for s in combo]) or "base"
            out.append(Variant(name, tuple(base) + combo))
    return tuple(out)


_BYPASS = _c("Cbyp", "VCC", "GND", -8, -6)

LIBRARY: Tuple[Template, ...] = (
    Template(
        "inverting_amp",
        "processing",
        "analog",
        "analog",
        _options(
            [
                Slot("U", "OPAMP", ("nref", "nsum", "no", "VCC", "GND")),
                _r("Rin", "IN", "nsum", 3, 5),
                _r("Rf", "nsum", "no", 4, 6),
                _r("Riso", "no", "OUT", 1, 3),
                _r("Ra", "VCC", "nref", 3, 6),
                _r("Rb", "nref", "GND", 3, 6),
                _BYPASS,
            ],
            _c("Cf", "nsum", "no", -11, -9),
            _c("Cref", "nref", "GND", -8, -6),
        ),
        feedback=("no", "nsum"),
        bypass=True,
    ),
    Template(
        "noninverting_amp",
        "processing",
        "analog",
        "analog",
        _options(
            [
                _r("Rin", "IN", "nin", 2, 4),
                Slot("U", "OPAMP", ("nin", "nfb", "no", "VCC", "GND")),
                _r("Rf", "no", "nfb", 3, 6),
                _r("Rg", "nfb", "GND", 3, 5),
                _r("Riso", "no", "OUT", 1, 3),
                _BYPASS,
            ],
            _c("Cin", "nin", "GND", -11, -8),
            _c("Cf", "no", "nfb", -11, -9),
        ),
        feedback=("no", "nfb"),
        bypass=True,
    ),
    Template(
        "rc_filter",
        "processing",
        "any",
        "analog",
        (
            Variant(
                "lowpass", (_r("R1", "IN", "n1", 2, 5), _c("C1", "n1", "GND", -10, -6), _r("Ro", "n1", "OUT", 1, 3))
            ),
            Variant(
                "lowpass2",
                (
                    _r("R1", "IN", "n1", 2, 5),
                    _c("C1", "n1", "GND", -10, -6),
                    _r("R2", "n1", "n2", 2, 5),
                    _c("C2", "n2", "GND", -10, -6),
                    _r("Ro", "n2", "OUT", 1, 3),
                ),
            ),
            Variant(
                "highpass", (_c("C1", "IN", "n1", -9, -6), _r("R1", "n1", "GND", 3, 6), _r("Ro", "n1", "OUT", 1, 3))
            ),
            Variant(
                "highpass2",
                (
                    _c("C1", "IN", "n1", -9, -6),
                    _r("R1", "n1", "GND", 3, 6),
                    _c("C2", "n1", "n2", -9, -6),
                    _r("R2", "n2", "GND", 3, 6),
                    _r("Ro", "n2", "OUT", 1, 3),
                ),
            ),
            Variant(
                "bandpass",
                (
                    _c("C1", "IN", "n1", -9, -6),
                    _r("R1", "n1", "GND", 3, 6),
                    _r("R2", "n1", "n2", 2, 5),
                    _c("C2", "n2", "GND", -10, -6),
                    _r("Ro", "n2", "OUT", 1, 3),
                ),
            ),
        ),
    ),
    Template(
        "lc_filter",
        "processing",
        "any",
        "analog",
        (
            Variant("lc", (_l("L1", "IN", "n1", -6, -3), _c("C1", "n1", "GND", -9, -6), _r("Ro", "n1", "OUT", 1, 3))),
            Variant(
                "lc2",
                (
                    _l("L1", "IN", "n1", -6, -3),
                    _c("C1", "n1", "GND", -9, -6),
                    _l("L2", "n1", "n2", -6, -3),
                    _c("C2", "n2", "GND", -9, -6),
                    _r("Ro", "n2", "OUT", 1, 3),
                ),
            ),
            Variant(
                "damped",
                (
                    _l("L1", "IN", "n1", -6, -3),
                    _r("Rd", "n1", "n2", 0, 2),
                    _c("C1", "n2", "GND", -9, -6),
                    _r("Ro", "n1", "OUT", 1, 3),
                ),
            ),
        ),
    ),
    Template(
        "divider",
        "processing",
        "any",
        "analog",
        _options(
            [_r("Rt", "IN", "nm", 3, 6), _r("Rb", "nm", "GND", 3, 6), _r("Ro", "nm", "OUT", 1, 3)],
            _c("Cf", "nm", "GND", -9, -6),
            prefix="attenuator",
        ),
    ),
    Template(
        "reference",
        "source",
        None,
        "analog",
        _options(
            [_r("Rt", "VCC", "nm", 3, 6), _r("Rb", "nm", "GND", 3, 6), _r("Ro", "nm", "OUT", 1, 3)],
            _c("Cf", "nm", "GND", -8, -6),
        ),
    ),
    Template(
        "ce_stage",
        "processing",
        "any",
        "analog",
        _options(
            [
                Slot("Q", "Q", ("nc", "nb", "ne")),
                _r("Rc", "VCC", "nc", 3, 5),
                _r("Re", "ne", "GND", 1, 3),
                _r("R1", "VCC", "nb", 4, 6),
                _r("R2", "nb", "GND", 3, 5),
                _c("Cin", "IN", "nb", -8, -6),
                _c("Cout", "nc", "OUT", -8, -6),
                _BYPASS,
            ],
            _ce("Ce", "ne", "GND", -6, -4),
        ),
        bypass=True,
    ),
    Template(
        "oscillator",
        "source",
        None,
        "logic",
        (
            _options(
                [
                    Slot("U", "CMP", ("np", "nn", "no", "VCC", "GND")),
                    _r("R1", "no", "np", 4, 6),
                    _r("R2", "np", "GND", 4, 6),
                    _r("R3", "VCC", "np", 4, 6),
                    _r("Rt", "no", "nn", 3, 6),
                    _c("Ct", "nn", "GND", -10, -7),
                    _r("Rpu", "VCC", "no", 3, 4),
                    _r("Riso", "no", "OUT", 1, 3),
                    _BYPASS,
                ],
                prefix="cmp",
            )
            + _options(
                [
                    Slot("U", "OPAMP", ("np", "nn", "no", "VCC", "GND")),
                    _r("R1", "no", "np", 4, 6),
                    _r("R2", "np", "GND", 4, 6),
                    _r("R3", "VCC", "np", 4, 6),
                    _r("Rt", "no", "nn", 3, 6),
                    _c("Ct", "nn", "GND", -10, -7),
                    _r("Riso", "no", "OUT", 1, 3),
                    _BYPASS,
                ],
                prefix="opamp",
            )
        ),
        feedback=("no", "np"),
        bypass=True,
    ),
    Template(
        "comparator",
        "processing",
        "analog",
        "logic",
        _options(
            [
                _r("Rin", "IN", "np", 3, 5),
                Slot("U", "CMP", ("np", "nref", "no", "VCC", "GND")),
                _r("Rh", "no", "np", 5, 7),
                _r("Ra", "VCC", "nref", 3, 6),
                _r("Rb", "nref", "GND", 3, 6),
                _r("Rpu", "VCC", "no", 3, 4),
                _r("Riso", "no", "OUT", 1, 3),
                _BYPASS,
            ],
            _c("Cref", "nref", "GND", -8, -6),
        ),
        feedback=("no", "np"),
        bypass=True,
    ),
    Template(
        "linear_regulator",
        "regulator",
        None,
        None,
        _options(
            [
                Slot("U", "REG", ("VCC", "VOUT", "GND")),
                _ce("Cin", "VCC", "GND", -6, -4),
                _ce("Cout", "VOUT", "GND", -6, -4),
            ],
            _c("Cc", "VOUT", "GND", -8, -6),
            Slot("D", "D", ("VOUT", "VCC")),
        ),
    ),
    Template(
        "decoupling",
        "decoupling",
        None,
        None,
        (
            Variant("bulk+1", (_ce("Cb", "VCC", "GND", -5, -3), _c("C1", "VCC", "GND", -8, -6))),
            Variant(
                "bulk+2",
                (_ce("Cb", "VCC", "GND", -5, -3), _c("C1", "VCC", "GND", -8, -6), _c("C2", "VCC", "GND", -9, -7)),
            ),
            Variant(
                "bulk+3",
                (
                    _ce("Cb", "VCC", "GND", -5, -3),
                    _c("C1", "VCC", "GND", -8, -6),
                    _c("C2", "VCC", "GND", -9, -7),
                    _c("C3", "VCC", "GND", -10, -8),
                ),
            ),
        ),
    ),
)
TEMPLATES: Dict[str, Template] = {t.name: t for t in LIBRARY}

#: A component of a netlist for the design rule: its type and the net of every pin.
Wire = Tuple[str, Tuple[Hashable, ...]]


def canonical(wires: Iterable[Wire], ports: Dict[Hashable, str]) -> Tuple:
    """The canonical form of a block's netlist: port nets by port name, internal nets
    renamed in the way that gives the smallest sorted tuple, ``R``/``C``/``L`` pins unordered."""
    wires = list(wires)
    internal = sorted({n for _, nets in wires for n in nets if n not in ports}, key=repr)
    best = None
    for perm in itertools.permutations(range(len(internal))):
        names = dict(ports)
        names.update({n: f"~{perm[i]}" for i, n in enumerate(internal)})
        sig = tuple(
            sorted(
                (k, tuple(sorted(names[n] for n in nets)) if k in NON_POLAR else tuple(names[n] for n in nets))
                for k, nets in wires
            )
        )
        if best is None or sig < best:
            best = sig
    return best if best is not None else ()


@lru_cache(maxsize=None)
def library_designs() -> FrozenSet[Tuple]:
    """The canonical forms of every variant of every template."""
    return frozenset(
        canonical([(s.kind, s.nets) for s in v.slots], {p: p for p in PORTS}) for t in LIBRARY for v in t.variants
    )


def is_library_design(wires: Iterable[Wire], ports: Dict[Hashable, str]) -> bool:
    """The block design rule: the netlist is one of the library's designs."""
    return canonical(wires, ports) in library_designs()


def check_library() -> None:
    """Internal consistency of the library (run by the tests): pins per type, value ranges
    inside the rated range, exactly one pin on ``IN``/``OUT`` where present."""
    for t in LIBRARY:
        for v in t.variants:
            for s in v.slots:
                where = f"{t.name}/{v.name}/{s.name}"
                if len(s.nets) != len(PINS[s.kind]):
                    raise AssertionError(f"{where}: {len(s.nets)} nets for {len(PINS[s.kind])} pins")
                if (s.decades is None) != (s.kind not in RATED):
                    raise AssertionError(f"{where}: value range does not fit type {s.kind}")
                if s.decades is not None:
                    lo, hi = RATED[s.kind]
                    if not lo <= s.decades[0] < s.decades[1] <= hi:
                        raise AssertionError(f"{where}: range {s.decades} outside rated {RATED[s.kind]}")
                if len(set(s.nets)) != len(s.nets):
                    raise AssertionError(f"{where}: two pins on one net")
            for port in ("IN", "OUT"):
                pins = sum(n == port for s in v.slots for n in s.nets)
                if pins not in (0, 1):
                    raise AssertionError(f"{t.name}/{v.name}: {pins} pins on {port}")
            if (t.accepts is None) == any("IN" in s.nets for s in v.slots):
                raise AssertionError(f"{t.name}/{v.name}: input port does not match accepts={t.accepts}")
