"""Building circuits from the block library, injecting defects, and turning netlists into graphs."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch_geometric.data import Data

from .library import TEMPLATES, Template, Variant
from .netlist import (
    LEVELS,
    Block,
    Netlist,
    Part,
    Subsystem,
    faults,
    is_two_pin_swappable,
)
from .parts import NON_POLAR, POLAR, RATED, ROLES, TYPES, in_rated_range, value_feature

#: Fewest components a circuit can have (the fixed skeleton of the smallest plan).
MIN_COMPONENTS = 50

#: Defect kinds per level, in the order of the ``defect_kind`` index (after ``none`` = -1).
DEFECT_KINDS: Dict[str, Tuple[str, ...]] = {
    "component": ("value_out_of_range", "wrong_type", "reversed_polarity"),
    "block": ("missing_feedback", "missing_bypass", "miswired"),
    "subsystem": ("unpowered", "output_contention", "interface_mismatch", "missing_decoupling"),
}
ALL_KINDS: Tuple[str, ...] = tuple(k for level in LEVELS for k in DEFECT_KINDS[level])

#: Processing blocks each subsystem kind draws its fill-in blocks from.
_ANALOG_BLOCKS = ("inverting_amp", "noninverting_amp", "rc_filter", "lc_filter", "divider", "ce_stage")
_DRIVER_FIRST = ("ce_stage", "rc_filter", "lc_filter", "divider")  # blocks that take logic levels
#: Channel patterns (subsystem kinds in signal order) by length.
_CHANNELS = {
    2: (("signal", "control"), ("oscillator", "driver"), ("signal", "signal")),
    3: (("signal", "control", "driver"), ("signal", "signal", "control")),
    4: (("signal", "signal", "control", "driver"),),
}

#: Node features: node kind one-hot (net + component types), value, ground, power, pin-role counts.
NODE_KINDS: Tuple[str, ...] = ("NET",) + TYPES
NUM_FEATURES: int = len(NODE_KINDS) + 3 + len(ROLES)
FEATURE_NAMES: Tuple[str, ...] = (
    tuple(f"is_{k}" for k in NODE_KINDS) + ("value", "is_ground", "is_power") + tuple(f"pins_{r}" for r in ROLES)
)


# -- building a passing circuit ---------------------------------------------------------------------
def _draw_value(rng: np.random.Generator, decades: Tuple[int, int]) -> Tuple[int, int]:
    return int(rng.integers(decades[0], decades[1])), int(rng.integers(0, 12))


def _variant(rng: np.random.Generator, template: str) -> Variant:
    variants = TEMPLATES[template].variants
    return variants[int(rng.integers(len(variants)))]


class _Builder:
    """Plans subsystems and blocks to a component budget, then lays the netlist out."""

    def __init__(self, rng: np.random.Generator, target: int, max_components: int):
        self.rng, self.target, self.max = rng, target, max_components
        self.nl = Netlist()

    # plan: per subsystem its kind and its chain of (template, variant)
    def plan(self) -> Tuple[List[str], List[List[Tuple[str, Variant]]], List[List[int]], List[Variant]]:
        rng = self.rng
        k = max(2, int(round(math.sqrt(self.target) / 3.5 * rng.uniform(0.75, 1.25))))
        k = max(2, min(k, (self.target - 12) // 14))
        lengths: List[int] = []
        while sum(lengths) < k:
            left = k - sum(lengths)
            choices = [n for n in (2, 3, 4) if n <= left] or [left]
            lengths.append(int(rng.choice(choices)) if left != 1 else 1)
        if lengths[-1] == 1:  # a lone leftover joins the previous channel when it fits, else pairs up
            lengths.pop()
            if lengths and lengths[-1] < 4:
                lengths[-1] += 1
            else:
                lengths.append(2)
        kinds, channels = ["power"], []
        for n in lengths:
            pattern = _CHANNELS[n][int(rng.integers(len(_CHANNELS[n])))]
            channels.append(list(range(len(kinds), len(kinds) + n)))
            kinds += list(pattern)
        regulators = -(-(len(kinds) - 1) // 4)
        chains: List[List[Tuple[str, Variant]]] = [
            [("linear_regulator", _variant(rng, "linear_regulator")) for _ in range(regulators)]
        ]
        for kind in kinds[1:]:
            if kind == "signal":
                start = "reference" if rng.random() < 0.2 else str(rng.choice(_ANALOG_BLOCKS))
                chain = [start]
            elif kind == "control":
                chain = ["comparator"]
            elif kind == "oscillator":
                chain = ["oscillator"]
            else:  # driver
                chain = [str(rng.choice(_DRIVER_FIRST))]
            chains.append([(t, _variant(rng, t)) for t in chain])
        # a subsystem whose channel starts with a reference cannot take an input: only the first
        # subsystem of a channel may start with a source
        for ch in channels:
            for s in ch[1:]:
                if chains[s][0][0] == "reference":
                    t = str(rng.choice(_ANALOG_BLOCKS))
                    chains[s][0] = (t, _variant(rng, t))
        decoupling = [_variant(rng, "decoupling") for _ in kinds]
        count = 1 + len(kinds) + sum(len(v.slots) for v in decoupling)  # connector, beads, decoupling
        count += sum(len(v.slots) for chain in chains for _, v in chain)
        # fill to the budget: processing blocks inserted where the signal kinds allow them
        open_ = [s for s, kind in enumerate(kinds) if kind in ("signal", "control", "driver")]
        while count < self.target:
            s = int(rng.choice(open_))
            t = str(rng.choice(_ANALOG_BLOCKS))
            v = _variant(rng, t)
            if count + len(v.slots) > self.max:
                t, v = "rc_filter", TEMPLATES["rc_filter"].variants[0]  # the smallest block
                if count + len(v.slots) > self.max:
                    break
            chain = chains[s]
            # keep the chain's rules: a source or a driver's logic-level input block stays first,
            # a control subsystem's comparator stays last
            lo = 1 if kinds[s] == "driver" or chain[0][0] == "reference" else 0
            hi = len(chain) - 1 if kinds[s] == "control" else len(chain)
            pos = int(rng.integers(lo, hi + 1))
            chain.insert(pos, (t, v))
            count += len(v.slots)
        return kinds, chains, channels, decoupling

    def block(self, template: Template, variant: Variant, sub: int, ports: Dict[str, int]) -> int:
        nl, rng = self.nl, self.rng
        b = len(nl.blocks)
        nets = dict(ports)
        for s in variant.slots:
            for name in s.nets:
                if name not in nets:
                    nets[name] = nl.add_net("signal", f"b{b}.{name}", b, sub)
        block = Block(template.name, variant.name, sub, nets)
        nl.blocks.append(block)
        nl.subsystems[sub].blocks.append(b)
        for s in variant.slots:
            p = len(nl.parts)
            value = _draw_value(rng, s.decades) if s.decades else None
            nl.parts.append(Part(s.kind, [nets[n] for n in s.nets], value, b, sub, s.name, s.kind))
            block.parts.append(p)
            for k, name in enumerate(s.nets):
                if name == "IN":
                    block.in_pin = (p, k)
                elif name == "OUT":
                    block.out_pin = (p, k)
        return b

    def bead(self, sub: int, source: int, rail: int) -> int:
        nl = self.nl
        nl.parts.append(Part("L", [source, rail], _draw_value(self.rng, (-7, -5)), -1, sub, "bead", "L"))
        return len(nl.parts) - 1

    def build(self) -> Netlist:
        kinds, chains, channels, decoupling = self.plan()
        nl = self.nl
        nl.ground = nl.add_net("ground", "GND")
        vin = nl.add_net("power", "VIN")
        nl.sources = [vin]
        # power subsystem: bead from VIN, regulators, decoupling
        rail0 = nl.add_net("power", "RAIL0", -1, 0)
        nl.subsystems.append(Subsystem("power", rail0, vin))
        nl.subsystems[0].bead = self.bead(0, vin, rail0)
        outputs = []
        for r, (t, v) in enumerate(chains[0]):
            vout = nl.add_net("power", f"VREG{r}", -1, 0)
            nl.sources.append(vout)
            outputs.append(vout)
            self.block(TEMPLATES[t], v, 0, {"VCC": rail0, "GND": nl.ground, "VOUT": vout})
        self.block(TEMPLATES["decoupling"], decoupling[0], 0, {"VCC": rail0, "GND": nl.ground})
        # the other subsystems, channel by channel
        inputs, finals = [], []
        for ch in channels:
            net_in: Optional[int] = None
            for s in ch:
                source = outputs[(s - 1) % len(outputs)]
                rail = nl.add_net("power", f"RAIL{s}", -1, s)
                nl.subsystems.append(Subsystem(kinds[s], rail, source))
                assert len(nl.subsystems) - 1 == s
                nl.subsystems[s].bead = self.bead(s, source, rail)
                self.block(TEMPLATES["decoupling"], decoupling[s], s, {"VCC": rail, "GND": nl.ground})
                for i, (t, v) in enumerate(chains[s]):
                    template = TEMPLATES[t]
                    ports = {"GND": nl.ground, "VCC": rail}
                    if template.accepts is not None:
                        if net_in is None:  # a channel input from the connector
                            net_in = nl.add_net("signal", f"IN{len(inputs)}")
                            inputs.append(net_in)
                        ports["IN"] = net_in
                    last = i == len(chains[s]) - 1
                    ports["OUT"] = nl.add_net("signal", f"s{s}.{i}", -1, -1 if last else s)
                    net_in = ports["OUT"]
                    self.block(template, v, s, ports)
            finals.append(net_in)
        # the board connector: supply, ground, channel inputs and outputs
        pins = [vin, nl.ground] + inputs + finals
        roles = ("supply", "ground") + ("io",) * (len(inputs) + len(finals))
        nl.connector = len(nl.parts)
        nl.parts.append(Part("J", pins, None, -1, -1, "J", "J", roles_override=roles))
        nl.connector_inputs = list(range(2, 2 + len(inputs)))
        nl.connector_outputs = list(range(2 + len(inputs), len(pins)))
        return nl


def build_circuit(rng: np.random.Generator, min_components: int, max_components: int) -> Netlist:
    """A passing circuit with between ``min_components`` and ``max_components`` components."""
    target = int(math.floor(math.exp(rng.uniform(math.log(min_components), math.log(max_components + 1)))))
    target = min(max_components, max(min_components, target))
    return _Builder(rng, target, max_components).build()


# -- defects -------------------------------------------------------------------------------------
class Defect:
    """An injected defect: its level, kind, a sentence, and the parts and nets it touched."""

    def __init__(self, level: str, kind: str, text: str, parts: Sequence[int], nets: Sequence[int]):
        self.level, self.kind, self.text = level, kind, text
        self.parts, self.nets = list(parts), list(nets)

    def __repr__(self) -> str:
        return f"Defect({self.level}/{self.kind}: {self.text})"


def _swap_pins(nl: Netlist, a: Tuple[int, int], b: Tuple[int, int]) -> None:
    (pa, ka), (pb, kb) = a, b
    nl.parts[pa].nets[ka], nl.parts[pb].nets[kb] = nl.parts[pb].nets[kb], nl.parts[pa].nets[ka]


def _swap_ok(nl: Netlist, a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    """A pin swap that keeps every node's degree: distinct nets, no part left with two pins on one net."""
    (pa, ka), (pb, kb) = a, b
    na, nb = nl.parts[pa].nets[ka], nl.parts[pb].nets[kb]
    if pa == pb or na == nb:
        return False
    others_a = [n for k, n in enumerate(nl.parts[pa].nets) if k != ka]
    others_b = [n for k, n in enumerate(nl.parts[pb].nets) if k != kb]
    return nb not in others_a and na not in others_b


