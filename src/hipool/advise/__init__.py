"""``hipool advise``: should this dataset be pooled hierarchically, and how?  Answered with measurements.

The package, one job per module:

* :mod:`~hipool.advise.measure`: what is measured on one graph (size, degrees, a diameter
  estimate, Louvain modularity against a shuffle, the communities' own modularity, the edges one
  coarsening keeps, the known hierarchy);
* :mod:`~hipool.advise.summary`: which graphs are sampled, and the summaries over them;
* :mod:`~hipool.advise.rules`: the recommendation (hierarchical or global, pooler, levels,
  schedule, nodes kept per level); :mod:`~hipool.advise.reasons` words a reason for every
  choice, and :mod:`~hipool.advise.thresholds` holds the thresholds as named constants;
* :mod:`~hipool.advise.check`: ``--check``, the advice tested by a quick stratified CV of the
  hierarchical model against its global twin, with a 95 % interval over folds;
* :mod:`~hipool.advise.command`: the command (printing, ``--json``, ``--write-config``).

``docs/advise.md`` is the guide.
"""

from __future__ import annotations

from .check import fold_differences, interval, run_check, t_quantile, verdict
from .command import JSON_FORMAT, AdviseRequest, advise, model_config, run_advise
from .measure import GraphMeasures, measure_graph
from .rules import recommend
from .summary import DEFAULT_SAMPLE, measure_dataset, sample_indices
from .thresholds import THRESHOLDS

__all__ = [
    "advise",
    "run_advise",
    "AdviseRequest",
    "model_config",
    "JSON_FORMAT",
    "measure_graph",
    "GraphMeasures",
    "measure_dataset",
    "sample_indices",
    "DEFAULT_SAMPLE",
    "recommend",
    "THRESHOLDS",
    "run_check",
    "fold_differences",
    "interval",
    "t_quantile",
    "verdict",
]
