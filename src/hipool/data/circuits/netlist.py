"""A circuit as a netlist (components, nets, blocks, subsystems) and the three levels of rules.

:func:`faults` checks a netlist against the documented rules (see :mod:`hipool.data.circuits`)
and returns what is wrong at each level; the generator uses it to certify its labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .library import PORTS, TEMPLATES, canonical, library_designs
from .parts import NON_POLAR, PINS, RATED, Value, format_value, in_rated_range

LEVELS: Tuple[str, ...] = ("component", "block", "subsystem")


@dataclass
class Part:
    """A component. ``nets[k]`` is the net of pin ``k`` in the design's pin order;
    ``reversed`` means a polar part is mounted the other way round (its roles swap)."""

    kind: str
    nets: List[int]
    value: Optional[Value] = None
    block: int = -1
    subsystem: int = -1
    slot: str = ""
    nominal: str = ""  # the type the design asks for (differs only for a wrong-type defect)
    reversed: bool = False
    roles_override: Optional[Tuple[str, ...]] = None  # the connector's pins

    def roles(self) -> Tuple[str, ...]:
        roles = self.roles_override or PINS[self.kind]
        return (roles[1], roles[0]) + roles[2:] if self.reversed else roles


@dataclass
class Net:
    kind: str  # ground | power | signal
    name: str
    block: int = -1
    subsystem: int = -1


@dataclass
class Block:
    template: str
    variant: str
    subsystem: int
    nets: Dict[str, int]  # template net name -> net id (ports and internal nets)
    parts: List[int] = field(default_factory=list)
    in_pin: Optional[Tuple[int, int]] = None  # (part, pin) on the IN port
    out_pin: Optional[Tuple[int, int]] = None  # (part, pin) on the OUT port

    def port_names(self) -> Dict[int, str]:
        return {n: name for name, n in self.nets.items() if name in PORTS}


@dataclass
class Subsystem:
    kind: str  # power | signal | control | driver
    rail: int  # its supply rail net
    source: int  # the power net its bead feeds from
    bead: int = -1  # part id of the bead (source -> rail)
    blocks: List[int] = field(default_factory=list)


@dataclass
class Netlist:
    parts: List[Part] = field(default_factory=list)
    nets: List[Net] = field(default_factory=list)
    blocks: List[Block] = field(default_factory=list)
    subsystems: List[Subsystem] = field(default_factory=list)
    ground: int = -1
    sources: List[int] = field(default_factory=list)  # nets that supply power: VIN, regulator outputs
    connector: int = -1
    connector_inputs: List[int] = field(default_factory=list)  # connector pins driving a net (analog)
    connector_outputs: List[int] = field(default_factory=list)  # connector pins loading a net

    def add_net(self, kind: str, name: str, block: int = -1, subsystem: int = -1) -> int:
        self.nets.append(Net(kind, name, block, subsystem))
        return len(self.nets) - 1

    @property
    def num_components(self) -> int:
        return len(self.parts)

    # -- views used by the rules and the defects -------------------------------------------------
    def wires(self, block: int, observed: bool = False) -> List[Tuple[str, Tuple[int, ...]]]:
        """The block's netlist: nominal types and pin order (the design), or what is mounted."""
        out = []
        for p in self.blocks[block].parts:
            part = self.parts[p]
            if observed:
                nets = tuple(part.nets[::-1]) if part.reversed else tuple(part.nets)
                out.append((part.kind, nets))
            else:
                out.append((part.nominal, tuple(part.nets)))
        return out

    def block_is_design(self, block: int, observed: bool = False) -> bool:
        ports = self.blocks[block].port_names()
        if len(ports) != sum(1 for k in self.blocks[block].nets if k in PORTS):
            return False  # two ports on one net
        return canonical(self.wires(block, observed), ports) in library_designs()

    def joins(self, block: int, a: int, b: int, kinds=("R", "C")) -> bool:
        """Whether a part of ``block`` of one of ``kinds`` has its two pins on nets ``a`` and ``b``."""
        return any(
            self.parts[p].nominal in kinds and sorted(self.parts[p].nets) == sorted((a, b))
            for p in self.blocks[block].parts
        )

    def has_feedback(self, block: int) -> bool:
        t = TEMPLATES[self.blocks[block].template]
        if t.feedback is None:
            return True
        nets = self.blocks[block].nets
        return self.joins(block, nets[t.feedback[0]], nets[t.feedback[1]])

    def has_bypass(self, block: int) -> bool:
        if not TEMPLATES[self.blocks[block].template].bypass:
            return True
        nets = self.blocks[block].nets
        return self.joins(block, nets["VCC"], nets["GND"], kinds=("C",))

    def signal_pins(self) -> Dict[int, Tuple[List[Tuple[str, int]], List[Tuple[str, int]]]]:
        """For every signal net with block or connector pins: (drivers, loads), each as
        (signal kind or acceptance, block id or -1 for the connector)."""
        out: Dict[int, Tuple[list, list]] = {}
        for b, block in enumerate(self.blocks):
            t = TEMPLATES[block.template]
            if block.out_pin is not None:
                p, k = block.out_pin
                out.setdefault(self.parts[p].nets[k], ([], []))[0].append((t.output, b))
            if block.in_pin is not None:
                p, k = block.in_pin
                out.setdefault(self.parts[p].nets[k], ([], []))[1].append((t.accepts, b))
        if self.connector >= 0:
            j = self.parts[self.connector]
            for k in self.connector_inputs:
                out.setdefault(j.nets[k], ([], []))[0].append(("analog", -1))
            for k in self.connector_outputs:
                out.setdefault(j.nets[k], ([], []))[1].append(("any", -1))
        return out


