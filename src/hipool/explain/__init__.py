"""Seeing the hierarchy: export, metrics, which level decided, pictures (``hipool explain``, ``report``).

:mod:`.export` (one graph's :class:`GraphHierarchy`: JSON, GraphML, networkx), :mod:`.metrics`
(recovery of a known hierarchy, balance, connectedness, coverage; needs scikit-learn),
:mod:`.decide` (each level's contribution to a prediction), :mod:`.plot` (pictures; needs
matplotlib and networkx), :mod:`.run` (open a run folder), :mod:`.command` (``hipool explain``).
"""

from .decide import decisions, level_contributions
from .export import GraphHierarchy, explain_graph, write_graphml
from .metrics import hierarchy_metrics, recovery, summarize_metrics

__all__ = [
    "GraphHierarchy",
    "explain_graph",
    "write_graphml",
    "hierarchy_metrics",
    "recovery",
    "summarize_metrics",
    "level_contributions",
    "decisions",
]
