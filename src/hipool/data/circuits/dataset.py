"""``circuits[:key=value,...]``: the circuit benchmark as a :class:`GraphDataset`, cached.

Generating 2000 circuits takes about 40 s, so the graphs are kept in the cache
folder as plain tensors (read with ``weights_only=True``), keyed by the options and
:data:`GENERATOR_VERSION`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from torch_geometric.data import Data

from ..base import Breakdown, GraphDataset
from . import (
    CLASS_NAMES,
    DEFECT_LEVEL_NAMES,
    LEVELS,
    NUM_CLASSES,
    NUM_FEATURES,
    ROLES,
    check_options,
    make_circuit_dataset,
)

#: Bump when a change to the generator changes its output for the same options.
GENERATOR_VERSION = 1

#: Spec keys: name -> (make_circuit_dataset argument, type, default).
OPTIONS: Dict[str, tuple] = {
    "n": ("num_circuits", int, 2000),
    "seed": ("seed", int, 0),
    "min": ("min_components", int, 100),
    "max": ("max_components", int, 2000),
    "fail": ("fail_fraction", float, 0.5),
    "margin": ("value_margin", int, 1),
    "levels": ("defect_levels", str, "+".join(LEVELS)),
}
_FIELDS = ("x", "y", "level_labels", "defect_level", "defect_kind", "defect_mask")


def parse_spec(spec: str) -> Dict[str, Any]:
    """``circuits:n=600,max=400`` → the options (defaults filled in), with clear errors."""
    name, _, rest = spec.partition(":")
    if name != "circuits":
        raise ValueError(f"not a circuits spec: {spec!r}")
    options = {key: default for key, (_, _, default) in OPTIONS.items()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in OPTIONS:
            raise ValueError(f"dataset {spec!r}: {item!r} is not key=value with a key among "
                             f"{', '.join(OPTIONS)} (e.g. circuits:n=600,max=400)")
        kind = OPTIONS[key][1]
        try:
            options[key] = kind(value.strip())
        except ValueError:
            raise ValueError(f"dataset {spec!r}: {key}={value!r} is not a{'n int' if kind is int else ' number'}") \
                from None
    return options


def _kwargs(options: Dict[str, Any]) -> Dict[str, Any]:
    kwargs = {OPTIONS[k][0]: v for k, v in options.items()}
    kwargs["defect_levels"] = [lv for lv in options["levels"].split("+") if lv]
    return kwargs


def _pack(graphs: List[Data]) -> Dict[str, Any]:
    """The graphs as a few flat tensors (edges as int32, pin roles as uint8 indices: a third of the size)."""
    out: Dict[str, Any] = {f: torch.cat([getattr(g, f) for g in graphs]) for f in _FIELDS}
    out["edge_index"] = torch.cat([g.edge_index for g in graphs], dim=1).to(torch.int32)
    out["edge_role"] = torch.cat([g.edge_attr.argmax(1) for g in graphs]).to(torch.uint8)
    out["num_nodes"] = torch.tensor([g.num_nodes for g in graphs])
    out["num_edges"] = torch.tensor([g.edge_index.size(1) for g in graphs])
    return out


def _unpack(packed: Dict[str, Any]) -> List[Data]:
    nodes, edges = packed["num_nodes"].tolist(), packed["num_edges"].tolist()
    edge_index = packed["edge_index"].long()
    edge_attr = torch.nn.functional.one_hot(packed["edge_role"].long(), len(ROLES)).to(torch.float32)
    graphs, n0, e0 = [], 0, 0
    for i, (n, e) in enumerate(zip(nodes, edges)):
        g = Data(x=packed["x"][n0:n0 + n], edge_index=edge_index[:, e0:e0 + e],
                 edge_attr=edge_attr[e0:e0 + e], y=packed["y"][i:i + 1],
                 level_labels=packed["level_labels"][n0:n0 + n], defect_level=packed["defect_level"][i:i + 1],
                 defect_kind=packed["defect_kind"][i:i + 1], defect_mask=packed["defect_mask"][n0:n0 + n],
                 num_nodes=n)
        graphs.append(g)
        n0, e0 = n0 + n, e0 + e
    return graphs


def load_circuits(spec: str = "circuits", cache_dir: Optional[Path] = None, progress: bool = False) -> GraphDataset:
    """The circuit benchmark ``spec`` names, generated once and then read from ``cache_dir``
    (default: hipool's cache folder)."""
    from ...io import atomic_torch_save
    from ..tu import default_cache_dir

    options = parse_spec(spec)
    kwargs = _kwargs(options)
    try:
        check_options(**kwargs, defect_kinds=None)
    except ValueError as e:
        raise ValueError(f"dataset {spec!r}: {e}") from None
    key = hashlib.sha256(json.dumps({"v": GENERATOR_VERSION, **options}, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir if cache_dir is not None else default_cache_dir()) / "circuits" / f"{key}.pt"
    graphs = None
    if path.is_file():
        try:
            graphs = _unpack(torch.load(path, weights_only=True))
        except Exception:  # an unreadable cache file is regenerated (it is only a cache)
            graphs = None
    if graphs is None:
        graphs = make_circuit_dataset(**kwargs, progress=progress)
        try:
            atomic_torch_save(_pack(graphs), path)
        except OSError:
            pass  # a read-only cache: generate every time
    return GraphDataset(
        name=spec, graphs=graphs, num_features=NUM_FEATURES, num_classes=NUM_CLASSES, class_names=list(CLASS_NAMES),
        source=f"generated ({', '.join(f'{k}={v}' for k, v in options.items())})",
        breakdown=Breakdown("defect_level", DEFECT_LEVEL_NAMES), level_names=("block", "subsystem"))
