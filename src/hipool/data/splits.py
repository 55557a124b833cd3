"""Stratified splits of a labelled dataset, deterministic given a seed."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np


def stratified_split(labels: Sequence[int], fractions: Sequence[float], seed: int = 0) -> List[List[int]]:
    """Split indices into parts with the given fractions, class by class.

    Each class's indices are shuffled with ``seed`` and cut in proportion to
    ``fractions`` (which must sum to 1), so every part keeps the class balance.
    Returns one sorted index list per part.
    """
    fractions = [float(f) for f in fractions]
    if not fractions or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"stratified_split: 'fractions' must be non-negative and sum to 1, got {fractions}")
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
