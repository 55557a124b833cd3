"""Component types, their pins, pin roles and values of the synthetic circuits.

Values are E12 numbers ``mantissa × 10^exponent`` kept as two integers, so that a
seed gives bit-identical features on every machine (no ``log10`` of a float at
generation time: the logarithms of the twelve mantissas are a fixed table).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

#: Component types, in the order of their one-hot columns in ``x``.
TYPES: Tuple[str, ...] = ("R", "C", "CE", "L", "D", "Q", "OPAMP", "CMP", "REG", "J")
TYPE_NAMES: Dict[str, str] = {
    "R": "resistor",
    "C": "ceramic capacitor",
    "CE": "electrolytic capacitor (polar)",
    "L": "inductor / bead",
    "D": "diode (polar)",
    "Q": "NPN transistor",
    "OPAMP": "operational amplifier",
    "CMP": "comparator",
    "REG": "linear regulator",
    "J": "board connector",
}
#: Pin roles, in the order of their one-hot columns in ``edge_attr`` (and of the per-net counts in ``x``).
ROLES: Tuple[str, ...] = (
    "passive",
    "pos",
    "neg",
    "collector",
    "base",
    "emitter",
    "in_plus",
    "in_minus",
    "out",
    "supply",
    "ground",
    "io",
)
#: The role of every pin of a type, in pin order (``J`` has any number of ``io`` pins).
PINS: Dict[str, Tuple[str, ...]] = {
    "R": ("passive", "passive"),
    "C": ("passive", "passive"),
    "L": ("passive", "passive"),
    "CE": ("pos", "neg"),
    "D": ("pos", "neg"),
    "Q": ("collector", "base", "emitter"),
    "OPAMP": ("in_plus", "in_minus", "out", "supply", "ground"),
    "CMP": ("in_plus", "in_minus", "out", "supply", "ground"),
    "REG": ("supply", "out", "ground"),
}
#: Two-pin types whose pins are interchangeable.
NON_POLAR: Tuple[str, ...] = ("R", "C", "L")
#: Polar two-pin types: pin 0 (``pos``) must sit at the higher DC potential.
POLAR: Tuple[str, ...] = ("CE", "D")
#: Rated value range of each valued type, in decades of its base unit (Ω, F, H):
#: a value ``v`` is valid iff ``lo <= log10(v) < hi``.
RATED: Dict[str, Tuple[int, int]] = {"R": (0, 7), "C": (-12, -5), "CE": (-7, -2), "L": (-8, -2)}
UNITS: Dict[str, str] = {"R": "Ω", "C": "F", "CE": "F", "L": "H"}

#: The E12 series and its base-10 logarithms (rounded to 6 digits, a fixed table).
E12: Tuple[float, ...] = (1.0, 1.2, 1.5, 1.8, 2.2, 2.7, 3.3, 3.9, 4.7, 5.6, 6.8, 8.2)
E12_LOG10: Tuple[float, ...] = (
    0.0,
    0.079181,
    0.176091,
    0.255273,
    0.342423,
    0.431364,
    0.518514,
    0.591065,
    0.672098,
    0.748188,
    0.832509,
    0.913814,
)

#: A value as (exponent, index into E12): ``E12[index] * 10**exponent``.
Value = Tuple[int, int]


def log_value(value: Value) -> float:
    """``log10`` of a value, from the fixed table."""
    return value[0] + E12_LOG10[value[1]]


def value_feature(kind: str, value: Optional[Value]) -> float:
    """The value feature of ``x``: ``(log10 v - lo) / (hi - lo)`` for the type's rated range
    (in ``[0, 1)`` for a valid value); 0 for types without a value."""
    if value is None or kind not in RATED:
        return 0.0
    lo, hi = RATED[kind]
    return (log_value(value) - lo) / (hi - lo)


def in_rated_range(kind: str, value: Optional[Value]) -> bool:
    if kind not in RATED:
        return value is None
    if value is None:
        return False
    lo, hi = RATED[kind]
    return lo <= log_value(value) < hi


def format_value(kind: str, value: Optional[Value]) -> str:
    """``4.7e+03 Ω`` style text (for messages and exports)."""
    if value is None:
        return "-"
    return f"{E12[value[1]]:.1f}e{value[0]:+d} {UNITS.get(kind, '')}".strip()
