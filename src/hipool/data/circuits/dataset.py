"""``circuits[:key=value,...]``: the circuit benchmark as a :class:`GraphDataset`, cached.

Generating 2000 circuits takes about 40 s, so the graphs are kept in the cache
folder as plain tensors, keyed by the options and :data:`GENERATOR_VERSION`.  The
cache runs no code: it is read with ``torch.load(weights_only=True)`` and checked
(the CRC-32 of every member of its zip archive, which torch does not check, so that a
flipped byte is not read as another value; keys, dtypes, dense contiguous tensors,
sizes, ranges); a file that fails (damaged, tampered with, truncated) is deleted
with a warning naming it and generated again.  It is written atomically, and the
temporary file of a killed writer is removed by the next load.

Spec options (:data:`OPTIONS`), each at most once, within :data:`LIMITS`:
``n`` (circuits, 1 .. 100,000), ``seed`` (0 .. 2**63 - 1), ``min`` / ``max``
(components of a circuit, 50 .. 1,000,000, ``max >= min + 10``), ``fail`` (the fraction
that fails, a decimal in [0, 1]), ``margin`` (decades beyond the rated range of an
out-of-range value, 0 .. 100), ``levels`` (defect levels joined by ``+``, each once).
Integers are decimal digits (``n=600``; not ``6e2`` or ``10**3``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from torch_geometric.data import Data

from ...io import shown
from ..base import Breakdown, GraphDataset, as_path, check_plain_tensor, load_cache, spec_number, spec_options
from . import (
    CLASS_NAMES,
    DEFECT_LEVEL_NAMES,
    LEVELS,
    MIN_COMPONENTS,
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
#: Inclusive range of every numeric spec option (the generator takes about 20 ms a circuit).
LIMITS: Dict[str, tuple] = {
    "n": (1, 100_000),
    "seed": (0, 2**63 - 1),
    "min": (MIN_COMPONENTS, 1_000_000),  # 200k components make a 309k-node graph (benchmarks/scale.py)
    "max": (MIN_COMPONENTS, 1_000_000),
    "fail": (0.0, 1.0),
    "margin": (0, 100),
}
_FIELDS = ("x", "y", "level_labels", "defect_level", "defect_kind", "defect_mask")


def _option(spec: str, key: str, value: str) -> Any:
    kind = OPTIONS[key][1]
    if kind is str:
        levels = value.split("+")
        if len(levels) > 1 and not all(levels):
            raise ValueError(
                f"dataset {shown(spec)}: levels={shown(value)} has an empty level name; join "
                f"levels with a single '+' (e.g. levels=component+block)"
            )
        twice = sorted({lv for lv in levels if levels.count(lv) > 1})
        if twice:
            raise ValueError(
                f"dataset {shown(spec)}: levels={shown(value)} names {', '.join(twice)} twice; "
                f"give each level once (e.g. levels=component+block)"
            )
        return value
    return spec_number(spec, key, value, *LIMITS[key], kind=kind)


def parse_spec(spec: str) -> Dict[str, Any]:
    """``circuits:n=600,max=400`` → the options (defaults filled in), with clear errors."""
    options = {key: default for key, (_, _, default) in OPTIONS.items()}
    for key, value in spec_options(spec, "circuits", list(OPTIONS), "circuits:n=600,max=400"):
        options[key] = _option(spec, key, value)
    if options["max"] < options["min"] + 10:
        raise ValueError(
            f"dataset {shown(spec)}: max={options['max']} with min={options['min']}; max must be at "
            f"least min + 10 (blocks come in sizes of 2-9 parts)"
        )
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


_PACKED = {
    "x": (torch.float32, 2),
    "y": (torch.int64, 1),
    "level_labels": (torch.int64, 2),
    "defect_level": (torch.int64, 1),
    "defect_kind": (torch.int64, 1),
    "defect_mask": (torch.bool, 1),
    "edge_index": (torch.int32, 2),
    "edge_role": (torch.uint8, 1),
    "num_nodes": (torch.int64, 1),
    "num_edges": (torch.int64, 1),
}


def _check_packed(packed: Any, num_circuits: int) -> None:
    """Raise ``ValueError`` unless ``packed`` is what :func:`_pack` makes of ``num_circuits`` circuits."""
    if not isinstance(packed, dict) or set(packed) != set(_PACKED):
        raise ValueError("not a hipool circuits cache")
    for key, (dtype, dim) in _PACKED.items():
        check_plain_tensor(key, packed[key], dtype, dim)
    nodes, edges, ei = packed["num_nodes"], packed["num_edges"], packed["edge_index"]
    n, e = packed["x"].size(0), ei.size(-1)
    per_graph = ("y", "defect_level", "defect_kind", "num_nodes", "num_edges")
    if not (
        all(packed[k].numel() == num_circuits for k in per_graph)
        and bool((nodes >= 1).all())
        and bool((nodes <= n).all())
        and bool((edges >= 0).all())
        and bool((edges <= e).all())
        and int(nodes.sum()) == n
        and int(edges.sum()) == e
        and ei.size(0) == 2
        and packed["x"].size(1) == NUM_FEATURES
        and packed["level_labels"].size(0) == n
        and packed["defect_mask"].numel() == n
        and packed["edge_role"].numel() == e
    ):
        raise ValueError("sizes do not agree")
    if e and not bool(((ei >= 0) & (ei < nodes.repeat_interleave(edges))).all()):
        raise ValueError("a node id out of range")
    if e and int(packed["edge_role"].max()) >= len(ROLES):
        raise ValueError("a pin role out of range")
    if not bool(((packed["y"] >= 0) & (packed["y"] < NUM_CLASSES)).all()):
        raise ValueError("a class out of range")


def _unpack(packed: Dict[str, Any]) -> List[Data]:
    nodes, edges = packed["num_nodes"].tolist(), packed["num_edges"].tolist()
    edge_index = packed["edge_index"].long()
    edge_attr = torch.nn.functional.one_hot(packed["edge_role"].long(), len(ROLES)).to(torch.float32)
    graphs, n0, e0 = [], 0, 0
    for i, (n, e) in enumerate(zip(nodes, edges)):
        g = Data(
            x=packed["x"][n0 : n0 + n],
            edge_index=edge_index[:, e0 : e0 + e],
            edge_attr=edge_attr[e0 : e0 + e],
            y=packed["y"][i : i + 1],
            level_labels=packed["level_labels"][n0 : n0 + n],
            defect_level=packed["defect_level"][i : i + 1],
            defect_kind=packed["defect_kind"][i : i + 1],
            defect_mask=packed["defect_mask"][n0 : n0 + n],
            num_nodes=n,
        )
        graphs.append(g)
        n0, e0 = n0 + n, e0 + e
    return graphs


def _read_cache(path: Path, num_circuits: int) -> Optional[List[Data]]:
    """The graphs in the cache file ``path``, or ``None`` (a bad file deleted, with a warning)."""

    def checked(packed: Dict[str, Any]) -> List[Data]:
        _check_packed(packed, num_circuits)
        return _unpack(packed)

    return load_cache(path, "circuits cache", checked, "generating the circuits again")


def load_circuits(spec: str = "circuits", cache_dir: Optional[Path] = None, progress: bool = False) -> GraphDataset:
    """The circuit benchmark ``spec`` names, generated once and then read from ``cache_dir``
    (default: hipool's cache folder)."""
    from ...io import atomic_torch_save, describe_os_error, remove_stale_temps
    from ..tu import default_cache_dir

    options = parse_spec(spec)
    kwargs = _kwargs(options)
    try:
        check_options(**kwargs, defect_kinds=None)
    except ValueError as e:
        raise ValueError(f"dataset {shown(spec)}: {e}") from None
    key = hashlib.sha256(json.dumps({"v": GENERATOR_VERSION, **options}, sort_keys=True).encode()).hexdigest()[:16]
    cache = as_path(cache_dir, "circuits: cache_dir") if cache_dir is not None else default_cache_dir()
    path = cache / "circuits" / f"{key}.pt"
    try:
        remove_stale_temps(path.parent)  # what a killed writer left
        graphs = _read_cache(path, options["n"])
    except OSError:  # a cache folder that cannot even be looked at (a name too long, ...): writing says so
        graphs = None
    if graphs is None:
        graphs = make_circuit_dataset(**kwargs, progress=progress)
        try:
            atomic_torch_save(_pack(graphs), path)
        except OSError as e:
            warnings.warn(
                f"circuits: not cached ({describe_os_error(e)}); they will be generated again next time", stacklevel=2
            )
    return GraphDataset(
        name=spec,
        graphs=graphs,
        num_features=NUM_FEATURES,
        num_classes=NUM_CLASSES,
        class_names=list(CLASS_NAMES),
        source=f"generated ({', '.join(f'{k}={v}' for k, v in options.items())})",
        breakdown=Breakdown("defect_level", DEFECT_LEVEL_NAMES),
        level_names=("block", "subsystem"),
    )
