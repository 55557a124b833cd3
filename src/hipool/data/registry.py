"""One entry point for every kind of dataset, and the summary ``hipool data summary`` prints.

:func:`load_dataset` takes what a user types:

=================================  ===========================================================
``communities[:n=N,seed=S]``       the embedded hierarchical community graphs (offline;
                                   400 graphs, seed 0 by default; ``n`` at most 100,000)
``circuits[:key=value,...]``       synthetic circuits that pass or fail, with defects at three
                                   levels (offline; :mod:`hipool.data.circuits.dataset` lists
                                   the keys and their ranges), e.g. ``circuits:n=600,max=400``
a ``.csv`` file                    molecules: a SMILES column and label columns (``hipool[chem]``)
a ``.jsonl`` file                  the user's graphs, one JSON object per line
a folder of graph files            the user's graphs (GraphML / node-link JSON / edge lists
                                   plus ``labels.csv``)
a netlist, or a folder of them     ``.bench``, ``.blif``, ``.aag``, ``.aig``, SPICE/CDL and Spectre
                                   (``.sp``, ``.cir``, ``.scs``, ...; a folder with its
                                   ``labels.csv``): :mod:`hipool.data.netlists.dataset`
``align_ota[:label=...]``          real analog benchmarks: ALIGN's OTAs, AnalogGenie's circuits by
``analoggenie[:min_class=N]``      function, under the data root or downloaded
                                   (:mod:`hipool.data.netlists.benchmarks`)
``gates[:key=value,...]``          mutated cones of real logic circuits (ISCAS-85/89, EPFL under
                                   the data root) that pass or fail by simulation
                                   (:mod:`hipool.data.netlists.gatebench`), e.g. ``gates:n=600``
a TU dataset's folder              ``path/to/MUTAG`` (holding ``raw/MUTAG_A.txt``, ...) or
                                   ``path/to/MUTAG/raw``: that TU dataset, whatever the data root
a TU benchmark name                ``MUTAG``, ``PROTEINS``, ...: one under the data root, or one
                                   of :data:`~hipool.data.tu.TU_STATS` (downloaded when missing)
``tu:NAME``                        any other dataset of the TU collection (downloaded)
``SPEC@METHOD[:LEVELS]``           any of the above with its ``level_labels`` replaced by a
                                   non-learned pooler's precomputed hierarchy (``graclus``,
                                   ``kmis``, ``ndp``, ``sep``; :mod:`hipool.data.precoarsen`),
                                   e.g. ``PROTEINS@sep:2``, for ``pool: given``
=================================  ===========================================================

Any other name is an error that lists what is available.  Every bad spec is a
``ValueError`` naming it: an empty one, one with control characters, an option
given twice or out of its range (``circuits:n=-1``, ``circuits:fail=nan``), a file
or folder that cannot be read.
"""

from __future__ import annotations

import difflib
import os
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch

from ..io import os_reason, shown
from .base import LEVEL_LABELS, GraphDataset

PathLike = Union[str, os.PathLike]