def _block_pins(nl: Netlist, b: int, exclude: Sequence[int]) -> List[Tuple[int, int]]:
    """Pins of the block's R/C/L parts, except those on the nets in ``exclude``."""
    return [
        (p, k)
        for p in nl.blocks[b].parts
        if is_two_pin_swappable(nl.parts[p])
        for k, n in enumerate(nl.parts[p].nets)
        if n not in exclude
    ]


def _io_nets(nl: Netlist, b: int) -> List[int]:
    return [nl.blocks[b].nets[p] for p in ("IN", "OUT") if p in nl.blocks[b].nets]


def _order(rng: np.random.Generator, items: List) -> List:
    return [items[i] for i in rng.permutation(len(items))] if items else []


def _component(nl: Netlist, kind: str, rng: np.random.Generator, margin: int) -> Optional[Defect]:
    if kind == "value_out_of_range":
        cands = [i for i, p in enumerate(nl.parts) if p.kind in RATED]
        i = int(_order(rng, cands)[0])
        part = nl.parts[i]
        lo, hi = RATED[part.kind]
        below = rng.random() < 0.5
        exp = (lo - margin - 1 - int(rng.integers(0, 2))) if below else (hi + margin + int(rng.integers(0, 2)))
        part.value = (exp, int(rng.integers(0, 12)))
        assert not in_rated_range(part.kind, part.value)
        return Defect(
            "component", kind, f"{part.slot} ({part.kind}) of block {part.block}: value out of range", [i], []
        )
    if kind == "wrong_type":
        cands = [i for i, p in enumerate(nl.parts) if p.block >= 0 and p.kind in NON_POLAR]
        for i in _order(rng, cands):
            part = nl.parts[i]
            for new in _order(rng, [t for t in NON_POLAR if t != part.kind]):
                old = (part.kind, part.value)
                part.kind, part.value = new, _draw_value(rng, RATED[new])
                if not nl.block_is_design(part.block, observed=True):  # visible: matches no design
                    return Defect(
                        "component",
                        kind,
                        f"{part.slot} of block {part.block}: a {new} where the design needs a {part.nominal}",
                        [i],
                        [],
                    )
                part.kind, part.value = old
        return None
    if kind == "reversed_polarity":
        cands = [i for i, p in enumerate(nl.parts) if p.block >= 0 and p.kind in POLAR]
        if not cands:
            return None
        i = int(_order(rng, cands)[0])
        nl.parts[i].reversed = True
        part = nl.parts[i]
        return Defect("component", kind, f"{part.slot} ({part.kind}) of block {part.block}: polarity reversed", [i], [])
    raise ValueError(kind)


