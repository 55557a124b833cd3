"""Spectre's masters, for :mod:`hipool.data.netlists.spectre`: the primitives, the device
types a ``model`` may name, the analyses and skipped statements, the polarity of a model's
``type=``, and the resolution of each instance's master to its family (the SPICE letter of
:attr:`~hipool.data.netlists.analog.Element.letter`), by the rules of that module's docstring.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, List, Optional, Set, Tuple

from .analog import PINS, Design, Element
from .gates import NetlistError
from .spectre_syntax import unquote

#: Spectre's primitive masters: the SPICE letter and the parameters naming other devices.
PRIMITIVES: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "resistor": ("R", ()),
    "capacitor": ("C", ()),
    "inductor": ("L", ()),
    "mutual_inductor": ("K", ("ind1", "ind2")),
    "diode": ("D", ()),
    "bjt": ("Q", ()),
    "jfet": ("J", ()),
    "vsource": ("V", ()),
    "port": ("V", ()),
    "iprobe": ("V", ()),
    "isource": ("I", ()),
    "vcvs": ("E", ()),
    "pvcvs": ("E", ()),
    "vccs": ("G", ()),
    "pvccs": ("G", ()),
    "cccs": ("F", ("probe",)),
    "ccvs": ("H", ("probe",)),
    "bsource": ("B", ()),
    "switch": ("S", ()),
    "relay": ("S", ()),
    "tline": ("T", ()),
}
#: The parameter holding a family's main value (MOS: ``w``/``l``, read by ``flatten``).
MAIN_PARAMETER: Dict[str, str] = {
    "R": "r",
    "C": "c",
    "L": "l",
    "K": "coupling",
    "D": "area",
    "Q": "area",
    "J": "area",
    "Z": "area",
    "V": "dc",
    "I": "dc",
    "E": "gain",
    "G": "gm",
    "F": "gain",
    "H": "rm",
}
#: Analysis and control types (``name type ...`` statements, skipped).
ANALYSES: Set[str] = set(
    "ac acmatch alter altergroup assert check checklimit dc dcmatch envlp hb hbac hbnoise hbsp hbxf info "
    "loadpull montecarlo noise options pac pdisto pnoise psp pss pstb pxf pz qpac qpnoise qpsp qpss qpxf "
    "reliability sens set shell sp stb sweep tdr thermal tran uti xf".split()
)
#: Statements skipped whole (``save``, ``ic``, ...).
SKIPPED = {
    "save",
    "ic",
    "nodeset",
    "statistics",
    "process",
    "mismatch",
    "vary",
    "correlate",
    "truncate",
    "real",
    "export",
}
_FAMILIES: Tuple[Tuple[re.Pattern, str], ...] = (
    (re.compile(r"(mos\d+\w*|bsim\w*|b3soi\w*|b4soi\w*|psp\w*|ekv\w*|hisim\w*|hvmos\w*|tft\w*)"), "M"),
    (re.compile(r"(bjt\w*|vbic\w*|hicum\w*|mextram\w*|hbt\w*)"), "Q"),
    (re.compile(r"jfet\w*"), "J"),
    (re.compile(r"(gaas|tom2|tom3|mesfet\w*)"), "Z"),
    (re.compile(r"(diode\w*|juncap\w*|dio500)"), "D"),
    (re.compile(r"(resistor|phy_res)"), "R"),
    (re.compile(r"capacitor"), "C"),
    (re.compile(r"inductor"), "L"),
    (re.compile(r"(switch|relay)"), "S"),
    (re.compile(r"tline"), "T"),
)
_LOOKS = re.compile(r"(?i)(?:(nmos|pmos|nch|pch|nfet|pfet)|(npn|pnp)|(res)|(cap)|(ind)|(dio))")
_LOOK_LETTERS = ("M", "Q", "R", "C", "L", "D")
_LETTER_KIND = {"M": "MOS", "Q": "BJT", "R": "R", "C": "C", "L": "L", "D": "D"}
#: Polarity of ``type=`` per family.
POLARITY: Dict[str, Dict[str, str]] = {
    "M": {"n": "nmos", "p": "pmos", "nmos": "nmos", "pmos": "pmos"},
    "Q": {"npn": "npn", "pnp": "pnp", "n": "npn", "p": "pnp"},
    "J": {"n": "njf", "p": "pjf"},
    "Z": {"n": "nmf", "p": "pmf"},
}
#: The type recorded in ``Design.models`` for a model of a family without polarity.
PLAIN_TYPES = {"D": "d", "R": "r", "C": "c", "L": "l", "S": "sw"}
#: SPICE model types (of a SPICE section) → letter.
SPICE_TYPES = {"nmos": "M", "pmos": "M", "npn": "Q", "pnp": "Q", "njf": "J", "pjf": "J", "nmf": "Z", "pmf": "Z"}
SPICE_TYPES.update({"d": "D", "r": "R", "res": "R", "c": "C", "l": "L", "sw": "S", "csw": "W"})


@lru_cache(maxsize=4096)
def family(name: str) -> Optional[str]:
    """The SPICE letter of a Spectre device type (``bsim4`` → ``M``), or ``None``."""
    for pattern, letter in _FAMILIES:
        if pattern.fullmatch(name):
            return letter
    return None


def looks(master: str, pins: int) -> Optional[str]:
    """The letter of a master named like a device (``nmos4`` → ``M``) whose ``pins`` fit
    the family, or ``None``."""
    m = _LOOKS.match(master)
    if m is None:
        return None
    letter = _LOOK_LETTERS[m.lastindex - 1]  # type: ignore[operator]
    _, lo, hi = PINS[_LETTER_KIND[letter]]
    return letter if lo <= pins <= hi else None


def resolve_masters(
    design: Design,
    models: Dict[str, Tuple[Optional[str], str, str]],
    pending: List[Tuple[Element, str, List[Element]]],
) -> None:
    """Give each pending instance ``(element, master, body)`` its family, model, main value and
    links, once the whole design is read; an analysis (``tran1 tran``) leaves ``body``.

    Args:
        design: the design read, its subcircuits and models (SPICE sections' included).
        models: each Spectre ``model``: name → (letter or ``None``, type as written, where).
        pending: the instances, in the order read, with their master and the list holding them.

    Raises:
        NetlistError: an unknown master, or a model whose type is no device hipool reads.
    """
    for el, master, body in pending:
        sub = design.subckts.get(master)
        if master in ANALYSES and master not in models and (sub is None or len(el.nets) != len(sub.ports)):
            body.remove(el)  # an analysis: known only once the whole file is read
            continue
        links: Tuple[str, ...] = ()
        model: Optional[str] = master
        if master in design.subckts:
            letter: Optional[str] = "X"
        elif master in models:
            letter, written, _ = models[master]
            if letter is None:
                raise NetlistError(
                    f"{el.where}: instance {el.name} of model {master!r}, whose type {written!r} "
                    "is no device hipool reads"
                )
        elif design.models.get(master, "").lower() in SPICE_TYPES:
            letter = SPICE_TYPES[design.models[master].lower()]
        elif master in PRIMITIVES:
            letter, links = PRIMITIVES[master]
            model = master if letter in ("Q", "J") else None
        else:
            letter = family(master) or looks(master, len(el.nets))
            if letter is None:
                raise NetlistError(
                    f"{el.where}: instance {el.name} of master {master!r}, which is neither a primitive, "
                    "a model nor a subcircuit defined in the file"
                )
        el.letter, el.model = letter, model
        main = MAIN_PARAMETER.get(letter)
        if main is not None and main in el.params:
            el.value = el.params[main]
        el.links = [unquote(el.params[p]) for p in links if p in el.params]


__all__ = [
    "ANALYSES",
    "MAIN_PARAMETER",
    "PLAIN_TYPES",
    "POLARITY",
    "PRIMITIVES",
    "SKIPPED",
    "SPICE_TYPES",
    "family",
    "looks",
    "resolve_masters",
]
