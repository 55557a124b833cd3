"""Datasets: TU benchmarks, molecules, the user's own graphs, generated graphs, and splits.

Every loader returns a :class:`~hipool.data.base.GraphDataset` of PyG ``Data`` objects
(see :mod:`hipool.data.base` for the fields, including the known-hierarchy field
``level_labels``); :func:`load_dataset` picks the loader from what the user types.
Loaders that need optional packages import them when called.
"""

from .base import LEVEL_LABELS, Breakdown, GraphDataset
from .registry import format_summary, load_dataset, summarize
from .splits import (
    load_splits,
    save_splits,
    stratified_holdout,
    stratified_kfold,
    stratified_split,
)
from .tu import default_cache_dir, default_data_root, load_tu

__all__ = [
    "LEVEL_LABELS",
    "Breakdown",
    "GraphDataset",
    "load_dataset",
    "summarize",
    "format_summary",
    "load_tu",
    "default_data_root",
    "default_cache_dir",
    "stratified_split",
    "stratified_kfold",
    "stratified_holdout",
    "save_splits",
    "load_splits",
]
