"""The files of a run folder whose ``run.json`` does not record them (written by a hipool that did
not record them yet), found by the names of the layouts (:mod:`hipool.runs`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Optional, Set, Tuple

from .manifest import (
    CHECKPOINT,
    CONFIG,
    DEMO_MODELS_UNNAMED,
    FOLDS,
    METRICS,
    RESULT,
    SPLIT,
    TRAIN_MODEL,
    FoldFiles,
    Manifest,
    ModelFiles,
    ModelRecord,
    RunFiles,
)


def unrecorded_files(m: Manifest) -> RunFiles:
    """The files of a run folder whose ``run.json`` does not record them, found by their names."""
    folder = m.folder

    def have(name: str) -> Optional[str]:
        return name if (folder / name).is_file() else None

    if m.command == "train":
        return RunFiles(
            config=have(CONFIG),
            split=have(SPLIT),
            result=have(RESULT),
            models={TRAIN_MODEL: ModelFiles(checkpoint=have(CHECKPOINT), metrics=have(METRICS))},
        )
    if m.command == "demo":
        return RunFiles(
            config=have(CONFIG),
            split=have(SPLIT),
            summary=have("summary.md"),
            summary_json=have("summary.json"),
            report=have("report.html"),
            models={
                n: ModelFiles(checkpoint=have(f"{n}/{CHECKPOINT}"), metrics=have(f"{n}/{METRICS}"))
                for n in list(m.models) or DEMO_MODELS_UNNAMED
            },
        )
    if m.command == "compare":
        return RunFiles(
            split=have(FOLDS),
            summary=have("summary.md"),
            summary_json=have("summary.json"),
            summary_csv=have("summary.csv"),
            folds_csv=have("folds.csv"),
            picture=have("accuracy.png"),
            models={name: ModelFiles(folds=_unit_files(folder, name, record)) for name, record in m.models.items()},
        )
    return RunFiles()


_UNIT_FILE = re.compile(r"(select|final)-c([0-9]{2,6})-r([0-9]{1,6})\.(json|pt)")


def _unit_files(folder: Path, name: str, record: ModelRecord) -> Dict[int, FoldFiles]:
    """Per fold, the unit files of model ``name`` in ``units/<name>/fold<k>/`` (a compare whose
    ``run.json`` does not record them); the fold's selected config is the one with final runs."""
    base = folder / "units" / name
    configs = len(record.grid) if record.grid is not None else None
    folds: Dict[int, FoldFiles] = {}
    for sub in sorted(base.iterdir()) if base.is_dir() else []:
        number = re.fullmatch(r"fold([0-9]{2,6})", sub.name)
        if number is None or not sub.is_dir():
            continue
        units = set()
        for p in sub.iterdir():
            m = _UNIT_FILE.fullmatch(p.name)
            if m is not None and (configs is None or int(m.group(2)) < configs):
                units.add((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
        finals = sorted(c for kind, c, r, _ in units if kind == "final" and r == 0)
        if not finals:
            continue
        c, prefix = finals[0], f"units/{name}/{sub.name}/"
        selection = tuple(
            f"{prefix}select-c{i:02d}-r0.json"
            for i in sorted(i for kind, i, _, ext in units if kind == "select" and ext == "json")
        )
        records = tuple(f"{prefix}final-c{c:02d}-r{r}.json" for r in range(_repeats(units, c, "json")))
        checkpoints = tuple(f"{prefix}final-c{c:02d}-r{r}.pt" for r in range(_repeats(units, c, "pt")))
        folds[int(number.group(1))] = FoldFiles(c, selection, records, checkpoints)
    return folds


def _repeats(units: Set[Tuple[str, int, int, str]], config: int, ext: str) -> int:
    """How many final runs of ``config`` have a file ``.ext``, from repeat 0 up to the first missing."""
    n = 0
    while ("final", config, n, ext) in units:
        n += 1
    return n