def faults(nl: Netlist) -> Dict[str, List[str]]:
    """What breaks each level's rule (empty lists: a passing circuit)."""
    found: Dict[str, List[str]] = {level: [] for level in LEVELS}
    # component: the right type, a value in its rated range, polar parts the right way round
    for i, part in enumerate(nl.parts):
        if part.kind == "J":
            continue
        where = f"part {i} ({part.slot or part.nominal})"
        if part.kind != part.nominal:
            found["component"].append(f"{where}: a {part.kind} where the design needs a {part.nominal}")
        if part.kind in RATED and not in_rated_range(part.kind, part.value):
            found["component"].append(
                f"{where}: value {format_value(part.kind, part.value)} outside the rated range of a {part.kind}"
            )
        if part.reversed:
            found["component"].append(f"{where}: polarity reversed")
    # block: a library design with its feedback and bypass paths
    for b in range(len(nl.blocks)):
        where = f"block {b} ({nl.blocks[b].template})"
        if not nl.has_feedback(b):
            found["block"].append(f"{where}: no feedback path")
        if not nl.has_bypass(b):
            found["block"].append(f"{where}: no supply bypass capacitor")
        if not nl.block_is_design(b):
            found["block"].append(f"{where}: wiring matches no library design")
    # subsystem: powered, decoupled, supplied from its rail; one driver per net, compatible loads
    for s, sub in enumerate(nl.subsystems):
        bead = nl.parts[sub.bead]
        feed = [n for n in bead.nets if n != sub.rail]
        if bead.nets.count(sub.rail) != 1 or feed[0] not in nl.sources:
            found["subsystem"].append(f"subsystem {s} ({sub.kind}): its rail is not fed from a supply")
        decoupled = False
        for b in sub.blocks:
            block = nl.blocks[b]
            if block.template == "decoupling":
                decoupled |= block.nets["VCC"] == sub.rail
            elif "VCC" in block.nets and block.nets["VCC"] != sub.rail:
                found["subsystem"].append(f"subsystem {s}: block {b} is not supplied from the subsystem rail")
            if "GND" in block.nets and block.nets["GND"] != nl.ground:
                found["subsystem"].append(f"subsystem {s}: block {b} is not grounded")
        if not decoupled:
            found["subsystem"].append(f"subsystem {s} ({sub.kind}): no decoupling network on its rail")
    for net, (drivers, loads) in nl.signal_pins().items():
        if len(drivers) != 1:
            found["subsystem"].append(f"net {net}: {len(drivers)} outputs drive it")
            continue
        if not loads:
            found["subsystem"].append(f"net {net}: drives nothing")
        for accepts, b in loads:
            if drivers[0][0] == "logic" and accepts == "analog":
                found["subsystem"].append(f"net {net}: a logic output drives the analog-only input of block {b}")
    return found


def is_two_pin_swappable(part: Part) -> bool:
    return part.kind in NON_POLAR and part.nominal in NON_POLAR


__all__ = ["LEVELS", "Part", "Net", "Block", "Subsystem", "Netlist", "faults", "is_two_pin_swappable"]
