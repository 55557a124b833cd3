"""``hipool advise``'s measurements of a dataset: which graphs it samples, and the summaries over them.

**Sampling.**  At most ``sample`` graphs (``--sample``, default :data:`DEFAULT_SAMPLE`) are
measured; a dataset with no more graphs is measured whole.  With one class label per graph
the sample is **stratified**: every class gets its share of the sample (largest remainders,
at least one graph of every class while the sample has room), drawn at random within the class
(seeded); other data (multi-task labels) is sampled **uniformly** (seeded).  The classes
themselves (counts, balance) are counted over the whole dataset, which is cheap.

**Summaries** are over the sampled graphs: sizes as min / p10 / median / mean / p90 / max,
the other measures as medians (and means), each over the graphs where it is defined (a
one-node graph has no modularity); ``defined`` says over how many.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any, Dict, List, Optional, Sequence

from ..data.base import GraphDataset
from .measure import GraphMeasures, measure_graph

#: Graphs measured when ``--sample`` is not given.
DEFAULT_SAMPLE = 200


def dataset_labels(dataset: GraphDataset) -> Optional[List[int]]:
    """One class per graph, or ``None`` (multi-task data, float targets)."""
    if dataset.num_tasks != 1 or not len(dataset):
        return None
    try:
        labels = dataset.labels()
    except (ValueError, TypeError, IndexError):
        return None
    return labels


def sample_indices(labels: Optional[Sequence[int]], total: int, size: int, seed: int) -> List[int]:
    """Sorted indices of at most ``size`` graphs of ``total``: stratified by ``labels`` when given,
    else uniform; every graph when ``size >= total``."""
    if size < 1:
        raise ValueError(f"--sample must be >= 1, got {size}")
    if size >= total:
        return list(range(total))
    rng = random.Random(seed)
    if labels is None:
        return sorted(rng.sample(range(total), size))
    by_class: Dict[int, List[int]] = {}
    for i, c in enumerate(labels):
        by_class.setdefault(c, []).append(i)
    classes = sorted(by_class)
    quota = {c: size * len(by_class[c]) / total for c in classes}
    take = {c: int(math.floor(q)) for c, q in quota.items()}
    if size >= len(classes):  # room for every class: none is left out, the largest give way
        for c in classes:
            if take[c] == 0:
                take[c] = 1
        while sum(take.values()) > size:
            biggest = max((c for c in classes if take[c] > 1), key=lambda c: (take[c] - quota[c], take[c], c))
            take[biggest] -= 1
    # largest remainders first; a class with none yet before any class gets a second
    order = sorted(classes, key=lambda c: (take[c] > 0, -(quota[c] - take[c]), c))
    for c in order[: size - sum(take.values())]:
        take[c] += 1
    chosen: List[int] = []
    for c in classes:
        chosen += rng.sample(by_class[c], min(take[c], len(by_class[c])))
    return sorted(chosen)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation, numpy's default)."""
    s = sorted(values)
    if not s:
        return 0.0
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return float(s[lo] + (s[hi] - s[lo]) * (pos - lo))


def spread_stats(values: Sequence[float]) -> Dict[str, float]:
    """min, p10, median, mean, p90, max (zeros for no values)."""
    if not values:
        return {"min": 0.0, "p10": 0.0, "median": 0.0, "mean": 0.0, "p90": 0.0, "max": 0.0}
    return {
        "min": float(min(values)),
        "p10": percentile(values, 10),
        "median": float(statistics.median(values)),
        "mean": float(statistics.fmean(values)),
        "p90": percentile(values, 90),
        "max": float(max(values)),
    }


def central(values: Sequence[Optional[float]]) -> Dict[str, Any]:
    """median and mean over the defined values, and how many are defined (``None``: none is)."""
    known = [float(v) for v in values if v is not None]
    if not known:
        return {"median": None, "mean": None, "defined": 0}
    return {"median": float(statistics.median(known)), "mean": float(statistics.fmean(known)), "defined": len(known)}


def class_summary(dataset: GraphDataset, labels: Optional[List[int]]) -> Dict[str, Any]:
    """Classes over the whole dataset: counts (by name when the data names them), balance
    (smallest class / largest class) and the majority class's share (what always guessing it scores)."""
    out: Dict[str, Any] = {"num_classes": int(dataset.num_classes), "counts": None, "balance": None, "majority": None}
    if not labels:
        return out
    counts: Dict[int, int] = {}
    for c in labels:
        counts[c] = counts.get(c, 0) + 1
    names = dataset.class_names or []
    out["counts"] = {(names[c] if 0 <= c < len(names) else str(c)): k for c, k in sorted(counts.items())}
    out["balance"] = min(counts.values()) / max(counts.values())
    out["majority"] = max(counts.values()) / len(labels)
    return out


