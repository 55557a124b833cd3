"""The splits file of a run folder (or ``--splits``), read back and checked (:func:`read_splits`)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

from ..io import shown


def read_splits(
    path: Path, *, dataset: str, labels: List[int], parts: Sequence[str] = ()
) -> List[Dict[str, List[int]]]:
    """:func:`~hipool.data.splits.load_splits` for a file of a run folder (or ``--splits``): every
    problem a ``ValueError`` naming the file; each split a mapping of index lists with (at least)
    ``parts``, each index a graph of the dataset, in no two parts of one split."""
    from ..data.splits import load_splits

    path = Path(path)
    splits = load_splits(path, dataset=dataset, labels=labels)
    if not splits:
        raise ValueError(f"splits file {path}: holds no split")
    for i, split in enumerate(splits):
        missing = [p for p in parts if p not in split]
        if missing:
            raise ValueError(
                f"splits file {path}: split {i} has no {', '.join(map(repr, missing))} part "
                f"(it has {', '.join(map(shown, split)) or 'none'})"
            )
        seen: Dict[int, str] = {}
        for part, idx in split.items():
            for j in idx:
                if j in seen and seen[j] != part:
                    raise ValueError(f"splits file {path}: split {i} has graph {j} in both {seen[j]!r} and {part!r}")
                seen[j] = part
    return splits