def _block(nl: Netlist, kind: str, rng: np.random.Generator) -> Optional[Defect]:
    blocks = _order(rng, list(range(len(nl.blocks))))
    for b in blocks:
        block, t = nl.blocks[b], TEMPLATES[nl.blocks[b].template]
        io = _io_nets(nl, b)
        pairs: List[Tuple[Tuple[int, int], Tuple[int, int]]] = []
        if kind == "missing_feedback" and t.feedback is not None and nl.has_feedback(b):
            out, inp = block.nets[t.feedback[0]], block.nets[t.feedback[1]]
            fb = [
                (p, k)
                for p in block.parts
                if is_two_pin_swappable(nl.parts[p]) and sorted(nl.parts[p].nets) == sorted((out, inp))
                for k in range(2)
                if nl.parts[p].nets[k] == out
            ]
            pairs = [(f, g) for f in fb for g in _block_pins(nl, b, io + [out, inp])]
        elif kind == "missing_bypass" and t.bypass and nl.has_bypass(b):
            vcc, gnd = block.nets["VCC"], block.nets["GND"]
            byp = [
                (p, k)
                for p in block.parts
                if nl.parts[p].nominal == "C" and sorted(nl.parts[p].nets) == sorted((vcc, gnd))
                for k in range(2)
                if nl.parts[p].nets[k] == vcc
            ]
            ports = list(block.port_names())
            pairs = [(c, g) for c in byp for g in _block_pins(nl, b, ports)]  # partners on internal nets
        elif kind == "miswired":
            pins = _block_pins(nl, b, io)
            pairs = [(pins[i], pins[j]) for i in range(len(pins)) for j in range(i + 1, len(pins))]
            amp = [p for p in block.parts if nl.parts[p].kind in ("OPAMP", "CMP")]
            pairs += [((p, 0), (p, 1)) for p in amp]  # inputs swapped: + and - exchanged
        for x, y in _order(rng, pairs):
            if x[0] != y[0] and not _swap_ok(nl, x, y):
                continue
            _swap_pins(nl, x, y)
            broken = {"missing_feedback": not nl.has_feedback(b), "missing_bypass": not nl.has_bypass(b)}
            if kind == "miswired":
                good = not any(broken.values()) and not nl.block_is_design(b)
            else:
                good = (
                    broken[kind]
                    and not broken[("missing_bypass" if kind == "missing_feedback" else "missing_feedback")]
                )
            if good and not nl.block_is_design(b, observed=True):
                text = {
                    "missing_feedback": "no feedback path",
                    "missing_bypass": "no supply bypass",
                    "miswired": "wiring matches no design",
                }[kind]
                return Defect(
                    "block",
                    kind,
                    f"block {b} ({block.template}): {text}",
                    [x[0], y[0]],
                    [nl.parts[x[0]].nets[x[1]], nl.parts[y[0]].nets[y[1]]],
                )
            _swap_pins(nl, x, y)
    return None


