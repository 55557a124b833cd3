"""Real netlists as graphs: one reader per format, one representation per level of design.

Gate-level (logic) netlists become the graph of :mod:`hipool.data.netlists.gates`
(drivers as nodes, wires as edges in both directions with their pin and direction):

* ISCAS ``.bench`` (:mod:`hipool.data.netlists.bench`);
* AIGER, ``.aag`` (ASCII) and ``.aig`` (binary) (:mod:`hipool.data.netlists.aiger`);
* BLIF, its ``.subckt`` instances flattened into ``level_labels``
  (:mod:`hipool.data.netlists.blif`, covers as gates in :mod:`hipool.data.netlists.covers`).

Analog netlists become the device-net graph of :mod:`hipool.data.netlists.analog` (the
synthetic circuits' representation: devices and nets as nodes, pins as edges with their
role), their subcircuit instances flattened into ``level_labels``:

* SPICE, ngspice, HSPICE-style and CDL (:mod:`hipool.data.netlists.spice`);
* Spectre (:mod:`hipool.data.netlists.spectre`), ``simulator lang=spice`` sections included;
* values and parameter expressions evaluated without ``eval`` (:mod:`hipool.data.netlists.values`).

A file or a folder of them (with a ``labels.csv``) loads as a dataset
(:mod:`hipool.data.netlists.dataset`; ``load_dataset(PATH)``, ``--dataset PATH``; the
analog endings ``.sp .cir .scs ...`` pick SPICE or Spectre by the content), and two real
analog benchmarks load by name, ``align_ota`` and ``analoggenie``
(:mod:`hipool.data.netlists.benchmarks`).  ``hipool predict`` classifies new netlists with a
trained model (:mod:`hipool.predict`).  Reading a netlist never runs anything from it.
"""

from .gates import EDGE_FEATURES, GATE_FEATURE_NAMES, GATE_KINDS, NUM_GATE_FEATURES, GateNetlist, NetlistError, to_data

__all__ = [
    "EDGE_FEATURES",
    "GATE_FEATURE_NAMES",
    "GATE_KINDS",
    "NUM_GATE_FEATURES",
    "GateNetlist",
    "NetlistError",
    "to_data",
]
