"""The plan of a comparison: its settings, the outer folds, the models and their grids, the units.

:class:`Plan` resolves the models (named or config files) and their grids, checks every
config against the data before anything is written, and fixes the folds (read back from the
run folder on a re-run, so they never change under a comparison); it names every unit
(:class:`~hipool.compare.unit.Unit`) and what it needs to run (:meth:`Plan.job`).  Running
the units is :mod:`hipool.compare.schedule`'s job.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..config import ModelConfig
from ..data.base import GraphDataset
from ..data.splits import labels_hash, stratified_holdout, stratified_kfold
from ..grid import Grid, GridPoint, load_grid
from ..io import clip, shown
from ..nn.models import check_model_data
from ..presets import GLOBAL_NAME, resolve_model
from ..runs import FOLDS, check_name, read_manifest, read_splits
from ..train.runner import check_classification
from ..train.settings import TrainSettings
from .unit import FINAL, SELECT, Unit

#: Most final runs per fold (``--repeats``), and most training runs of one comparison: its plan
#: is held in memory (``--repeats 100000000`` ran out of it before a single run).
MAX_REPEATS = 1000
MAX_UNITS = 1_000_000


@dataclass
class CompareSettings:
    """Everything ``hipool compare`` takes (see :mod:`hipool.compare`)."""

    dataset: str
    models: List[str]
    out: Path
    folds: int = 10
    repeats: int = 3
    holdout: float = 0.1
    seed: int = 0
    grid: Optional[Path] = None
    splits: Optional[Path] = None
    train: TrainSettings = field(default_factory=TrainSettings)
    jobs: int = 1
    threads: Optional[int] = None
    device: str = "cpu"
    data_root: Optional[str] = None
    cache_dir: Optional[str] = None
    progress: bool = True
    argv: Optional[List[str]] = None  # the command line, for the records

    def __post_init__(self) -> None:
        """The types of the fields (the values are checked where they are used, naming their flag)."""
        from ..train.command import check_request_fields

        check_request_fields(
            self,
            {
                "dataset": "str",
                "models": "strings",
                "out": "path",
                "holdout": "number",
                "grid": "path?",
                "splits": "path?",
                "argv": "strings?",
            },
        )
        if not isinstance(self.train, TrainSettings):
            raise ValueError(f"CompareSettings: 'train' must be a TrainSettings, got {type(self.train).__name__}")


# -- folds --------------------------------------------------------------------------------------
def make_folds(
    dataset: GraphDataset, k: int, holdout: float, seed: int, given: Optional[Path] = None
) -> List[Dict[str, List[int]]]:
    """Outer folds ``{"train", "holdout", "test"}`` (``train`` is the inner training set):
    stratified and seeded, or read from ``given`` (checked against the dataset)."""
    labels = dataset.labels()
    if given is not None:
        outer = read_splits(given, dataset=dataset.name, labels=labels, parts=("train", "test"))
    else:
        if len(labels) < k:
            raise ValueError(f"--folds {k}: dataset {dataset.name} has only {len(labels)} graphs")
        outer = stratified_kfold(labels, k, seed=seed)
    folds = []
    for i, f in enumerate(outer):
        if "holdout" in f:  # a splits file that already has its inner holdout
            folds.append({"train": list(f["train"]), "holdout": list(f["holdout"]), "test": list(f["test"])})
        else:
            train = list(f["train"])
            inner = stratified_holdout([labels[j] for j in train], holdout, seed=seed * 1000 + i)
            folds.append(
                {
                    "train": [train[j] for j in inner["train"]],
                    "holdout": [train[j] for j in inner["holdout"]],
                    "test": list(f["test"]),
                }
            )
        empty = [part for part in ("train", "holdout", "test") if not folds[-1][part]]
        if empty:  # torch's sampler said "num_samples should be a positive integer value" mid-run
            source = (
                f"splits file {given}"
                if given is not None
                else f"--holdout {holdout} of {len(f['train'])} training graphs"
                if empty[0] != "test"
                else f"--folds {k}"
            )
            raise ValueError(
                f"{source}: fold {i} has no {empty[0]} graph ({len(folds[-1]['train'])} train, "
                f"{len(folds[-1]['holdout'])} holdout, {len(folds[-1]['test'])} test); every part needs "
                f"at least one"
            )
    return folds


# -- the plan -------------------------------------------------------------------------------------
class Plan:
    """A comparison's plan: dataset, folds, models and their grids, and the units to run."""

    def __init__(self, settings: CompareSettings, dataset: GraphDataset, log: Callable[[str], None] = print):
        self.s = settings
        self.dataset = dataset
        self.log = log
        self.out = Path(settings.out)
        check_classification(dataset)
        if not settings.models:
            raise ValueError("--models: name at least one model")
        mean_nodes = statistics.fmean(g.num_nodes for g in dataset)
        self.configs: Dict[str, ModelConfig] = {}
        for spec in settings.models:
            name, config = resolve_model(spec, mean_nodes, dataset.num_known_levels)
            if not check_name(name):  # it names the folders units/<name>/ of the run folder
                raise ValueError(
                    f"--models {clip(spec)}: the model name {shown(name, 60)} (the file's name without "
                    f".yaml) cannot name a folder (at most 200 characters, no '/', not '.' or '..'); "
                    f"rename the file"
                )
            if name in self.configs:
                raise ValueError(f"--models: {name!r} is named twice")
            if config.task != "graph":
                raise ValueError(f"--models: {spec} is a node model ('task: node'); compare classifies graphs")
            self.configs[name] = config
        self.grid: Grid = load_grid(settings.grid, list(self.configs))
        self.points: Dict[str, List[GridPoint]] = {
            name: self.grid.points(name, config, settings.train, is_global=config.is_global or name == GLOBAL_NAME)
            for name, config in self.configs.items()
        }
        for name, points in self.points.items():  # before the folder is claimed: such a model writes nothing
            for p in points:
                try:
                    check_model_data(p.config, dataset)
                except ValueError as e:
                    which = f" with {self.grid.source} config c{p.index} ({p.label()})" if p.overrides else ""
                    raise ValueError(f"--models {name}{which}: {e}") from None
        # A re-run reads the folds it wrote (so they never change under it); --splits reads another's.
        given = settings.splits
        if (
            given is None
            and (self.out / FOLDS).is_file()
            and read_manifest(self.out, advice="; choose another --out") is not None
        ):
            given = self.out / FOLDS
        self.folds = make_folds(dataset, settings.folds, settings.holdout, settings.seed, given)
        self.folds_requested = len(self.folds) if settings.splits is not None else settings.folds
        units = len(self.folds) * sum((len(p) if len(p) > 1 else 0) + settings.repeats for p in self.points.values())
        if units > MAX_UNITS:
            raise ValueError(
                f"--folds {len(self.folds)}, --repeats {settings.repeats} and the grid make {units:,} "
                f"training runs; a comparison may have at most {MAX_UNITS:,}"
            )

    def identity(self) -> Dict[str, Any]:
        """What a re-run must repeat to resume the run folder (``run.json``'s ``identity``)."""
        labels = self.dataset.labels()
        return {
            "dataset": self.dataset.name,
            "num_graphs": len(labels),
            "labels_hash": labels_hash(labels),
            "folds": self.folds_requested,
            "folds_hash": _hash(self.folds),
            "repeats": self.s.repeats,
            "holdout": self.s.holdout,
            "seed": self.s.seed,
            "train": self.s.train.to_dict(),
            "grid": self.grid.to_dict(),
        }

    def model_records(self) -> Dict[str, Any]:
        """Every model's config and the configs of its grid (``run.json``'s ``models``)."""
        return {
            name: {
                "config": self.configs[name].to_dict(),
                "grid": [
                    {"overrides": p.overrides, "config": p.config.to_dict(), "train": p.train.to_dict()}
                    for p in self.points[name]
                ],
            }
            for name in self.configs
        }

    def selection_units(self) -> List[Unit]:
        """Every model-selection unit (none for a model with one config), fold by fold."""
        out = []
        for fold in range(len(self.folds)):
            for name in self.configs:
                if len(self.points[name]) > 1:
                    out += [Unit(name, fold, SELECT, p.index, 0) for p in self.points[name]]
        return out

    def finals(self, name: str, fold: int, selected: int) -> List[Unit]:
        """The final runs of ``name`` in ``fold`` with its ``selected`` config, repeat by repeat."""
        return [Unit(name, fold, FINAL, selected, r) for r in range(self.s.repeats)]

    def job(self, unit: Unit) -> Dict[str, Any]:
        """What :func:`~hipool.compare.unit.run_unit` needs to run ``unit`` (plain data, for a worker)."""
        point = self.points[unit.model][unit.config]
        fold = self.folds[unit.fold]
        return {
            "model": unit.model,
            "fold": unit.fold,
            "phase": unit.phase,
            "config_index": unit.config,
            "repeat": unit.repeat,
            "seed": unit.seed(self.s.seed),
            "path": unit.path,
            "out": str(self.out),
            "overrides": point.overrides,
            "config": point.config.to_dict(),
            "train": point.train.to_dict(),
            "train_idx": fold["train"],
            "holdout_idx": fold["holdout"],
            "test_idx": fold["test"],
            "device": self.s.device,
        }


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