def _subsystem(nl: Netlist, kind: str, rng: np.random.Generator) -> Optional[Defect]:
    if kind == "unpowered":
        s = int(rng.integers(len(nl.subsystems)))
        sub = nl.subsystems[s]
        bead = nl.parts[sub.bead]
        k = bead.nets.index(sub.source)
        bead.nets[k] = nl.ground
        return Defect(
            "subsystem",
            kind,
            f"subsystem {s} ({sub.kind}): its supply bead is fed from ground",
            [sub.bead],
            [sub.rail, sub.source, nl.ground],
        )
    if kind == "missing_decoupling":
        s = int(rng.integers(len(nl.subsystems)))
        sub = nl.subsystems[s]
        b = next(b for b in sub.blocks if nl.blocks[b].template == "decoupling")
        block = nl.blocks[b]
        for p in block.parts:
            part = nl.parts[p]
            part.nets = [sub.source if n == sub.rail else n for n in part.nets]
        block.nets["VCC"] = sub.source
        return Defect(
            "subsystem",
            kind,
            f"subsystem {s} ({sub.kind}): its decoupling network sits on the supply before its bead, not on its rail",
            list(block.parts),
            [sub.rail, sub.source],
        )
    pins = nl.signal_pins()
    out_pins = [(b, nl.blocks[b].out_pin) for b in range(len(nl.blocks)) if nl.blocks[b].out_pin]
    in_pins = [(b, nl.blocks[b].in_pin) for b in range(len(nl.blocks)) if nl.blocks[b].in_pin]
    pairs = []
    if kind == "output_contention":
        pairs = [(("OUT", b1, o), ("IN", b2, i)) for b1, o in out_pins for b2, i in in_pins if b1 != b2]
    elif kind == "interface_mismatch":

        def interface(pin) -> bool:
            net = nl.parts[pin[0]].nets[pin[1]]
            drivers, _ = pins[net]
            return (
                len(drivers) == 1
                and drivers[0][1] >= 0
                and nl.blocks[drivers[0][1]].subsystem != nl.parts[pin[0]].subsystem
            )

        cands = [(b, i) for b, i in in_pins if interface(i)]
        pairs = [
            (("IN", b1, i1), ("IN", b2, i2))
            for b1, i1 in cands
            for b2, i2 in cands
            if TEMPLATES[nl.blocks[b1].template].accepts == "any"
            and TEMPLATES[nl.blocks[b2].template].accepts == "analog"
        ]
    for (ra, ba, pa), (rb, bb, pb) in _order(rng, pairs):
        if not _swap_ok(nl, pa, pb):
            continue
        na, nb = nl.parts[pa[0]].nets[pa[1]], nl.parts[pb[0]].nets[pb[1]]
        _swap_pins(nl, pa, pb)
        nl.blocks[ba].nets[ra], nl.blocks[bb].nets[rb] = nb, na
        found = faults(nl)
        if (
            found["subsystem"]
            and not found["block"]
            and (kind != "interface_mismatch" or all("logic output" in f for f in found["subsystem"]))
        ):
            what = (
                "two outputs drive one net"
                if kind == "output_contention"
                else "a logic output drives an analog-only input"
            )
            return Defect("subsystem", kind, f"blocks {ba} and {bb}: {what}", [pa[0], pb[0]], [na, nb])
        _swap_pins(nl, pa, pb)
        nl.blocks[ba].nets[ra], nl.blocks[bb].nets[rb] = na, nb
    return None


