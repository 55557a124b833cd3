"""Stratified splits of a labelled dataset, deterministic given a seed, saved to and read
from JSON so that every model of a comparison sees the same folds."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Dict, List, Sequence, Union

import numpy as np

from ..checks import is_int
from ..io import atomic_write_text


def check_fractions(fractions, who: str) -> List[float]:
    """``fractions`` as floats: finite, non-negative, summing to 1 (NaN would compare False to every
    bound and cut the parts at nonsense); a ``ValueError`` naming ``who`` otherwise."""
    from ..io import shown

    try:
        values = [float(f) for f in fractions]
    except (TypeError, ValueError):
        raise ValueError(f"{who}: 'fractions' must be a list of numbers, got {shown(fractions)}") from None
    if not values or not all(math.isfinite(f) and f >= 0 for f in values) or abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"{who}: 'fractions' must be non-negative and sum to 1 (finite numbers), got {shown(values)}")
    return values


def stratified_split(labels: Sequence[int], fractions: Sequence[float], seed: int = 0) -> List[List[int]]:
    """Split indices into parts with the given fractions, class by class.

    Each class's indices are shuffled with ``seed`` and cut in proportion to
    ``fractions`` (which must sum to 1), so every part keeps the class balance.
    Returns one sorted index list per part.
    """
    fractions = check_fractions(fractions, "stratified_split")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: List[List[int]] = [[] for _ in fractions]
    bounds = np.cumsum(fractions)
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        cuts = np.round(bounds * idx.size).astype(int)
        start = 0
        for part, stop in zip(parts, cuts):
            part.extend(idx[start:stop].tolist())
            start = stop
    return [sorted(p) for p in parts]


def stratified_kfold(labels: Sequence[int], k: int, seed: int = 0) -> List[Dict[str, List[int]]]:
    """``k`` folds, class by class: each class's indices are shuffled with ``seed`` and dealt
    round-robin, so fold sizes and class shares differ by at most one graph per class.
    Returns ``[{"train": [...], "test": [...]}, ...]`` (sorted indices)."""
    if not is_int(k) or k < 2:
        raise ValueError(f"stratified_kfold: 'k' must be an int >= 2, got {k!r}")
    labels = np.asarray(labels)
    if labels.size < k:
        raise ValueError(f"stratified_kfold: {labels.size} graphs cannot make {k} folds")
    rng = np.random.default_rng(seed)
    test: List[List[int]] = [[] for _ in range(k)]
    offset = 0
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            test[(offset + j) % k].append(int(i))
        offset += idx.size  # continue the deal where the last class stopped: balanced fold sizes
    everything = set(range(labels.size))
    return [{"train": sorted(everything - set(t)), "test": sorted(t)} for t in test]


def stratified_holdout(labels: Sequence[int], fraction: float, seed: int = 0) -> Dict[str, List[int]]:
    """``{"train": ..., "holdout": ...}`` with ``fraction`` of every class held out."""
    if not 0 < fraction < 1:
        raise ValueError(f"stratified_holdout: 'fraction' must be in (0, 1), got {fraction!r}")
    train, held = stratified_split(labels, [1 - fraction, fraction], seed)
    return {"train": train, "holdout": held}


def labels_hash(labels: Sequence[int]) -> str:
    """A short hash of the label sequence: tells one dataset's splits from another's."""
    return hashlib.sha256(",".join(str(int(v)) for v in labels).encode()).hexdigest()[:16]


def save_splits(
    path: Union[str, os.PathLike],
    splits: List[Dict[str, List[int]]],
    *,
    dataset: str,
    labels: Sequence[int],
    seed: int,
    kind: str = "kfold",
) -> None:
    """Write splits as JSON (atomically) with what identifies their dataset."""
    payload = {
        "dataset": dataset,
        "num_graphs": len(labels),
        "labels_hash": labels_hash(labels),
        "kind": kind,
        "seed": seed,
        "splits": splits,
    }
    atomic_write_text(Path(path), json.dumps(payload, indent=1))


def load_splits(path: Union[str, os.PathLike], *, dataset: str, labels: Sequence[int]) -> List[Dict[str, List[int]]]:
    """Read splits written by :func:`save_splits`, checking they were made for this dataset
    (graph count and label hash); a clear error otherwise."""
    from ..io import read_json, shown

    path = Path(path)
    payload = read_json(path, "splits file")
    if not isinstance(payload, dict) or not isinstance(payload.get("splits"), list):
        raise ValueError(f"splits file {path}: not a hipool splits file (no 'splits' list)")
    if payload.get("num_graphs") != len(labels) or payload.get("labels_hash") != labels_hash(labels):
        raise ValueError(
            f"splits file {path} was made for {shown(payload.get('dataset'))} with "
            f"{shown(payload.get('num_graphs'))} graphs, not for {dataset!r} with {len(labels)} "
            f"graphs (graph count or labels differ); delete it or use another folder"
        )
    n = len(labels)
    for i, split in enumerate(payload["splits"]):
        if not isinstance(split, dict):
            raise ValueError(f"splits file {path}: split {i} is not a mapping of part names to index lists")
        for part, idx in split.items():
            if not isinstance(idx, list):
                raise ValueError(f"splits file {path}: split {i} part {shown(part)} is not a list of indices")
            if not all(type(j) is int and 0 <= j < n for j in idx):
                raise ValueError(
                    f"splits file {path}: split {i} part {shown(part)} has entries that are not "
                    f"graph indices 0..{n - 1}"
                )
            if len(set(idx)) != len(idx):  # a graph counted twice in a part weighs twice in its accuracy
                twice = next(j for j in idx if idx.count(j) > 1)
                raise ValueError(f"splits file {path}: split {i} part {shown(part)} lists graph {twice} twice")
    return payload["splits"]