def load_dataset(
    spec: Union[str, "os.PathLike[str]"],
    data_root: Optional[PathLike] = None,
    *,
    cache_dir: Optional[PathLike] = None,
    progress: bool = False,
) -> GraphDataset:
    """The dataset ``spec`` names (see the module docstring; a ``pathlib.Path`` is taken as its
    text); a spec that names none, or a file or folder that cannot be read, is a ``ValueError``
    naming the spec."""
    if isinstance(spec, os.PathLike):  # a pathlib.Path of a file or folder
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            f"dataset {shown(spec)}: give a dataset name, e.g. 'MUTAG', 'communities', "
            f"'circuits:n=600', a .csv or .jsonl file or a folder of graph files"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in spec):
        raise ValueError(
            f"dataset {shown(spec)}: contains a control character (a tab, a newline, ...); "
            f"give the name or path as it is"
        )
    from .base import as_path

    data_root = None if data_root is None else as_path(data_root, f"dataset {shown(spec)}: data_root")
    cache_dir = None if cache_dir is None else as_path(cache_dir, f"dataset {shown(spec)}: cache_dir")
    from .precoarsen import precoarsen, split_spec

    base, coarsening = split_spec(spec)
    if coarsening is not None:  # DATASET@METHOD[:LEVELS]: a precomputed hierarchy for pool: given
        inner = load_dataset(base, data_root, cache_dir=cache_dir, progress=progress)
        return precoarsen(inner, *coarsening, cache_dir=cache_dir, progress=progress)
    if spec == "communities" or spec.startswith("communities:"):
        from .communities import community_dataset, parse_community_spec

        return community_dataset(*parse_community_spec(spec))
    if spec == "circuits" or spec.startswith("circuits:"):
        from .circuits.dataset import load_circuits

        return load_circuits(spec, cache_dir, progress=progress)
    if spec == "gates" or spec.startswith("gates:"):
        from .netlists.gatebench import load_gates

        return load_gates(spec, data_root, cache_dir, progress=progress)
    from .netlists.benchmarks import is_benchmark

    if is_benchmark(spec):
        from .netlists.benchmarks import load_benchmark

        return load_benchmark(spec, data_root, progress=progress)
    try:
        return _load_file_or_tu(spec, data_root, cache_dir, progress)
    except OSError as e:  # e.g. a folder without read permission, a name too long for the file system
        where = f" {shown(str(e.filename))}" if e.filename is not None and str(e.filename) != spec else ""
        raise ValueError(f"dataset {shown(spec)}: cannot read{where} ({os_reason(e)})") from None


def reads_by_name(spec: str) -> bool:
    """Whether :func:`load_dataset` reads ``spec`` as a name before looking for a file or folder
    of that name (the embedded datasets and the named benchmarks): such a spec is never a path."""
    from .netlists.benchmarks import is_benchmark
    from .precoarsen import split_spec

    spec = split_spec(spec)[0]
    return spec.split(":", 1)[0] in ("communities", "circuits", "gates") or is_benchmark(spec)


def _holds_netlists(folder: Path) -> bool:
    """Whether ``folder`` holds netlist files (then it is read as netlists, not as graph files)."""
    from .netlists.dataset import is_netlist

    try:
        return any(p.is_file() and is_netlist(p) for p in folder.iterdir() if not p.name.startswith("."))
    except OSError:
        return False


def _load_file_or_tu(
    spec: str, data_root: Optional[PathLike], cache_dir: Optional[PathLike], progress: bool
) -> GraphDataset:
    path = Path(spec)
    tu_folder = _tu_folder(path)
    if tu_folder is not None:  # a TU dataset's own folder (NAME/ or NAME/raw/), given as a path
        from .tu import load_tu

        return load_tu(tu_folder.name, tu_folder.parent, cache_dir=cache_dir)
    from .netlists.dataset import is_netlist, load_netlists

    if is_netlist(path) or (path.is_dir() and _holds_netlists(path)):
        if not path.exists():
            raise ValueError(f"dataset {spec}: no such file or folder")
        return load_netlists(path, progress=progress)
    if path.suffix.lower() == ".csv" or path.suffix.lower() == ".jsonl" or path.is_dir():
        if not path.exists():
            raise ValueError(f"dataset {spec}: no such file or folder")
        if path.suffix.lower() == ".csv":
            from .molecules import load_molecules

            return load_molecules(path, progress=progress)
        from .own import load_graph_folder, load_jsonl

        return load_jsonl(path, progress=progress) if path.is_file() else load_graph_folder(path, progress=progress)
    if path.is_file():
        raise ValueError(
            f"dataset {spec}: a file, but neither a molecule CSV (.csv), JSON Lines (.jsonl) nor a "
            f"netlist (.bench, .blif, .aag, .aig, .sp, .cir, .scs, ...); a folder of graph files is given as the folder"
        )
    from .tu import TU_STATS, load_tu

    if spec.lower().startswith("tu:"):
        if not spec[3:]:
            raise ValueError(f"dataset {spec!r}: give a TU name after 'tu:' (e.g. tu:MUTAG)")
        return load_tu(spec[3:], data_root, cache_dir=cache_dir)
    if spec not in TU_STATS and not (_root(data_root) / spec / "raw").is_dir():
        raise ValueError(unknown_dataset_message(spec, data_root))
    return load_tu(spec, data_root, cache_dir=cache_dir)