def inject_defect(
    nl: Netlist, level: str, rng: np.random.Generator, *, kinds: Optional[Sequence[str]] = None, value_margin: int = 1
) -> Defect:
    """Put one defect of ``level`` into ``nl`` (in place): a kind drawn uniformly among those of
    ``kinds`` (default: all of the level) that this circuit allows."""
    if level not in LEVELS:
        raise ValueError(f"defect level must be one of {', '.join(LEVELS)}, got {level!r}")
    options = [k for k in DEFECT_KINDS[level] if kinds is None or k in kinds]
    for kind in _order(rng, options):  # a kind that does not fit leaves the netlist as it was
        if level == "component":
            defect = _component(nl, kind, rng, value_margin)
        elif level == "block":
            defect = _block(nl, kind, rng)
        else:
            defect = _subsystem(nl, kind, rng)
        if defect is not None:
            return defect
    raise RuntimeError(f"no {level} defect of kinds {options} fits this circuit")


# -- the graph -----------------------------------------------------------------------------------
def to_data(nl: Netlist, rng: np.random.Generator) -> Tuple[Data, np.ndarray]:
    """The component-net graph of a netlist, its nodes in a random order drawn from ``rng``;
    and that order (``perm[i]``: the node id of netlist node ``i``: parts, then nets)."""
    num_parts, num_nets = len(nl.parts), len(nl.nets)
    n = num_parts + num_nets
    perm = rng.permutation(n)  # new id of old node i
    x = np.zeros((n, NUM_FEATURES), dtype=np.float32)
    levels = np.full((n, 2), -1, dtype=np.int64)
    src, dst, role = [], [], []
    counts = np.zeros((num_nets, len(ROLES)), dtype=np.int64)
    role_id = {r: i for i, r in enumerate(ROLES)}
    for i, part in enumerate(nl.parts):
        x[i, NODE_KINDS.index(part.kind)] = 1.0
        x[i, len(NODE_KINDS)] = value_feature(part.kind, part.value)
        levels[i] = (part.block, part.subsystem)
        for net, r in zip(part.nets, part.roles()):
            src.append(i)
            dst.append(num_parts + net)
            role.append(role_id[r])
            counts[net, role_id[r]] += 1
    for j, net in enumerate(nl.nets):
        i = num_parts + j
        x[i, 0] = 1.0
        x[i, len(NODE_KINDS) + 1] = float(net.kind == "ground")
        x[i, len(NODE_KINDS) + 2] = float(net.kind == "power")
        x[i, len(NODE_KINDS) + 3 :] = np.log1p(counts[j]).astype(np.float32)
        levels[i] = (net.block, net.subsystem)
    src_t = torch.from_numpy(perm[np.asarray(src, dtype=np.int64)])
    dst_t = torch.from_numpy(perm[np.asarray(dst, dtype=np.int64)])
    role_t = torch.as_tensor(role, dtype=torch.long)
    edge_index = torch.cat([torch.stack([src_t, dst_t]), torch.stack([dst_t, src_t])], dim=1)
    edge_attr = torch.nn.functional.one_hot(torch.cat([role_t, role_t]), len(ROLES)).to(torch.float32)
    order = torch.argsort(edge_index[0] * n + edge_index[1], stable=True)
    x_out = np.empty_like(x)
    x_out[perm] = x
    lv = np.empty_like(levels)
    lv[perm] = levels
    return Data(
        x=torch.from_numpy(x_out),
        edge_index=edge_index[:, order],
        edge_attr=edge_attr[order],
        level_labels=torch.from_numpy(lv),
        num_nodes=n,
    ), perm


def check_levels(found: Dict[str, List[str]], level: Optional[str]) -> None:
    """The certificate of a label: only ``level``'s rule is broken (none for a passing circuit)."""
    broken = [lv for lv in LEVELS if found[lv]]
    if broken != ([level] if level else []):
        raise AssertionError(f"circuit with defect level {level}: rules broken at {broken}: {found}")


__all__ = [
    "build_circuit",
    "inject_defect",
    "to_data",
    "Defect",
    "DEFECT_KINDS",
    "ALL_KINDS",
    "NUM_FEATURES",
    "FEATURE_NAMES",
    "NODE_KINDS",
    "MIN_COMPONENTS",
    "check_levels",
    "faults",
]
