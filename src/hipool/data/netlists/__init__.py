"""Real netlists as graphs: one reader per format, one representation per level of design.

Gate-level (logic) netlists become the graph of :mod:`hipool.data.netlists.gates`
(drivers as nodes, wires as edges in both directions with their pin and direction):

* ISCAS ``.bench`` (:mod:`hipool.data.netlists.bench`);
* AIGER, ``.aag`` (ASCII) and ``.aig`` (binary) (:mod:`hipool.data.netlists.aiger`);
* BLIF, its ``.subckt`` instances flattened into ``level_labels``
  (:mod:`hipool.data.netlists.blif`, covers as gates in :mod:`hipool.data.netlists.covers`).

A file or a folder of them (with a ``labels.csv``) loads as a dataset
(:mod:`hipool.data.netlists.dataset`; ``load_dataset(PATH)``, ``--dataset PATH``).

Still to come (issue 19): SPICE/CDL and Spectre (analog, the synthetic circuits'
component-net representation) and ``hipool predict``.  Reading a netlist never runs anything from it.
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