def _tu_folder(path: Path) -> Optional[Path]:
    """``NAME`` when ``path`` is a TU dataset's folder ``NAME`` (holding ``raw/NAME_A.txt``) or
    its ``NAME/raw``, and no folder of graph files (no ``labels.csv``); else None."""
    if not path.is_dir() or (path / "labels.csv").exists():
        return None
    folder = path.resolve()
    if folder.name == "raw" and (folder / f"{folder.parent.name}_A.txt").is_file():
        return folder.parent
    if (folder / "raw" / f"{folder.name}_A.txt").is_file():
        return folder
    return None


def _root(data_root: Optional[PathLike]) -> Path:
    from .tu import default_data_root

    return Path(data_root) if data_root is not None else default_data_root()


def available_datasets(data_root: Optional[PathLike] = None) -> Dict[str, List[str]]:
    """Names :func:`load_dataset` takes: ``builtin``, ``benchmarks`` (the analog netlist
    benchmarks), ``local`` (TU folders under the data root) and ``tu`` (the TU datasets hipool
    knows, downloaded when missing)."""
    from .tu import TU_STATS

    root = _root(data_root)
    local = sorted(p.name for p in root.iterdir() if (p / "raw").is_dir()) if root.is_dir() else []
    from .netlists.benchmarks import BENCHMARKS

    return {
        "builtin": ["circuits", "communities"],
        "benchmarks": list(BENCHMARKS),
        "local": local,
        "tu": sorted(TU_STATS),
    }


def unknown_dataset_message(spec: str, data_root: Optional[PathLike] = None) -> str:
    names = available_datasets(data_root)
    every = names["builtin"] + names["benchmarks"] + ["gates"] + sorted(set(names["local"]) | set(names["tu"]))
    close = [n for n in every if n.lower() == spec.lower()][:1] or difflib.get_close_matches(
        spec, every, n=1, cutoff=0.6
    )
    hint = f"did you mean {close[0]!r}? " if close else ""
    root = _root(data_root)
    local = f"{', '.join(names['local'])} (under {root})" if names["local"] else f"none under {root}"
    return (
        f"unknown dataset {shown(spec)}; {hint}available: {', '.join(names['builtin'])}; TU datasets "
        f"{', '.join(names['tu'])} (downloaded when missing); local TU folders: {local}; the analog "
        f"benchmarks {', '.join(names['benchmarks'])} (under the data root, or downloaded); the logic "
        f"benchmark gates (circuits/iscas85, iscas89, epfl under the data root); "
        f"or a molecule .csv, a .jsonl file, a netlist (.bench, .blif, .aag, .aig, .sp, .cir, .scs, ...) "
        f"or a folder of graph files or netlists; any other TU dataset as 'tu:NAME' (downloaded from the TU collection)"
    )


def _stats(values: List[float]) -> Dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "max": 0.0}
    return {"mean": statistics.fmean(values), "median": statistics.median(values), "max": max(values)}


