"""One training run of a comparison (a *unit*): its name and seed, its work, and its record.

A unit trains one config of one model in one outer fold, either for model selection
(``select``: early stopping on the fold's holdout, no test) or as a final run (``final``:
tested on the fold's test part, its checkpoint kept).  :func:`run_unit` does the work, in
the parent process or in a worker, and writes the unit's record atomically; the record
lists the files the unit wrote (``"files": {"checkpoint": ...}``), which the parent then
records in ``run.json`` (:mod:`hipool.runs`).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from ..checks import is_number
from ..config import ModelConfig
from ..data.base import GraphDataset
from ..io import atomic_write_text, shown
from ..train.checkpoint import save_checkpoint
from ..train.runner import train_model
from ..train.settings import TrainSettings

SELECT, FINAL = "select", "final"
UNIT_FORMAT = "hipool-unit/1"


@dataclass(frozen=True)
class Unit:
    """One training run of a comparison."""

    model: str
    fold: int
    phase: str
    config: int
    repeat: int

    @property
    def path(self) -> str:
        """Its record, relative to the run folder."""
        return f"units/{self.model}/fold{self.fold:02d}/{self.phase}-c{self.config:02d}-r{self.repeat}.json"

    def seed(self, base: int) -> int:
        """The unit's own seed: a function of ``--seed`` and its name only."""
        return zlib.crc32(f"{base}/{self.model}/{self.fold}/{self.phase}/{self.config}/{self.repeat}".encode())

    def label(self) -> str:
        return f"{self.model} fold {self.fold} {self.phase} c{self.config} r{self.repeat}"


def checkpoint_path(unit_path: str) -> str:
    """Where a final unit's checkpoint lies, next to its result file."""
    return unit_path[: -len(".json")] + ".pt"


_WORKER: Dict[str, Any] = {}


def init_worker(dataset_spec: str, data_root: Optional[str], cache_dir: Optional[str], threads: int) -> None:
    """Set up a worker process of ``--jobs N``: its threads and its copy of the dataset."""
    from ..data.registry import load_dataset

    torch.set_num_threads(threads)
    _WORKER["dataset"] = load_dataset(dataset_spec, data_root, cache_dir=cache_dir)


def run_unit(job: Dict[str, Any], dataset: Optional[GraphDataset] = None) -> Dict[str, Any]:
    """Train one unit and write its result file atomically; returns the result record."""
    dataset = dataset if dataset is not None else _WORKER["dataset"]
    config = ModelConfig.from_dict(job["config"], source=f"unit {job['path']}")
    settings = TrainSettings.from_dict(job["train"], source=f"unit {job['path']}")
    model, fit_result, run = train_model(
        dataset,
        config,
        settings,
        job["train_idx"],
        job["holdout_idx"],
        job["test_idx"] if job["phase"] == FINAL else None,
        seed=job["seed"],
        device=job["device"],
        progress=False,
    )
    files = {}
    if job["phase"] == FINAL:  # for `hipool explain` / `report`; before the record that marks the unit done
        files["checkpoint"] = checkpoint_path(job["path"])
        save_checkpoint(
            Path(job["out"]) / files["checkpoint"],
            model,
            extra={"best_epoch": run.best_epoch, "val_acc": run.val_acc, "test_acc": run.test_acc},
        )
    record = {
        "format": UNIT_FORMAT,
        **{k: job[k] for k in ("model", "fold", "phase", "config_index", "repeat", "seed")},
        "overrides": job["overrides"],
        "config": job["config"],
        "train": job["train"],
        "result": run.to_dict(),
        "history": [
            [
                m.epoch,
                round(m.train_loss, 6),
                round(m.train_acc, 6),
                round(m.val_loss, 6),
                round(m.val_acc, 6),
                round(m.seconds, 4),
            ]
            for m in fit_result.history
        ],
        "threads": torch.get_num_threads(),
        "device": job["device"],
        "files": files,
    }
    atomic_write_text(Path(job["out"]) / job["path"], json.dumps(record, indent=1))
    return record


#: The result fields of a unit record that the summary reads, and whether they may be null.
_UNIT_RESULT = {
    "val_acc": False,
    "val_loss": False,
    "test_acc": True,
    "best_epoch": False,
    "epochs_run": False,
    "seconds_per_epoch": False,
    "peak_mb": False,
    "parameters": False,
    "seconds": False,
}


def check_unit_record(record: Any, path: Path) -> Dict[str, Any]:
    """``record`` if it is a unit's result record as :func:`run_unit` writes it (the fields the
    summary and ``hipool report`` read, with their types); a ``ValueError`` naming ``path`` otherwise."""
    if not isinstance(record, dict) or record.get("format") != UNIT_FORMAT:
        raise ValueError(f'{path}: not a training run record of hipool compare (no "format": "{UNIT_FORMAT}")')
    result = record.get("result")
    if not isinstance(result, dict):
        raise ValueError(f"{path}: the record has no 'result' mapping")
    final = Path(path).name.startswith(f"{FINAL}-")  # a final run is tested: its test_acc is a number
    for key, nullable in _UNIT_RESULT.items():
        v = result.get(key)
        if v is None and nullable and not final:
            continue
        if not is_number(v):
            raise ValueError(f"{path}: the record's 'result.{key}' is {shown(v, 60)}, not a number")
        if key == "val_loss":  # it includes the poolers' auxiliary losses, some negative by design
            if not math.isfinite(v):  # (JustBalance's balance term is -tr(sqrt(S^T S))): any finite number
                raise ValueError(f"{path}: the record's 'result.val_loss' is {shown(v, 60)}, not a finite number")
            continue
        low, high = (0, 1) if key.endswith("_acc") else (0, math.inf)
        if not (low <= v <= high):
            raise ValueError(f"{path}: the record's 'result.{key}' is {shown(v, 60)}, outside [{low}, {high}]")
    groups = result.get("test_groups")
    if groups is not None and not (
        isinstance(groups, dict)
        and all(
            isinstance(g, dict) and (g.get("acc") is None or isinstance(g.get("acc"), (int, float)))
            for g in groups.values()
        )
    ):
        raise ValueError(f"{path}: the record's 'result.test_groups' is not a mapping of group results")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(row, list) and len(row) >= 6 and all(is_number(v) for v in row) for row in history
    ):
        raise ValueError(f"{path}: the record's 'history' is not a list of rows of numbers")
    files = record.get("files", {})
    if not isinstance(files, dict) or not isinstance(files.get("checkpoint", ""), str):
        raise ValueError(f"{path}: the record's 'files' is {shown(files, 60)}, not a mapping of file names")
    return record


def unit_checkpoint(record: Dict[str, Any], unit: Unit) -> str:
    """The checkpoint a final unit's (checked) record says it wrote; a record of a hipool that did
    not list its files: the name it gave it (which may not exist: older still did not write one).
    A unit writes its checkpoint next to its record, so a record naming any other file (another
    folder's, an absolute path) is refused, naming the record."""
    expected = checkpoint_path(unit.path)
    named = record.get("files", {}).get("checkpoint")
    if named is not None and named != expected:
        raise ValueError(
            f"{unit.path}: the record's 'files.checkpoint' is {shown(named, 80)}, but a unit writes its "
            f"checkpoint next to its record, {expected}; the record was changed by hand or belongs to "
            f"another run (delete it and run the command again to train this unit anew)"
        )
    return expected
