"""``hipool advise``'s rules: from the measurements to hierarchical or global, the pooler, the
levels and the schedule, each choice with its reason tied to a measured number.

The seed documents' rule of thumb is the skeleton: *hierarchical* pooling for large graphs
(100+ nodes) with a natural hierarchy, where multi-scale patterns matter; *global* pooling for
small graphs (< 50 nodes) with no clear hierarchy; in between, the hierarchy signal decides.
The thresholds are named constants in :mod:`hipool.advise.thresholds` (named in capitals here).

**Size** is the median node count of the sampled graphs: *small* below ``SMALL_NODES`` (50),
*large* from ``LARGE_NODES`` (100), *medium* between.

**Hierarchy signal** (see :mod:`hipool.advise.measure`), strongest first:

* *known*: the data carries ``level_labels`` whose first level merges nodes (pooling along it
  keeps at most ``KNOWN_MAX_KEPT``, 0.9, of a median graph's nodes);
* *clear*: the median Louvain modularity is at least ``CLEAR_EXCESS`` (0.3) above a
  degree-preserving shuffle's, or at least ``SOME_EXCESS`` (0.15) above it with a second level
  (the median modularity of the communities' own graph at least ``SECOND_LEVEL``, 0.3);
* *some*: at least ``SOME_EXCESS`` above the shuffle;
* *none*: less.

**Decision** (``confidence`` is ``clear`` where size and signal point the same way):

==========  =======================  =======================  =======================
size        signal none              some                     clear
==========  =======================  =======================  =======================
small       global (clear)           global (leaning)         hierarchical (leaning)
medium      global (leaning)         hierarchical (leaning)   hierarchical (clear)
large       hierarchical (leaning)   hierarchical (clear)     hierarchical (clear)
==========  =======================  =======================  =======================

A *known* hierarchy gives hierarchical pooling along it (``given``; leaning for small graphs).
Before all that, data with nothing to pool is advised global: no graph, every graph of at most
one node, or fewer than ``MIN_EDGE_SHARE`` (half) of the graphs with an edge.

**Pooler**: ``given`` for a known hierarchy; for median graphs of ``VERY_LARGE_NODES`` (1000)
nodes or more, ``graclus`` (contraction without parameters: EdgePool's edge scores are a linear
layer over every edge at every level); else the recipe's learned contraction, ``edgepool``.  The
conv is ``gine`` when the data has edge features, else ``gin`` (:data:`hipool.presets.RECIPE`).

**Levels and schedule**: ``given`` pools along every known level.  A contraction pooler at most
halves a graph per level, so the levels are :func:`hipool.nn.auto.suggested_levels` (halving
toward :data:`~hipool.nn.auto.DEFAULT_TOP` nodes, 1 to 4 levels) of the median graph, with
``schedule: [0.5, ...]``; when the sizes spread widely (p90 / p10 of the node counts at least
``AUTO_SPREAD``, 4) the schedule is ``auto`` instead (each graph halved toward the top size,
small graphs skipping levels), with the levels of the p90 graph.

**Information kept per level**: the nodes left after every level, as a share of the input, for
the small (p10), the median and the largest sampled graph: by the auto rule
(:func:`~hipool.nn.auto.auto_plan`), by plain halving for a fixed schedule (contraction keeps at
least that), and by the graph's own groups for ``given``.
"""

from __future__ import annotations

from typing import Any, Dict, List

from ..nn.auto import DEFAULT_TOP, auto_plan, levels_used, suggested_levels
from ..presets import RECIPE
from .reasons import count, degenerate, reason, size_and_signal_reasons
from .summary import reference_graphs
from .thresholds import (
    AUTO_SPREAD,
    CLEAR_EXCESS,
    KNOWN_MAX_KEPT,
    LARGE_NODES,
    MOST_LEVELS,
    SECOND_LEVEL,
    SMALL_NODES,
    SOME_EXCESS,
    THRESHOLDS,
    VERY_LARGE_NODES,
)

#: The decision table: (size, signal) -> (decision, confidence).
TABLE = {
    ("small", "none"): ("global", "clear"),
    ("small", "some"): ("global", "leaning"),
    ("small", "clear"): ("hierarchical", "leaning"),
    ("medium", "none"): ("global", "leaning"),
    ("medium", "some"): ("hierarchical", "leaning"),
    ("medium", "clear"): ("hierarchical", "clear"),
    ("large", "none"): ("hierarchical", "leaning"),
    ("large", "some"): ("hierarchical", "clear"),
    ("large", "clear"): ("hierarchical", "clear"),
}


def size_class(median_nodes: float) -> str:
    return "small" if median_nodes < SMALL_NODES else ("large" if median_nodes >= LARGE_NODES else "medium")


def signal(m: Dict[str, Any]) -> str:
    """``known``, ``clear``, ``some`` or ``none`` (see the module docstring)."""
    levels = m["known"]["levels"]
    if levels and levels[0]["kept_share"]["median"] is not None and levels[0]["kept_share"]["median"] <= KNOWN_MAX_KEPT:
        return "known"
    excess = m["excess_modularity"]["median"]
    second = m["second_modularity"]["median"]
    if excess is None:
        return "none"
    if excess >= CLEAR_EXCESS or (excess >= SOME_EXCESS and second is not None and second >= SECOND_LEVEL):
        return "clear"
    return "some" if excess >= SOME_EXCESS else "none"