def summarize(dataset: GraphDataset) -> Dict[str, object]:
    """Graphs, classes with counts, nodes and edges (mean, median, max), features, hierarchy levels.

    Edges count each undirected edge once when a graph stores both directions.
    """
    nodes, edges = [], []
    undirected = True
    levels = 0
    for g in dataset:
        nodes.append(g.num_nodes)
        ei = g.edge_index
        edges.append(ei.size(1))
        if undirected and ei.numel():
            fwd = ei[0] * g.num_nodes + ei[1]
            bwd = ei[1] * g.num_nodes + ei[0]
            undirected = bool(torch.isin(bwd, fwd).all())
        if getattr(g, LEVEL_LABELS, None) is not None:
            levels = max(levels, int(getattr(g, LEVEL_LABELS).size(1)))
    if undirected:
        edges = [e / 2 for e in edges]
    classes: Dict[str, Dict[str, int]] = {}
    if len(dataset) and not dataset[0].y.is_floating_point():
        counts: Dict[str, int] = {}
        for g in dataset:
            c = int(g.y.view(-1)[0])
            key = dataset.class_names[c] if dataset.class_names and c < len(dataset.class_names) else str(c)
            counts[key] = counts.get(key, 0) + 1
        classes["label"] = dict(sorted(counts.items()))
    else:
        y = torch.cat([g.y.view(1, -1) for g in dataset]).float()
        for t, name in enumerate(dataset.task_names or [f"task{t}" for t in range(y.size(1))]):
            col = y[:, t]
            known = col[~torch.isnan(col)]
            values = torch.unique(known)
            if bool((values == values.round()).all()) and values.numel() <= 20:  # classes
                counts = {str(int(v)): int((known == v).sum()) for v in values}
            else:  # a regression target
                counts = (
                    {
                        "min": round(float(known.min()), 4),
                        "mean": round(float(known.mean()), 4),
                        "max": round(float(known.max()), 4),
                    }
                    if known.numel()
                    else {}
                )
            counts["missing"] = int(torch.isnan(col).sum())
            classes[name] = counts
    groups: Dict[str, Dict[str, int]] = {}
    if dataset.breakdown is not None:
        b = dataset.breakdown
        values = [int(getattr(g, b.attr).view(-1)[0]) for g in dataset]
        groups[b.attr] = {name: values.count(i) for i, name in enumerate(b.names)}
    first = dataset.graphs[0] if len(dataset) else None
    edge_dim = (
        int(first.edge_attr.size(1))
        if first is not None and getattr(first, "edge_attr", None) is not None and first.edge_attr.dim() == 2
        else 0
    )
    return {
        "name": dataset.name,
        "source": dataset.source,
        "graphs": len(dataset),
        "num_classes": dataset.num_classes,
        "classes": classes,
        "groups": groups,
        "nodes": _stats(nodes),
        "edges": _stats(edges),
        "undirected": undirected,
        "node_features": dataset.num_features,
        "edge_features": edge_dim,
        "hierarchy_levels": levels,
        "notes": list(dataset.notes),
    }


def format_summary(s: Dict[str, object]) -> str:
    """The summary as the lines ``hipool data summary`` prints."""

    def row(label: str, st: Dict[str, float]) -> str:
        return f"{label:<20}mean {st['mean']:.1f}, median {st['median']:g}, max {st['max']:g}"

    lines = [f"{s['name']}  ({s['source']})" if s["source"] else str(s["name"]), f"{'graphs':<20}{s['graphs']}"]
    for task, counts in s["classes"].items():
        label = "classes" if task == "label" else f"task {task}"
        lines.append(f"{label:<20}" + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for attr, counts in s.get("groups", {}).items():
        lines.append(f"{attr:<20}" + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    lines.append(row("nodes", s["nodes"]))
    lines.append(row("edges" + (" (undirected)" if s["undirected"] else ""), s["edges"]))
    lines.append(f"{'node features':<20}{s['node_features']}")
    lines.append(f"{'edge features':<20}{s['edge_features']}")
    lines.append(
        f"{'hierarchy':<20}"
        + (f"{s['hierarchy_levels']} known level(s) ({LEVEL_LABELS})" if s["hierarchy_levels"] else "none known")
    )
    lines += [f"{'note':<20}{n}" for n in s["notes"]]
    return "\n".join(lines)
