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
stored), its *pin role* one-hot in ``edge_attr``
(:data:`~hipool.data.netlists.analog_records.ANALOG_ROLES`).  Nets are nodes because a net
is a hyperedge (a supply rail touches hundreds of pins): joining the devices on a net
pairwise would make every rail a clique.  Devices that refer to other devices
rather than nets get an edge of role ``coupling`` to them: a mutual inductance ``K`` to its
inductors, a current-controlled source ``F``/``H`` and a current-controlled switch ``W`` to
the voltage source that senses their current.

The vocabulary is SPICE's, not the synthetic generator's (whose parts are board-level:
op-amps, regulators, a connector): :data:`~hipool.data.netlists.analog_records.ANALOG_KINDS`
is ``NET`` then the device kinds, a transistor split by polarity where the netlist says it
(the ``.model`` card's type, else the model's name: ``nmos``/``nch``/``nfet``/``n…`` is N,
``pmos``/``pch``/``pfet``/``p…`` P, ``npn``/``pnp``; ``MOS``/``BJT``/``JFET`` where neither
tells).  Pins and their roles (:data:`~hipool.data.netlists.analog_records.PINS`): ``R C L``
passive; ``D`` pos (anode), neg (cathode); bipolar collector, base, emitter, substrate; MOS
drain, gate, source, bulk; JFET and MESFET drain, gate, source; ``V I B`` pos, neg; ``E G``
out_pos, out_neg, ctrl_pos, ctrl_neg; ``F H`` out_pos, out_neg; switches ``S`` out_pos,
out_neg, ctrl_pos, ctrl_neg and ``W`` out_pos, out_neg; transmission lines (``T O U``)
passive.  Pins beyond those are ``passive`` (a MOS model's extra body or thermal nodes), for
``E``/``G`` alternately ``ctrl_pos``/``ctrl_neg`` (the controlling pairs of ``poly(n)``, at
most 20).

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

**Where it lives.**  The vocabulary and the records
(:data:`~hipool.data.netlists.analog_records.DEVICE_KINDS`,
:data:`~hipool.data.netlists.analog_records.PINS`, :class:`Design`, :class:`AnalogNetlist`,
...) are defined in :mod:`hipool.data.netlists.analog_records`, the expansion of
subcircuits in :mod:`hipool.data.netlists.analog_flatten`; this module holds the graph
(:func:`to_data`), the limits and :func:`flatten`, and re-exports them.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import torch
from torch_geometric.data import Data

from .analog_flatten import flatten_design
from .analog_records import (
    ANALOG_KINDS,
    ANALOG_ROLES,
    DEVICE_KINDS,
    LINKS,  # noqa: F401 (re-exported: analog.LINKS)
    PINS,
    VALUE_KEYS,  # noqa: F401 (re-exported: analog.VALUE_KEYS)
    AnalogNetlist,
    Design,
    Device,
    Element,
    Subckt,
    device_kind,
    is_ground,
    is_power,
)
from .gates import NetlistError, level_labels

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


def flatten(design: Design) -> AnalogNetlist:
    """The devices of ``design`` with every subcircuit instance expanded (see the module
    docstring); a :class:`~hipool.data.netlists.gates.NetlistError` naming the file and line
    for an undefined subcircuit, a recursive instantiation (the chain), a pin count that does
    not match the subcircuit's ports or the device's kind, a reference to a device that is
    not defined, or a design of more than :data:`MAX_DEVICES` devices."""
    # the limits are read here, when called, so that a caller (a test) may lower them
    return flatten_design(design, max_devices=MAX_DEVICES, max_depth=MAX_DEPTH)


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
