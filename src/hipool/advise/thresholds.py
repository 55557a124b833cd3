"""The thresholds of ``hipool advise``'s rules (:mod:`hipool.advise.rules`), as named constants.

``--json`` records them (``recommendation.thresholds``); ``docs/advise.md`` shows how they were set.
"""

from __future__ import annotations

from ..nn.auto import DEFAULT_TOP

#: Median nodes below which graphs are small (seed rule: global below 50 nodes without a clear hierarchy).
SMALL_NODES = 50
#: Median nodes from which graphs are large (seed rule: hierarchical for 100+ nodes with a hierarchy).
LARGE_NODES = 100
#: Median nodes from which the contraction is Graclus (no parameters) rather than EdgePool.
VERY_LARGE_NODES = 1000
#: Louvain modularity above a degree-preserving shuffle's (median) from which there is *some* community structure.
SOME_EXCESS = 0.15
#: Louvain modularity above a degree-preserving shuffle's (median) from which the community structure is *clear*.
CLEAR_EXCESS = 0.30
#: Median modularity of the communities' own graph from which the communities group again (a second level).
SECOND_LEVEL = 0.30
#: Largest share of a median graph's nodes that the first known level may keep and still count as a hierarchy.
KNOWN_MAX_KEPT = 0.9
#: p90 / p10 of the node counts from which the schedule is ``auto``.
AUTO_SPREAD = 4.0
#: Share of the graphs that must have an edge for pooling to be worth advising.
MIN_EDGE_SHARE = 0.5
#: Most levels a recommendation has.
MOST_LEVELS = 4

#: Every threshold by name (what ``--json`` records under ``recommendation.thresholds``).
THRESHOLDS = {
    "SMALL_NODES": SMALL_NODES,
    "LARGE_NODES": LARGE_NODES,
    "VERY_LARGE_NODES": VERY_LARGE_NODES,
    "SOME_EXCESS": SOME_EXCESS,
    "CLEAR_EXCESS": CLEAR_EXCESS,
    "SECOND_LEVEL": SECOND_LEVEL,
    "KNOWN_MAX_KEPT": KNOWN_MAX_KEPT,
    "AUTO_SPREAD": AUTO_SPREAD,
    "MIN_EDGE_SHARE": MIN_EDGE_SHARE,
    "AUTO_TOP": DEFAULT_TOP,
}