def plan_levels(pool: str, levels: int, schedule: Any, top: int, graph: Dict[str, Any]) -> Dict[str, Any]:
    """Nodes after every level of one reference graph, and the shares of its input nodes."""
    n = graph["nodes"]
    if pool == "given":
        sizes = [lv["kept"] for lv in graph["known_levels"][:levels]]
    else:
        sizes = auto_plan(n, levels, top if schedule == "auto" else 1)
    used = sum(1 for prev, s in zip([n] + sizes, sizes) if s < prev)
    return {
        "index": graph["index"],
        "nodes": n,
        "sizes": sizes,
        "shares": [s / n if n else 0.0 for s in sizes],
        "levels_used": levels_used(n, levels, top) if schedule == "auto" else used,
    }


def recommend(m: Dict[str, Any]) -> Dict[str, Any]:
    """The recommendation for the measurements ``m`` of :func:`~hipool.advise.summary.measure_dataset`."""
    reasons: List[Dict[str, Any]] = []
    nodes = m["nodes"]
    median, p90 = nodes["median"], nodes["p90"]
    conv = "gine" if m["edge_features"] else "gin"
    stop = degenerate(m)
    size = size_class(median)
    sig = signal(m) if stop is None else "none"
    if stop is not None:
        decision, confidence = "global", "clear"
        reasons.append(stop)
    elif sig == "known":
        decision, confidence = "hierarchical", "leaning" if size == "small" else "clear"
    else:
        decision, confidence = TABLE[(size, sig)]
    if stop is None:
        reasons += size_and_signal_reasons(m, size, sig)
    # -- the hierarchical model: advised, or the candidate the check tests against the twin
    if sig == "known":
        pool, family = "given", "given"
        levels = max(1, m["known"]["columns"])
        schedule: Any = None
        reasons.append(
            reason(
                "pooler",
                "known.columns",
                levels,
                f"The data carries its own hierarchy ({levels} level(s) of level_labels), so the pooler is 'given': "
                f"it merges the data's groups, not learned (a learned alternative: {conv}-edgepool).",
            )
        )
    else:
        very = median >= VERY_LARGE_NODES
        pool, family = ("graclus" if very else "edgepool"), "contraction"
        reasons.append(
            reason(
                "pooler",
                "nodes.median",
                median,
                f"The median graph has {count(median)} nodes "
                + (
                    f"(at least {VERY_LARGE_NODES}), so Graclus: it merges matched pairs like EdgePool but "
                    "without scoring every edge at every level."
                    if very
                    else f"(under {VERY_LARGE_NODES}), so the recipe's learned edge contraction, EdgePool."
                ),
                VERY_LARGE_NODES,
            )
        )
        spread = m["size_spread"]
        if spread is not None and spread >= AUTO_SPREAD:
            schedule, levels = "auto", suggested_levels(p90, DEFAULT_TOP, MOST_LEVELS)
            reasons.append(
                reason(
                    "schedule",
                    "size_spread",
                    spread,
                    f"Graph sizes spread widely (p90 {count(p90)} nodes is {spread:.1f} x p10 {count(nodes['p10'])}; "
                    f"from {AUTO_SPREAD:g} x): schedule 'auto' halves each graph toward {DEFAULT_TOP} nodes, so small "
                    f"graphs skip levels; {levels} level(s) take the p90 graph to about "
                    f"{auto_plan(max(1, round(p90)), levels, DEFAULT_TOP)[-1]} nodes.",
                    AUTO_SPREAD,
                )
            )
        else:
            levels = suggested_levels(median, DEFAULT_TOP, MOST_LEVELS)
            schedule = [0.5] * levels
            why = "(no p10 size)" if spread is None else f"(p90 / p10 = {spread:.1f}, under {AUTO_SPREAD:g})"
            end = auto_plan(max(1, round(median)), levels, 1)[-1]
            reasons.append(
                reason(
                    "schedule",
                    "size_spread",
                    spread,
                    f"Graph sizes are alike {why}: a fixed schedule of {levels} halving level(s) takes the "
                    f"median graph of {count(median)} nodes to about {end}.",
                    AUTO_SPREAD,
                )
            )
    top = DEFAULT_TOP
    model: Dict[str, Any] = {**RECIPE, "conv": conv, "pool": pool, "levels": levels}
    if schedule is not None:
        model["schedule"] = schedule
    if schedule == "auto":
        model["auto_top"] = top
    name = f"{conv}-{pool}" + ("-auto" if schedule == "auto" else "")
    plan = {k: plan_levels(pool, levels, schedule, top, g) for k, g in reference_graphs(m).items()}
    return {
        "decision": decision,
        "confidence": confidence,
        "size": size,
        "signal": sig,
        "model": f"{conv}-global" if decision == "global" else name,
        "hierarchical": {
            "name": name,
            "family": family,
            "pool": pool,
            "conv": conv,
            "levels": levels,
            "schedule": schedule,
            "auto_top": top if schedule == "auto" else None,
            "config": model,
            "kept": plan,
        },
        "reasons": reasons,
        "thresholds": dict(THRESHOLDS),
    }
