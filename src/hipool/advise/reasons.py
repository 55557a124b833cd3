"""The reasons of ``hipool advise``: one plain sentence per rule, each tied to a measured number
(``measure``, ``value``) and the threshold it was held against."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .measure import NULL_MAX_EDGES
from .thresholds import (
    CLEAR_EXCESS,
    KNOWN_MAX_KEPT,
    LARGE_NODES,
    MIN_EDGE_SHARE,
    SECOND_LEVEL,
    SMALL_NODES,
    SOME_EXCESS,
)

#: The rules whose reasons are about the hierarchical model (the others are about the decision).
MODEL_RULES = ("pooler", "schedule")


def reason(rule: str, measure: str, value: Any, text: str, threshold: Any = None) -> Dict[str, Any]:
    """One reason: the ``rule`` it is of, the ``measure`` (a key of the measurements) and its
    ``value``, the ``threshold`` it was held against, and the sentence; ``about`` is ``decision``
    or ``model`` (the hierarchical model's pooler and schedule)."""
    about = "model" if rule in MODEL_RULES else "decision"
    return {"rule": rule, "about": about, "measure": measure, "value": value, "threshold": threshold, "text": text}


def count(x: float) -> str:
    """A node count as text: ``17.5``, ``88``, ``3,827`` (a median may be a half)."""
    return f"{x:,.0f}" if x >= 1000 else f"{x:g}"


def _g(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.3g}"


def degenerate(m: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The reason there is nothing to pool, or ``None``."""
    sampled = m["sampled"]
    if sampled == 0:
        return reason(
            "empty", "graphs", 0, "The dataset has no graph, so there is nothing to pool: global is the default."
        )
    if m["nodes"]["max"] <= 1:
        return reason(
            "one-node",
            "nodes.max",
            m["nodes"]["max"],
            f"Every sampled graph has at most {m['nodes']['max']:.0f} node, so there is nothing to coarsen: "
            "a global readout sees everything.",
        )
    share = 1 - m["graphs_without_edges"] / sampled
    if share < MIN_EDGE_SHARE:
        return reason(
            "no-edges",
            "share of graphs with an edge",
            share,
            f"Only {share:.0%} of the sampled graphs have an edge (under {MIN_EDGE_SHARE:.0%}): without edges "
            "there is no structure for a pooler to follow, so global.",
            MIN_EDGE_SHARE,
        )
    return None


def size_and_signal_reasons(m: Dict[str, Any], size: str, sig: str) -> List[Dict[str, Any]]:
    median = m["nodes"]["median"]
    size_text = {
        "small": f"The median graph has {count(median)} nodes, under {SMALL_NODES}: small graphs, where one global "
        "readout already sees every node.",
        "medium": f"The median graph has {count(median)} nodes, between {SMALL_NODES} and {LARGE_NODES}: size alone "
        "does not decide, the hierarchy signal does.",
        "large": f"The median graph has {count(median)} nodes, at least {LARGE_NODES}: large graphs, where one global "
        "readout averages over many nodes and multi-scale patterns can matter.",
    }[size]
    out = [reason("size", "nodes.median", median, size_text, SMALL_NODES if size == "small" else LARGE_NODES)]
    if sig == "known":
        kept = m["known"]["levels"][0]["kept_share"]["median"]
        out.append(
            reason(
                "signal",
                "known.levels[0].kept_share",
                kept,
                f"The data knows a hierarchy: pooling along its first level keeps {kept:.0%} of a median graph's "
                f"nodes (at most {KNOWN_MAX_KEPT:.0%} counts), so hierarchical pooling along it.",
                KNOWN_MAX_KEPT,
            )
        )
        return out
    excess, q1 = m["excess_modularity"]["median"], m["modularity"]["median"]
    second = m["second_modularity"]["median"]
    if excess is None:
        out.append(
            reason(
                "signal",
                "excess_modularity",
                None,
                f"No sampled graph has a modularity above a shuffle measured (none has edges, or all have more "
                f"than {NULL_MAX_EDGES:,}, above which the shuffle is not run), so size alone decides.",
                NULL_MAX_EDGES,
            )
        )
        return out
    words = {
        "none": f"under {SOME_EXCESS:g}: no community structure beyond chance",
        "some": f"at least {SOME_EXCESS:g} but under {CLEAR_EXCESS:g}: some community structure",
        "clear": f"at least {CLEAR_EXCESS:g}: a clear community structure",
    }[sig]
    if sig == "clear" and excess < CLEAR_EXCESS:
        words = f"at least {SOME_EXCESS:g}, with a second level (below): a clear hierarchy"
    out.append(
        reason(
            "signal",
            "excess_modularity.median",
            excess,
            f"Louvain modularity is {_g(q1)} (median), {_g(abs(excess))} {'above' if excess >= 0 else 'below'} "
            "a degree-preserving shuffle of the same "
            f"graphs, {words}.",
            CLEAR_EXCESS if sig == "clear" else SOME_EXCESS,
        )
    )
    if second is not None:
        out.append(
            reason(
                "second-level",
                "second_modularity.median",
                second,
                f"The communities' own graph has a Louvain modularity of {_g(second)} (median): "
                + (
                    f"at least {SECOND_LEVEL:g}, the communities group again (a second level)."
                    if second >= SECOND_LEVEL
                    else f"under {SECOND_LEVEL:g}, no clear second level."
                ),
                SECOND_LEVEL,
            )
        )
    return out