def known_summary(graphs: List[GraphMeasures], level_names: Optional[Sequence[str]]) -> Dict[str, Any]:
    """The data's own hierarchy over the sample: its columns and, per level, the median groups
    per graph, nodes per group and share of the nodes kept by pooling along it."""
    columns = max((len(g.known_levels) for g in graphs), default=0)
    levels = []
    for col in range(columns):
        rows = [(g, g.known_levels[col]) for g in graphs if len(g.known_levels) > col and g.nodes]
        levels.append(
            {
                "level": col + 1,
                "name": level_names[col] if level_names and col < len(level_names) else f"level{col + 1}",
                "graphs_with_groups": sum(1 for _, r in rows if r["groups"]),
                "groups": central([r["groups"] for _, r in rows]),
                "group_size": central([r["grouped"] / r["groups"] for _, r in rows if r["groups"]]),
                "kept_share": central([r["kept"] / g.nodes for g, r in rows]),
            }
        )
    with_labels = sum(1 for g in graphs if g.known_levels)
    return {"columns": columns, "graphs_with_labels": with_labels, "levels": levels}


def measure_dataset(
    dataset: GraphDataset, *, sample: int = DEFAULT_SAMPLE, seed: int = 0, progress: bool = False
) -> Dict[str, Any]:
    """Every measurement ``hipool advise`` makes (see the module docstring and :mod:`~hipool.advise.measure`):
    ``graphs`` holds the per-graph records, the other keys the summaries."""
    from tqdm.auto import tqdm

    labels = dataset_labels(dataset)
    total = len(dataset)
    indices = sample_indices(labels, total, sample, seed) if total else []
    method = "all" if len(indices) == total else ("stratified by class" if labels is not None else "uniform")
    graphs: List[GraphMeasures] = []
    bar = tqdm(indices, desc=f"measuring {dataset.name}", unit="graph", leave=False, disable=not progress)
    for i in bar:
        graphs.append(measure_graph(dataset[i], i, seed, None if labels is None else labels[i]))
    nodes = [g.nodes for g in graphs]
    p10, p90 = percentile(nodes, 10), percentile(nodes, 90)
    with_edges = [g for g in graphs if g.edges]
    return {
        "dataset": dataset.name,
        "source": dataset.source,
        "graphs": total,
        "sampled": len(graphs),
        "sampling": method,
        "seed": seed,
        "classes": class_summary(dataset, labels),
        "node_features": int(dataset.num_features),
        "edge_features": int(dataset.num_edge_features),
        "nodes": spread_stats(nodes),
        "size_spread": (p90 / p10) if p10 > 0 else None,
        "edges": spread_stats([g.edges for g in graphs]),
        "one_node_graphs": sum(1 for g in graphs if g.nodes <= 1),
        "graphs_without_edges": len(graphs) - len(with_edges),
        "density": central([g.density for g in graphs if g.nodes > 1]),
        "degree_mean": central([g.degree_mean for g in graphs if g.nodes]),
        "degree_max": {
            **central([g.degree_max for g in graphs if g.nodes]),
            "max": max((g.degree_max for g in graphs), default=0),
        },
        "components": central([g.components for g in graphs if g.nodes]),
        "diameter": {
            **central([g.diameter for g in with_edges]),
            "max": max((g.diameter or 0 for g in graphs), default=0),
        },
        "modularity": central([g.modularity for g in graphs]),
        "null_modularity": central([g.null_modularity for g in graphs]),
        "excess_modularity": central([g.excess for g in graphs]),
        "second_modularity": central([g.second_modularity for g in graphs]),
        "communities": central([g.communities for g in graphs]),
        "cut_share": central([g.cut_share for g in graphs]),
        "coarse_share": central([g.coarse_share for g in graphs]),
        "known": known_summary(graphs, dataset.level_names),
        "notes": list(dataset.notes),
        "per_graph": [g.to_dict() for g in graphs],
    }


def reference_graphs(measured: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The sampled graphs the per-level plan is shown for: the ``small`` one (the p10 size), the
    ``median`` one and the ``largest``; empty for no graph."""
    per = sorted(measured["per_graph"], key=lambda g: (g["nodes"], g["index"]))
    if not per:
        return {}
    pick = {"small": (len(per) - 1) * 10 // 100, "median": (len(per) - 1) // 2, "largest": len(per) - 1}
    return {k: per[i] for k, i in pick.items()}
