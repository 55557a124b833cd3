"""The on-disk form of the ``gates`` benchmark (:mod:`hipool.data.netlists.gatebench`).

Plain tensors, lists of strings and dicts of ints in one ``torch.save`` file, read with
``weights_only=True`` after the zip checksums (:func:`~hipool.data.base.load_cache`: the file
runs no code, and a damaged or tampered file is deleted with a warning and built again).  Per
node the kind (an index into :data:`~hipool.data.netlists.gates.GATE_KINDS`), ``level_labels``
and ``mutation_mask``; per wire (the forward direction only) its driver and gate, the pin
column and the inversion; per graph the label, mutation kind, exhaustive flag, source circuit
and ``graph_id``.  ``x``, ``edge_attr``, the backward edges and ``defect_mask`` are rebuilt as
:func:`~hipool.data.netlists.gates.to_data` and :func:`~hipool.data.netlists.gatebench_build.item_graph`
make them (tested: a graph read back equals the graph built).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

import torch
from torch_geometric.data import Data

from ..base import check_plain_tensor
from .gatebench_build import CLASS_NAMES, STAT_KEYS
from .gatebench_mutate import MUTATION_KINDS
from .gates import EDGE_FEATURES, GATE_KINDS, NUM_GATE_FEATURES

#: Bump when a change to the benchmark changes its graphs for the same options and files.
FORMAT_VERSION = 2
#: Longest string the cache may hold (a graph id, a source name, a note).
MAX_TEXT = 2000
_TENSORS = {
    "kind": (torch.uint8, 1),
    "level_labels": (torch.int64, 2),
    "mutation_mask": (torch.bool, 1),
    "edge_index": (torch.int32, 2),
    "pin": (torch.uint8, 1),
    "inverted": (torch.bool, 1),
    "y": (torch.int64, 1),
    "mutation_kind": (torch.int64, 1),
    "exhaustive": (torch.bool, 1),
    "source_circuit": (torch.int64, 1),
    "num_nodes": (torch.int64, 1),
    "num_edges": (torch.int64, 1),
}
_OTHER = ("version", "graph_id", "sources", "stats", "notes", "num_cones")


def pack(
    graphs: List[Data], sources: List[str], stats: Dict[str, Dict[str, int]], notes: List[str], num_cones: int
) -> Dict[str, Any]:
    """The graphs and what the build found, as the cache holds them."""
    fields: Dict[str, List[torch.Tensor]] = {k: [] for k in _TENSORS}
    for g in graphs:
        e = g.edge_index.size(1) // 2  # forward edges first (to_data)
        attr = g.edge_attr[:e]
        fields["kind"].append(g.x[:, : len(GATE_KINDS)].argmax(1).to(torch.uint8))
        fields["level_labels"].append(g.level_labels)
        fields["mutation_mask"].append(g.mutation_mask)
        fields["edge_index"].append(g.edge_index[:, :e].to(torch.int32))
        fields["pin"].append(attr[:, 3:].argmax(1).to(torch.uint8))
        fields["inverted"].append(attr[:, 2] > 0)
        for k in ("y", "mutation_kind", "exhaustive", "source_circuit"):
            fields[k].append(getattr(g, k).view(-1))
        fields["num_nodes"].append(torch.tensor([g.num_nodes]))
        fields["num_edges"].append(torch.tensor([e]))
    out: Dict[str, Any] = {
        k: torch.cat(v, dim=1 if k == "edge_index" else 0).contiguous() if v else torch.empty(0)
        for k, v in fields.items()
    }
    out.update(
        version=FORMAT_VERSION,
        graph_id=[str(g.graph_id) for g in graphs],
        sources=list(sources),
        stats={k: dict(v) for k, v in stats.items()},
        notes=list(notes),
        num_cones=int(num_cones),
    )
    return out


def _check_text(key: str, value: Any, count: int = -1) -> None:
    if not isinstance(value, list) or (count >= 0 and len(value) != count):
        raise ValueError(f"{key} is not a list of {count if count >= 0 else 'some'} strings")
    if not all(isinstance(s, str) and len(s) <= MAX_TEXT for s in value):
        raise ValueError(f"{key} holds something other than a string of at most {MAX_TEXT} characters")


def check(packed: Any, num_graphs: int) -> None:
    """Raise ``ValueError`` unless ``packed`` is what :func:`pack` makes of ``num_graphs`` graphs
    (``-1``: any number)."""
    if not isinstance(packed, dict) or set(packed) != set(_TENSORS) | set(_OTHER):
        raise ValueError("not a hipool gates cache")
    if packed["version"] != FORMAT_VERSION:
        raise ValueError(f"format version {packed['version']!r}, not {FORMAT_VERSION}")
    for key, (dtype, dim) in _TENSORS.items():
        check_plain_tensor(key, packed[key], dtype, dim)
    nodes, edges, ei = packed["num_nodes"], packed["num_edges"], packed["edge_index"]
    g = nodes.numel()
    n, e = packed["kind"].numel(), ei.size(-1)
    if num_graphs >= 0 and g != num_graphs:
        raise ValueError(f"{g} graphs, not {num_graphs}")
    if not (
        all(packed[k].numel() == g for k in ("y", "mutation_kind", "exhaustive", "source_circuit", "num_edges"))
        and bool((nodes >= 1).all())
        and bool((edges >= 0).all())
        and int(nodes.sum()) == n
        and int(edges.sum()) == e
        and ei.size(0) == 2
        and packed["level_labels"].shape == (n, 2)
        and packed["mutation_mask"].numel() == n
        and packed["pin"].numel() == e
        and packed["inverted"].numel() == e
    ):
        raise ValueError("sizes do not agree")
    if e and not bool(((ei >= 0) & (ei < nodes.repeat_interleave(edges).to(torch.int32))).all()):
        raise ValueError("a node id out of range")
    if n and int(packed["kind"].max()) >= len(GATE_KINDS):
        raise ValueError("a gate kind out of range")
    if e and int(packed["pin"].max()) > 3:
        raise ValueError("a pin out of range")
    if bool((packed["level_labels"] < -1).any()) or (n and bool((packed["level_labels"] >= nodes.max()).any())):
        raise ValueError("a group id out of range")
    if not bool(((packed["y"] >= 0) & (packed["y"] < len(CLASS_NAMES))).all()):
        raise ValueError("a class out of range")
    if not bool(((packed["mutation_kind"] >= 0) & (packed["mutation_kind"] < len(MUTATION_KINDS))).all()):
        raise ValueError("a mutation kind out of range")
    _check_text("graph_id", packed["graph_id"], g)
    _check_text("sources", packed["sources"])
    _check_text("notes", packed["notes"])
    if g and not bool(((packed["source_circuit"] >= 0) & (packed["source_circuit"] < len(packed["sources"]))).all()):
        raise ValueError("a source circuit out of range")
    stats = packed["stats"]
    if not isinstance(stats, dict) or not set(stats) <= set(MUTATION_KINDS):
        raise ValueError("stats are not per mutation kind")
    for v in stats.values():
        if not isinstance(v, dict) or set(v) != set(STAT_KEYS):
            raise ValueError("stats of a kind lack a count")
        if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 2**62 for c in v.values()):
            raise ValueError("a count of the stats is not a count")
    if not isinstance(packed["num_cones"], int) or packed["num_cones"] < 0:
        raise ValueError("num_cones is not a count")


def graph(kinds: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, pin: torch.Tensor, inverted: torch.Tensor) -> Data:
    """``x``, ``edge_index`` and ``edge_attr`` as :func:`~hipool.data.netlists.gates.to_data`
    makes them, from the node kinds and the forward wires."""
    n, e = kinds.numel(), src.numel()
    x = torch.zeros(n, NUM_GATE_FEATURES)
    x[torch.arange(n), kinds.long()] = 1.0
    x[:, len(GATE_KINDS)] = torch.log1p(torch.bincount(dst, minlength=n).float())
    x[:, len(GATE_KINDS) + 1] = torch.log1p(torch.bincount(src, minlength=n).float())
    attr = torch.zeros(2 * e, len(EDGE_FEATURES))
    attr[:e, 0] = 1.0
    attr[e:, 1] = 1.0
    inv = inverted.float()
    attr[:e, 2] = inv
    attr[e:, 2] = inv
    cols = 3 + pin.long()
    rows = torch.arange(e)
    attr[rows, cols] = 1.0
    attr[rows + e, cols] = 1.0
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    return Data(x=x, edge_index=edge_index, edge_attr=attr, num_nodes=n)


def unpack(packed: Dict[str, Any]) -> List[Data]:
    """The graphs of a checked cache."""
    nodes, edges = packed["num_nodes"].tolist(), packed["num_edges"].tolist()
    ei = packed["edge_index"].long()
    graphs, n0, e0 = [], 0, 0
    for i, (n, e) in enumerate(zip(nodes, edges)):
        d = graph(
            packed["kind"][n0 : n0 + n],
            ei[0, e0 : e0 + e],
            ei[1, e0 : e0 + e],
            packed["pin"][e0 : e0 + e],
            packed["inverted"][e0 : e0 + e],
        )
        d.level_labels = packed["level_labels"][n0 : n0 + n]
        d.y = packed["y"][i : i + 1]
        d.mutation_kind = packed["mutation_kind"][i : i + 1]
        d.mutation_mask = packed["mutation_mask"][n0 : n0 + n]
        d.defect_mask = d.mutation_mask & bool(d.y[0] == 1)
        d.exhaustive = packed["exhaustive"][i : i + 1]
        d.source_circuit = packed["source_circuit"][i : i + 1]
        d.graph_id = packed["graph_id"][i]
        graphs.append(d)
        n0, e0 = n0 + n, e0 + e
    return graphs


def rates_note(stats: Dict[str, Dict[str, int]]) -> str:
    """The benign rate of every kind, as the dataset's notes say it."""
    parts = []
    for k in MUTATION_KINDS:
        if k in stats:
            s = stats[k]
            rate = s["benign"] / s["labelled"] if s["labelled"] else math.nan
            parts.append(f"{k} {100 * rate:.1f}% ({s['benign']}/{s['labelled']})")
    return "benign rate per mutation kind (labelled copies whose function did not change): " + ", ".join(parts)
