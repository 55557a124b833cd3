"""Synthetic hierarchical circuits that pass or fail quality checks, with defects at every level.

The seeds' enterprise example: a manufacturer classifies circuit designs as passing or
failing.  Every circuit has four levels:

* level 0 - **components**: resistors ``R``, ceramic capacitors ``C``, electrolytic
  capacitors ``CE``, inductors/beads ``L``, diodes ``D``, NPN transistors ``Q``, op-amps,
  comparators, linear regulators and the board connector ``J``
  (:mod:`~hipool.data.circuits.parts`), each with a value (E12, log-scaled) and pin roles;
* level 1 - **blocks** from a library of eleven templates with 2-5 variations each (33 designs)
  (:mod:`~hipool.data.circuits.library`): inverting and non-inverting amplifiers, RC
  filters (low/high/band-pass, 1st/2nd order), LC filters, attenuator dividers, reference
  dividers, common-emitter stages, relaxation oscillators, comparators with hysteresis,
  linear regulators with their capacitors, and decoupling networks;
* level 2 - **subsystems**: a *power* subsystem (regulators fed from the board supply) and
  *signal* (analog processing), *control* (conditioning then a comparator, or an
  oscillator: logic out) and *driver* (takes logic levels) subsystems.  Each has its own
  supply rail fed through a ferrite bead from a regulator output and a decoupling network;
  its blocks form a signal chain (one block's ``OUT`` is the next one's ``IN``);
* level 3 - the **circuit**: channels of 2-4 subsystems in signal order
  (e.g. signal → control → driver), joined by interface nets, all on one ground, with a
  connector for the supply, the channel inputs and outputs.

Sizes: the number of components is drawn log-uniformly in ``[min_components,
max_components]`` (default 100-2000); the number of subsystems grows as its square root
(3 to 17 with the defaults) and blocks fill the rest (17 to 355).

Graph representation
--------------------
**Component nodes and net nodes** (the star expansion of the netlist hypergraph): every
component is a node, every net is a node, and every pin is an undirected edge between its
component and its net, with the pin's role as ``edge_attr`` (one-hot over
:data:`~hipool.data.circuits.parts.ROLES`).  Why: a net is a hyperedge - a supply rail
or the ground touches hundreds of pins - so joining components that share a net would
turn every rail into a clique (quadratic edges, and degree statistics dominated by the
rails); the star expansion stays linear in pins and makes nets first-class nodes, which
is where several defects live (two outputs on one net, an unpowered rail).  Because most
convolutions ignore edge features, each net node also carries how many pins of each role
touch it.  Node features ``x`` (:data:`NUM_FEATURES` = 26 columns, float32,
:data:`FEATURE_NAMES`): node kind one-hot (net or a component type), the value as
``(log10 v - lo) / (hi - lo)`` over the type's rated range (in ``[0, 1)`` when valid),
``is_ground``, ``is_power`` (a power net: the designer names those), and for nets
``log(1 + count)`` of pins of each role.

Each :class:`~torch_geometric.data.Data` has ``x``, ``edge_index`` (both directions),
``edge_attr``, ``y`` (0 pass, 1 fail), ``level_labels`` (int64 ``[N, 2]``: column 0 the
node's block, column 1 its subsystem, ``-1`` where it has none - beads and rails belong to
a subsystem but no block; ground, the board supply and interface nets to neither),
``defect_level`` (0 none, 1 component, 2 block, 3 subsystem), ``defect_kind`` (index into
:data:`DEFECT_KINDS`, -1 none) and ``defect_mask`` (bool ``[N]``: the nodes the defect
touched).  Node ids are shuffled.

The rules: what makes a circuit fail
------------------------------------
A circuit passes iff it breaks none of these (:func:`~hipool.data.circuits.netlist.faults`
checks them; every generated circuit is certified to break exactly the rules of its
defect's level, or none):

* **component**: every component is of the type its design position needs, its value is
  inside its type's rated range (``R`` 1 Ω-10 MΩ, ``C`` 1 pF-10 µF, ``CE`` 0.1 µF-10 mF,
  ``L`` 10 nH-10 mH), and polar parts (``CE``, ``D``) are mounted the right way round.
  Defects: ``value_out_of_range`` (``value_margin`` + 1 to 2 decades outside),
  ``wrong_type`` (an ``R``/``C``/``L`` swapped for another of the three, with a valid
  value, such that the block's visible netlist matches no design), ``reversed_polarity``.
* **block** (every component valid): the block's wiring is one of the library's designs
  (up to renaming internal nets), and in particular amplifiers keep an ``R``/``C`` from
  the op-amp output to its inverting input (oscillators and comparators from output to
  the non-inverting input), and active blocks keep a bypass capacitor from ``VCC`` to
  ``GND``.  Defects: ``missing_feedback``, ``missing_bypass``, ``miswired`` (two pins of
  the block exchanged, or the op-amp's inputs exchanged, so that the wiring matches no
  design while feedback and bypass are intact).
* **subsystem** (every block valid): each subsystem's rail is fed through its bead from a
  supply (the board supply or a regulator output); each has a decoupling network on its
  own rail; every block is supplied from its subsystem's rail; every signal net between
  blocks has exactly one output driving it and a load; no logic output drives an input
  that takes only analog levels (amplifiers, comparators).  Defects: ``unpowered`` (the
  bead fed from ground), ``output_contention`` (a block's output moved onto a net another
  output drives; the input that was there takes its place), ``interface_mismatch`` (two
  loads of interface nets exchanged so that a logic output drives an analog-only input of
  another subsystem), ``missing_decoupling`` (the decoupling network placed on the supply
  before the bead instead of on the subsystem's rail).

**Size and degree statistics carry no label.**  A circuit's base design is drawn from its
seed alone; the label only decides what happens to it afterwards, and every defect
*moves* pins without adding or removing any, so a failing circuit has exactly the
components, nets and edges of its base.  The component-, block-, ``output_contention`` and
``interface_mismatch`` defects exchange two pins and keep every node's degree;
``unpowered`` and ``missing_decoupling`` move pins between two power nets (ground, a
rail), whose degrees are large and vary widely between circuits anyway.  The test suite
shows a classifier of sizes and degree histograms stays near chance.

Determinism: everything is drawn from NumPy's PCG64 seeded by ``(seed, i)``, values are
integers (E12 index, exponent) and their logarithms a fixed table, so a seed gives the
same dataset on every machine (tested with a hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ...checks import is_number
from ..base import check_int
from .generate import (
    ALL_KINDS,
    DEFECT_KINDS,
    FEATURE_NAMES,
    MIN_COMPONENTS,
    NODE_KINDS,
    NUM_FEATURES,
    Defect,
    build_circuit,
    check_levels,
    inject_defect,
    to_data,
)
from .library import LIBRARY, TEMPLATES
from .netlist import LEVELS, Netlist, faults
from .parts import ROLES, TYPES

#: Graph classes.
CLASS_NAMES = ("pass", "fail")
NUM_CLASSES = 2
#: Values of ``data.defect_level``.
DEFECT_LEVEL_NAMES = ("pass",) + LEVELS


@dataclass
class Circuit:
    """One generated circuit: its netlist, its graph and its defect (``None``: it passes)."""

    netlist: Netlist
    data: Data
    defect: Optional[Defect]


def _check_sizes(min_components, max_components):
    lo = check_int("min_components", min_components, MIN_COMPONENTS)
    hi = check_int("max_components", max_components, MIN_COMPONENTS)
    if hi < lo + 10:
        raise ValueError(
            f"max_components must be >= min_components + 10 (blocks come in sizes of 2-9 parts), "
            f"got min_components={lo}, max_components={hi}"
        )
    return lo, hi


def _check_kinds(levels: Sequence[str], kinds: Optional[Sequence[str]]) -> None:
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise ValueError(f"defect_levels must be a non-empty subset of {', '.join(LEVELS)}, got {list(levels)}")
    if kinds is not None:
        bad = [k for k in kinds if k not in ALL_KINDS]
        if bad:
            raise ValueError(f"unknown defect kind(s) {', '.join(map(repr, bad))}; choose from {', '.join(ALL_KINDS)}")
        empty = [lv for lv in levels if not set(DEFECT_KINDS[lv]) & set(kinds)]
        if empty:
            raise ValueError(f"defect_kinds leaves no kind for level(s) {', '.join(empty)}")


def make_circuit(
    seed: int,
    defect: Optional[str] = None,
    *,
    kinds: Optional[Sequence[str]] = None,
    min_components: int = 100,
    max_components: int = 2000,
    value_margin: int = 1,
    certify: bool = True,
) -> Circuit:
    """One circuit from ``seed``; with ``defect`` (a level: ``component``, ``block`` or
    ``subsystem``) one defect of that level, of a kind drawn among ``kinds`` (default all).

    The base design and the node order depend on ``seed`` only, so the same seed with and
    without a defect gives the same components, nets and edges.  ``certify`` checks the
    result against the rules (only the defect's level broken).
    """
    seed = check_int("seed", seed, 0)
    min_components, max_components = _check_sizes(min_components, max_components)
    value_margin = check_int("value_margin", value_margin, 0)
    if defect is not None:
        _check_kinds([defect], kinds)
    nl = build_circuit(np.random.default_rng([seed, 0]), min_components, max_components)
    found = None
    if defect is not None:
        found = inject_defect(nl, defect, np.random.default_rng([seed, 1]), kinds=kinds, value_margin=value_margin)
    if certify:
        check_levels(faults(nl), defect)
    data, perm = to_data(nl, np.random.default_rng([seed, 2]))
    mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    if found is not None:
        touched = np.asarray(found.parts + [len(nl.parts) + n for n in found.nets], dtype=np.int64)
        mask[torch.from_numpy(perm[touched])] = True
    data.y = torch.tensor([int(defect is not None)], dtype=torch.long)
    data.defect_level = torch.tensor([0 if defect is None else 1 + LEVELS.index(defect)], dtype=torch.long)
    data.defect_kind = torch.tensor([-1 if found is None else ALL_KINDS.index(found.kind)], dtype=torch.long)
    data.defect_mask = mask
    return Circuit(nl, data, found)


def check_options(
    *,
    num_circuits: int,
    seed: int,
    min_components: int,
    max_components: int,
    fail_fraction: float,
    defect_levels: Sequence[str],
    defect_kinds: Optional[Sequence[str]],
    value_margin: int,
) -> None:
    """The options of :func:`make_circuit_dataset`, checked: a ``ValueError`` naming the bad one."""
    check_int("num_circuits", num_circuits, 1)
    check_int("seed", seed, 0)
    _check_sizes(min_components, max_components)
    check_int("value_margin", value_margin, 0)
    if not is_number(fail_fraction) or not 0 <= fail_fraction <= 1:
        raise ValueError(f"fail_fraction must be in [0, 1], got {fail_fraction!r}")
    _check_kinds(list(defect_levels), defect_kinds)


def make_circuit_dataset(
    num_circuits: int = 2000,
    seed: int = 0,
    *,
    min_components: int = 100,
    max_components: int = 2000,
    fail_fraction: float = 0.5,
    defect_levels: Sequence[str] = LEVELS,
    defect_kinds: Optional[Sequence[str]] = None,
    value_margin: int = 1,
    certify: bool = True,
    progress: bool = False,
) -> List[Data]:
    """``num_circuits`` circuits: ``round(num_circuits * fail_fraction)`` fail, their defect
    levels cycling through ``defect_levels`` (balanced), in an order shuffled by ``seed``.

    Circuit ``i`` is :func:`make_circuit` with a seed derived from ``(seed, i)``.  The
    difficulty knobs: ``min_components``/``max_components`` (size), ``value_margin``
    (decades beyond the rated range of an out-of-range value: 0 is just outside),
    ``defect_levels`` and ``defect_kinds`` (which defects occur).  ``certify`` (default on,
    under a tenth of the time) checks every circuit against the rules.
    """
    check_options(
        num_circuits=num_circuits,
        seed=seed,
        min_components=min_components,
        max_components=max_components,
        fail_fraction=fail_fraction,
        defect_levels=defect_levels,
        defect_kinds=defect_kinds,
        value_margin=value_margin,
    )
    levels = list(defect_levels)
    num_fail = int(round(num_circuits * fail_fraction))
    plan: List[Optional[str]] = [levels[i % len(levels)] for i in range(num_fail)]
    plan += [None] * (num_circuits - num_fail)
    plan = [plan[i] for i in np.random.default_rng([seed, 2]).permutation(num_circuits)]
    graphs = []
    items = range(num_circuits)
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="circuits", unit="circuit")
    for i in items:
        circuit_seed = int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint32)[0])
        graphs.append(
            make_circuit(
                circuit_seed,
                plan[i],
                kinds=defect_kinds,
                min_components=min_components,
                max_components=max_components,
                value_margin=value_margin,
                certify=certify,
            ).data
        )
    return graphs


__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "NUM_FEATURES",
    "FEATURE_NAMES",
    "NODE_KINDS",
    "DEFECT_LEVEL_NAMES",
    "DEFECT_KINDS",
    "ALL_KINDS",
    "LEVELS",
    "LIBRARY",
    "TEMPLATES",
    "ROLES",
    "TYPES",
    "MIN_COMPONENTS",
    "Circuit",
    "Defect",
    "Netlist",
    "make_circuit",
    "make_circuit_dataset",
    "check_options",
    "faults",
]
