"""``hipool compare``: a fair, resumable comparison of models on one dataset.

The protocol is Errica et al.'s (ICLR 2020, "A fair comparison of graph neural
networks for graph classification"):

1. **Outer folds.**  A stratified k-fold split of the dataset (seeded), saved to
   ``OUT/folds.json`` and used for every model.  Each fold's training part is cut
   again, class by class, into an inner training set and a 10 % holdout.
2. **Model selection inside each fold.**  Every config of the model's grid is trained
   on the inner training set with early stopping on the holdout; the config with
   the best holdout accuracy (then loss, then grid order) is selected.  The outer
   test fold is never looked at.  With one config (no grid) this step is skipped.
3. **Assessment.**  The selected config is trained ``R`` times (different seeds) on
   the inner training set with early stopping on the holdout; the fold's score is
   the mean test accuracy of the ``R`` runs on the outer test fold.  A model's score
   is the mean ± standard deviation (``ddof=0``) of its fold scores.  When the dataset
   has a :class:`~hipool.data.base.Breakdown` (e.g. circuits by defect level), the
   same is done with the test accuracy on every group of graphs.

Every training run is a *unit* (model, fold, phase, config, repeat) with its own
seed, derived from ``--seed`` and the unit's name, so a unit gives the same result
whenever and wherever it runs (with the same thread count).  Each unit's result is
a JSON file written atomically under ``OUT/units/``; a re-run of the same command
skips the units that have one (and removes the temporary files of the units a kill
interrupted, unless their writer still runs), so killing a comparison loses at most the
units in flight.  ``--jobs N`` runs units in ``N`` worker processes (``--jobs`` and
``--threads`` at most 4 x the CPUs).  A grid may give a model at most 1,000 configs.
Every config of every model is checked against the data before the folder is claimed
(:func:`~hipool.nn.models.check_model_data`), and while it runs the comparison holds
its folder: a second command on the same ``--out`` is refused.

Output folder::

    OUT/run.json        what wrote the folder (command, identity, models, versions)
    OUT/folds.json      the outer folds and their inner holdouts
    OUT/units/<model>/fold<k>/<phase>-c<config>-r<repeat>.json   one per training run
    OUT/units/<model>/fold<k>/final-c<config>-r<repeat>.pt     the final runs' checkpoints
                                                              (for ``hipool explain`` / ``report``)
    OUT/summary.csv, summary.md, summary.json   mean ± std per model and the details
    OUT/folds.csv       every fold's selected config and test accuracy per model
    OUT/accuracy.png    box plot of the fold accuracies per model
"""
from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import json
import math
import multiprocessing
import statistics
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from tqdm.auto import tqdm

from .config import ModelConfig
from .data.base import Breakdown, GraphDataset
from .data.splits import (
    labels_hash,
    save_splits,
    stratified_holdout,
    stratified_kfold,
)
from .grid import Grid, GridPoint, load_grid
from .io import atomic_path, atomic_write_text, clip, json_text, read_json, shown
from .nn.models import check_model_data
from .presets import GLOBAL_NAME, check_model_names, resolve_model
from .runs import (
    check_name,
    claim_run_folder,
    data_record,
    read_manifest,
    read_splits,
    run_folder_lock,
    update_manifest,
    versions,
)
from .train.checkpoint import save_checkpoint
from .train.runner import (
    check_classification,
    check_seed,
    check_workers,
    cpu_count,
    resolve_device,
    train_model,
)
from .train.settings import TrainSettings

SELECT, FINAL = "select", "final"
UNIT_FORMAT = "hipool-unit/1"
#: Most final runs per fold (``--repeats``), and most training runs of one comparison: its plan
#: is held in memory (``--repeats 100000000`` ran out of it before a single run).
MAX_REPEATS = 1000
MAX_UNITS = 1_000_000


@dataclass
class CompareSettings:
    """Everything ``hipool compare`` takes (see the module docstring)."""

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
        from .train.command import check_request_fields
        check_request_fields(self, {"dataset": "str", "models": "strings", "out": "path", "holdout": "number",
                                    "grid": "path?", "splits": "path?", "argv": "strings?"})
        if not isinstance(self.train, TrainSettings):
            raise ValueError(f"CompareSettings: 'train' must be a TrainSettings, got {type(self.train).__name__}")


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
        return f"units/{self.model}/fold{self.fold:02d}/{self.phase}-c{self.config:02d}-r{self.repeat}.json"

    def seed(self, base: int) -> int:
        """The unit's own seed: a function of ``--seed`` and its name only."""
        return zlib.crc32(f"{base}/{self.model}/{self.fold}/{self.phase}/{self.config}/{self.repeat}".encode())

    def label(self) -> str:
        return f"{self.model} fold {self.fold} {self.phase} c{self.config} r{self.repeat}"


# -- folds --------------------------------------------------------------------------------------
def make_folds(dataset: GraphDataset, k: int, holdout: float, seed: int,
               given: Optional[Path] = None) -> List[Dict[str, List[int]]]:
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
            folds.append({"train": [train[j] for j in inner["train"]],
                          "holdout": [train[j] for j in inner["holdout"]], "test": list(f["test"])})
        empty = [part for part in ("train", "holdout", "test") if not folds[-1][part]]
        if empty:  # torch's sampler said "num_samples should be a positive integer value" mid-run
            source = f"splits file {given}" if given is not None else \
                f"--holdout {holdout} of {len(f['train'])} training graphs" if empty[0] != "test" else f"--folds {k}"
            raise ValueError(f"{source}: fold {i} has no {empty[0]} graph ({len(folds[-1]['train'])} train, "
                             f"{len(folds[-1]['holdout'])} holdout, {len(folds[-1]['test'])} test); every part needs "
                             f"at least one")
    return folds


# -- the work of one unit (also in worker processes) ---------------------------------------------
_WORKER: Dict[str, Any] = {}


def _init_worker(dataset_spec: str, data_root: Optional[str], cache_dir: Optional[str], threads: int) -> None:
    from .data.registry import load_dataset
    torch.set_num_threads(threads)
    _WORKER["dataset"] = load_dataset(dataset_spec, data_root, cache_dir=cache_dir)


def checkpoint_path(unit_path: str) -> str:
    """Where a final unit's checkpoint lies, next to its result file."""
    return unit_path[:-len(".json")] + ".pt"


def run_unit(job: Dict[str, Any], dataset: Optional[GraphDataset] = None) -> Dict[str, Any]:
    """Train one unit and write its result file atomically; returns the result record."""
    dataset = dataset if dataset is not None else _WORKER["dataset"]
    config = ModelConfig.from_dict(job["config"], source=f"unit {job['path']}")
    settings = TrainSettings.from_dict(job["train"], source=f"unit {job['path']}")
    model, fit_result, run = train_model(
        dataset, config, settings, job["train_idx"], job["holdout_idx"],
        job["test_idx"] if job["phase"] == FINAL else None,
        seed=job["seed"], device=job["device"], progress=False)
    if job["phase"] == FINAL:  # for `hipool explain` / `report`; before the record that marks the unit done
        save_checkpoint(Path(job["out"]) / checkpoint_path(job["path"]), model,
                        extra={"best_epoch": run.best_epoch, "val_acc": run.val_acc, "test_acc": run.test_acc})
    record = {
        "format": UNIT_FORMAT, **{k: job[k] for k in ("model", "fold", "phase", "config_index", "repeat", "seed")},
        "overrides": job["overrides"], "config": job["config"], "train": job["train"],
        "result": run.to_dict(),
        "history": [[m.epoch, round(m.train_loss, 6), round(m.train_acc, 6), round(m.val_loss, 6),
                     round(m.val_acc, 6), round(m.seconds, 4)] for m in fit_result.history],
        "threads": torch.get_num_threads(), "device": job["device"],
    }
    atomic_write_text(Path(job["out"]) / job["path"], json.dumps(record, indent=1))
    return record


#: The result fields of a unit record that the summary reads, and whether they may be null.
_UNIT_RESULT = {"val_acc": False, "val_loss": False, "test_acc": True, "best_epoch": False, "epochs_run": False,
                "seconds_per_epoch": False, "peak_mb": False, "parameters": False, "seconds": False}


def check_unit_record(record: Any, path: Path) -> Dict[str, Any]:
    """``record`` if it is a unit's result record as :func:`run_unit` writes it (the fields the
    summary and ``hipool report`` read, with their types); a ``ValueError`` naming ``path`` otherwise."""
    if not isinstance(record, dict) or record.get("format") != UNIT_FORMAT:
        raise ValueError(f"{path}: not a training run record of hipool compare (no \"format\": \"{UNIT_FORMAT}\")")
    result = record.get("result")
    if not isinstance(result, dict):
        raise ValueError(f"{path}: the record has no 'result' mapping")
    final = Path(path).name.startswith(f"{FINAL}-")  # a final run is tested: its test_acc is a number
    for key, nullable in _UNIT_RESULT.items():
        v = result.get(key)
        if v is None and nullable and not final:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{path}: the record's 'result.{key}' is {shown(v, 60)}, not a number")
        low, high = (0, 1) if key.endswith("_acc") else (0, math.inf)
        if not (low <= v <= high) or (key == "val_loss" and not math.isfinite(v)):
            raise ValueError(f"{path}: the record's 'result.{key}' is {shown(v, 60)}, outside [{low}, {high}]")
    groups = result.get("test_groups")
    if groups is not None and not (isinstance(groups, dict) and all(
            isinstance(g, dict) and (g.get("acc") is None or isinstance(g.get("acc"), (int, float)))
            for g in groups.values())):
        raise ValueError(f"{path}: the record's 'result.test_groups' is not a mapping of group results")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(
            isinstance(row, list) and len(row) >= 6
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row) for row in history):
        raise ValueError(f"{path}: the record's 'history' is not a list of rows of numbers")
    return record


# -- the comparison -------------------------------------------------------------------------------
class Comparison:
    """A comparison's plan: dataset, folds, models and their grids, and the units to run."""

    def __init__(self, settings: CompareSettings, dataset: GraphDataset, log: Callable[[str], None] = print):
        self.s = settings
        self.dataset = dataset
        self.log = log
        self.out = Path(settings.out)
        self._records: Dict[Unit, Dict[str, Any]] = {}
        check_classification(dataset)
        if not settings.models:
            raise ValueError("--models: name at least one model")
        mean_nodes = statistics.fmean(g.num_nodes for g in dataset)
        self.configs: Dict[str, ModelConfig] = {}
        for spec in settings.models:
            name, config = resolve_model(spec, mean_nodes, dataset.num_known_levels)
            if not check_name(name):  # it names the folders units/<name>/ of the run folder
                raise ValueError(f"--models {clip(spec)}: the model name {shown(name, 60)} (the file's name without "
                                 f".yaml) cannot name a folder (at most 200 characters, no '/', not '.' or '..'); "
                                 f"rename the file")
            if name in self.configs:
                raise ValueError(f"--models: {name!r} is named twice")
            if config.task != "graph":
                raise ValueError(f"--models: {spec} is a node model ('task: node'); compare classifies graphs")
            self.configs[name] = config
        self.grid: Grid = load_grid(settings.grid, list(self.configs))
        self.points: Dict[str, List[GridPoint]] = {
            name: self.grid.points(name, config, settings.train, is_global=config.is_global or name == GLOBAL_NAME)
            for name, config in self.configs.items()}
        for name, points in self.points.items():  # before the folder is claimed: such a model writes nothing
            for p in points:
                try:
                    check_model_data(p.config, dataset)
                except ValueError as e:
                    which = f" with {self.grid.source} config c{p.index} ({p.label()})" if p.overrides else ""
                    raise ValueError(f"--models {name}{which}: {e}") from None
        # A re-run reads the folds it wrote (so they never change under it); --splits reads another's.
        given = settings.splits
        if given is None and (self.out / "folds.json").is_file() \
                and read_manifest(self.out, advice="; choose another --out") is not None:
            given = self.out / "folds.json"
        self.folds = make_folds(dataset, settings.folds, settings.holdout, settings.seed, given)
        self.folds_requested = len(self.folds) if settings.splits is not None else settings.folds
        units = len(self.folds) * sum((len(p) if len(p) > 1 else 0) + settings.repeats for p in self.points.values())
        if units > MAX_UNITS:
            raise ValueError(f"--folds {len(self.folds)}, --repeats {settings.repeats} and the grid make {units:,} "
                             f"training runs; a comparison may have at most {MAX_UNITS:,}")

    # identity: what must match for a re-run to resume this folder
    def identity(self) -> Dict[str, Any]:
        labels = self.dataset.labels()
        return {"dataset": self.dataset.name, "num_graphs": len(labels), "labels_hash": labels_hash(labels),
                "folds": self.folds_requested, "folds_hash": _hash(self.folds), "repeats": self.s.repeats,
                "holdout": self.s.holdout, "seed": self.s.seed, "train": self.s.train.to_dict(),
                "grid": self.grid.to_dict()}

    def model_records(self) -> Dict[str, Any]:
        return {name: {"config": self.configs[name].to_dict(),
                       "grid": [{"overrides": p.overrides, "config": p.config.to_dict(), "train": p.train.to_dict()}
                                for p in self.points[name]]}
                for name in self.configs}

    def claim(self) -> bool:
        """Claim the run folder (or check the earlier claim) and write the folds."""
        manifest = read_manifest(self.out, advice="; choose another --out") if self.out.is_dir() else None
        resumed = claim_run_folder(self.out, "compare", self.identity(),
                                   extra={"models": self.model_records(), "versions": versions(),
                                          "data": data_record(self.s.dataset, self.s.data_root)},
                                   argv=self.s.argv)
        if resumed:
            known = manifest.get("models", {}) if manifest else {}
            for name, record in self.model_records().items():
                if name in known and json.dumps(known[name], sort_keys=True) != json.dumps(record, sort_keys=True):
                    raise ValueError(f"--out {self.out}: model {name!r} there has another config or grid than "
                                     f"now; rename it or choose another --out (nothing was written)")
            update_manifest(self.out, models={**known, **self.model_records()})
        labels = self.dataset.labels()
        save_splits(self.out / "folds.json", self.folds, dataset=self.dataset.name, labels=labels,
                    seed=self.s.seed, kind=f"{len(self.folds)}-fold, inner holdout {self.s.holdout}")
        return resumed

    # units
    def selection_units(self) -> List[Unit]:
        """Every model-selection unit (none for a model with one config), fold by fold."""
        out = []
        for fold in range(len(self.folds)):
            for name in self.configs:
                if len(self.points[name]) > 1:
                    out += [Unit(name, fold, SELECT, p.index, 0) for p in self.points[name]]
        return out

    def finals(self, name: str, fold: int, selected: int) -> List[Unit]:
        return [Unit(name, fold, FINAL, selected, r) for r in range(self.s.repeats)]

    def job(self, unit: Unit) -> Dict[str, Any]:
        point = self.points[unit.model][unit.config]
        fold = self.folds[unit.fold]
        return {"model": unit.model, "fold": unit.fold, "phase": unit.phase, "config_index": unit.config,
                "repeat": unit.repeat, "seed": unit.seed(self.s.seed), "path": unit.path, "out": str(self.out),
                "overrides": point.overrides, "config": point.config.to_dict(), "train": point.train.to_dict(),
                "train_idx": fold["train"], "holdout_idx": fold["holdout"], "test_idx": fold["test"],
                "device": self.s.device}

    def done(self, unit: Unit) -> Optional[Dict[str, Any]]:
        """The unit's result record, or ``None`` while it has none (read from disk once)."""
        if unit in self._records:
            return self._records[unit]
        path = self.out / unit.path
        if not path.is_file():
            return None
        try:
            record = check_unit_record(read_json(path, "training run record"), path)
            self._check_unit_identity(unit, record, path)
        except ValueError as e:  # cannot happen with atomic writes: someone else wrote it
            raise ValueError(f"{e}; delete it to run that training run again") from None
        self._records[unit] = record
        return record

    def _check_unit_identity(self, unit: Unit, record: Dict[str, Any], path: Path) -> None:
        """A unit file is this unit's: the same model, fold, phase, config, repeat, seed and settings
        (a file copied from another unit, or another comparison, would be summarised as this one)."""
        job = self.job(unit)
        expected = {"model": unit.model, "fold": unit.fold, "phase": unit.phase, "config_index": unit.config,
                    "repeat": unit.repeat, "seed": job["seed"], "config": job["config"], "train": job["train"]}
        rebuild = {"config": lambda d: ModelConfig.from_dict(d).to_dict(),  # keys added since: their defaults
                   "train": lambda d: TrainSettings.from_dict(d).to_dict()}
        for key, value in expected.items():
            if key not in record:
                continue
            mine = record[key]
            if key in rebuild:
                try:
                    mine = rebuild[key](mine)
                except (ValueError, TypeError):
                    pass  # then it differs below
            if json.loads(json.dumps(mine)) != json.loads(json.dumps(value)):
                raise ValueError(f"{path}: a training run record of another run ({key} {shown(record[key], 60)} "
                                 f"there, {shown(value, 60)} here)")

    def _finished(self, unit: Unit, record: Dict[str, Any], bar) -> None:
        self._records[unit] = record
        r = record["result"]
        score = f"test {r['test_acc']:.3f}" if r["test_acc"] is not None else f"val {r['val_acc']:.3f}"
        bar.set_postfix_str(f"{unit.model} fold {unit.fold} {unit.phase}: {score}")
        bar.update(1)

    def selected(self, name: str, fold: int) -> Optional[int]:
        """The selected config of ``name`` in ``fold``, once all its selection units are done."""
        points = self.points[name]
        if len(points) == 1:
            return 0
        scores = []
        for p in points:
            record = self.done(Unit(name, fold, SELECT, p.index, 0))
            if record is None:
                return None
            r = record["result"]
            scores.append((-r["val_acc"], r["val_loss"], p.index))
        return min(scores)[2]

    def run(self) -> Dict[str, Any]:
        """Run every missing unit, then write the summary; returns it."""
        t0 = time.perf_counter()
        resumed = self.claim()
        jobs = max(1, self.s.jobs)
        threads = self.s.threads or max(1, cpu_count() // jobs)
        pending: List[Unit] = []
        waiting = {(name, fold) for fold in range(len(self.folds)) for name in self.configs}
        total = sum(len(self.points[n]) if len(self.points[n]) > 1 else 0 for n in self.configs) * len(self.folds) \
            + len(self.configs) * len(self.folds) * self.s.repeats

        def release() -> None:
            for key in sorted(waiting, key=lambda k: (k[1], list(self.configs).index(k[0]))):
                sel = self.selected(*key)
                if sel is not None:
                    waiting.discard(key)
                    pending.extend(u for u in self.finals(key[0], key[1], sel) if self.done(u) is None)

        pending.extend(u for u in self.selection_units() if self.done(u) is None)
        release()
        finished = total - len(pending) - sum(
            self.s.repeats for key in waiting)  # finals not yet known are not done either
        self.log(f"compare: {self.dataset.name}, {len(self.folds)} folds, models {', '.join(self.configs)}; "
                 f"{total} training runs, {finished} done already{' (resumed)' if resumed else ''}; "
                 f"{jobs} process(es) x {threads} thread(s)")
        bar = tqdm(total=total, initial=finished, desc="compare", unit="run", disable=not self.s.progress,
                   dynamic_ncols=True)
        try:
            if jobs == 1:
                previous = torch.get_num_threads()
                torch.set_num_threads(threads)
                try:
                    while pending:
                        unit = pending.pop(0)
                        try:
                            record = run_unit(self.job(unit), self.dataset)
                        except Exception as e:
                            raise _unit_error(unit, e) from e
                        self._finished(unit, record, bar)
                        release()
                finally:
                    torch.set_num_threads(previous)
            else:
                self._run_pool(pending, release, jobs, threads, bar)
        finally:
            bar.close()
        wall = time.perf_counter() - t0
        return write_summary(self, wall_seconds=wall, jobs=jobs, threads=threads)

    def _run_pool(self, pending: List[Unit], release, jobs: int, threads: int, bar) -> None:
        ctx = multiprocessing.get_context("spawn")  # a clean torch in every worker (no forked threads)
        pool = cf.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                      initargs=(self.s.dataset, self.s.data_root, self.s.cache_dir, threads))
        running: Dict[cf.Future, Unit] = {}
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    unit = pending.pop(0)
                    running[pool.submit(run_unit, self.job(unit))] = unit
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    unit = running.pop(future)
                    try:
                        record = future.result()
                    except Exception as e:
                        raise _unit_error(unit, e) from e
                    self._finished(unit, record, bar)
                release()
            pool.shutdown(wait=True)
        except BaseException:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()  # in-flight units are lost; finished ones are on disk
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _unit_error(unit: Unit, e: Exception) -> Exception:
    """The error of a failed unit, naming it (a ValueError stays one: it is about the input)."""
    if isinstance(e, ValueError):
        return ValueError(f"training run {unit.label()}: {e}")
    return RuntimeError(f"training run {unit.label()} failed: {type(e).__name__}: {e}")


def _hash(obj: Any) -> str:
    import hashlib
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


# -- summary --------------------------------------------------------------------------------------
def collect(cmp: Comparison) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Per-fold records and per-model rows from the unit files on disk.

    With a dataset breakdown, every fold record also has ``acc_<group>`` (the mean over
    the fold's final runs; ``None`` when its test fold has no graph of the group) and
    every model row ``acc_<group>_mean`` and ``_std`` over the folds (NaN: no fold has it)."""
    breakdown = cmp.dataset.breakdown
    group_names = breakdown.names if breakdown is not None else ()
    fold_rows, rows = [], []
    for name in cmp.configs:
        fold_scores, finals_all, selects = [], [], []
        chosen: List[int] = []
        group_scores: Dict[str, List[float]] = {g: [] for g in group_names}
        for fold in range(len(cmp.folds)):
            sel = cmp.selected(name, fold)
            if sel is None:
                continue
            finals = [cmp.done(u) for u in cmp.finals(name, fold, sel)]
            if any(f is None for f in finals):
                continue
            accs = [f["result"]["test_acc"] for f in finals]
            fold_scores.append(float(np.mean(accs)))
            finals_all += finals
            chosen.append(sel)
            if len(cmp.points[name]) > 1:
                selects += [cmp.done(Unit(name, fold, SELECT, p.index, 0)) for p in cmp.points[name]]
            fold_rows.append({"model": name, "fold": fold, "selected_config": sel,
                              "selected": cmp.points[name][sel].label(), "test_acc": fold_scores[-1],
                              "test_acc_repeats": ";".join(f"{a:.4f}" for a in accs),
                              "holdout_acc": float(np.mean([f["result"]["val_acc"] for f in finals]))})
            for g in group_names:
                fold_rows[-1][f"acc_{g}"] = acc = _group_acc(finals, g)
                if acc is not None:
                    group_scores[g].append(acc)
        if not fold_scores:
            continue
        results = [f["result"] for f in finals_all]
        counts = {c: chosen.count(c) for c in sorted(set(chosen))}
        rows.append({
            "model": name, "folds": len(fold_scores),
            "test_acc_mean": float(np.mean(fold_scores)), "test_acc_std": float(np.std(fold_scores)),
            "holdout_acc_mean": float(np.mean([r["val_acc"] for r in results])),
            "selected": "; ".join(f"c{c} x{n}" for c, n in counts.items()),
            "epochs_mean": float(np.mean([r["epochs_run"] for r in results])),
            "best_epoch_mean": float(np.mean([r["best_epoch"] for r in results])),
            "parameters": int(statistics.median(r["parameters"] for r in results)),
            "seconds_per_epoch": float(np.mean([r["seconds_per_epoch"] for r in results])),
            "peak_mb": float(statistics.median(r["peak_mb"] for r in results)),
            "unit_seconds": float(sum(r["seconds"] for r in results + [s["result"] for s in selects])),
        })
        for g, scores in group_scores.items():
            rows[-1][f"acc_{g}_mean"] = float(np.mean(scores)) if scores else float("nan")
            rows[-1][f"acc_{g}_std"] = float(np.std(scores)) if scores else float("nan")
    return fold_rows, rows


def _group_acc(finals: List[Dict[str, Any]], group: str) -> Optional[float]:
    """Mean test accuracy on ``group`` over a fold's final runs, skipping runs without one
    (no test graph of the group, or a unit file from before breakdowns); ``None`` if none has it."""
    accs = [((f["result"].get("test_groups") or {}).get(group) or {}).get("acc") for f in finals]
    accs = [a for a in accs if a is not None]
    return float(np.mean(accs)) if accs else None


def _csv(rows: List[Dict[str, Any]]) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def _markdown(cmp: Comparison, rows, fold_rows, meta) -> str:
    k = len(cmp.folds)
    lines = [f"# hipool compare: {cmp.dataset.name}", "",
             f"{k}-fold stratified CV ({meta['num_graphs']} graphs), model selection on a "
             f"{cmp.s.holdout:.0%} holdout of each training fold, {cmp.s.repeats} final run(s) per fold; "
             f"test accuracy mean ± std over folds.", "", *_table(rows, k), "",
             *(_group_table(rows, cmp.dataset.breakdown) if cmp.dataset.breakdown is not None and rows else []),
             "## Configs", ""]
    for name, points in cmp.points.items():
        base = cmp.configs[name]
        lines.append(f"- **{name}**: pool {base.pool if isinstance(base.pool, str) else base.pool}, schedule "
                     f"{base.schedule}, conv {base.conv}, hidden {base.hidden}, readout {base.readout}, "
                     f"combine {base.combine}; train {cmp.s.train.to_dict()}")
        for p in points if len(points) > 1 else []:
            lines.append(f"  - c{p.index}: {p.label()}")
    lines += ["", "## Run", "",
              f"- command: `{' '.join(meta['argv'])}`" if meta.get("argv") else "- command: (API)",
              f"- seed {cmp.s.seed}; folds in `folds.json`; one result file per training run in `units/`",
              f"- this invocation: {meta['wall_seconds']:.0f} s wall, {meta['jobs']} process(es) × "
              f"{meta['threads']} thread(s); training runs total {meta['unit_seconds']:.0f} s",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
              "- s / epoch: training pass only; peak MB: median over runs of "
              + ("the GPU memory allocated at the peak" if cmp.s.device.startswith("cuda") else
                 "the resident memory a run added at its peak"), ""]
    return "\n".join(lines)


def _table(rows: List[Dict[str, Any]], folds: int) -> List[str]:
    """The summary table as Markdown lines."""
    lines = ["| model | test acc | folds | holdout acc | selected | epochs | s / epoch | peak MB | parameters |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['test_acc_mean']:.3f} ± {r['test_acc_std']:.3f} | {r['folds']}/{folds} | "
                     f"{r['holdout_acc_mean']:.3f} | {r['selected']} | {r['epochs_mean']:.0f} | "
                     f"{r['seconds_per_epoch']:.3f} | {r['peak_mb']:.0f} | {r['parameters']:,} |")
    return lines if rows else lines + ["| (no model has a finished fold yet) |||||||||"]


def _group_table(rows: List[Dict[str, Any]], breakdown: Breakdown) -> List[str]:
    """The test accuracy per group of the dataset's breakdown (and overall) as Markdown lines."""
    def cell(mean: float, std: float) -> str:
        return "–" if math.isnan(mean) else f"{mean:.3f} ± {std:.3f}"

    lines = [f"## Accuracy per {breakdown.attr}", "",
             "Test accuracy on the graphs of each group: per fold the mean over its final runs, then "
             "mean ± std over the folds whose test part has graphs of the group (–: none has).", "",
             "| model | " + " | ".join(breakdown.names) + " | overall |", "|---" * (len(breakdown.names) + 2) + "|"]
    for r in rows:
        cells = [cell(r[f"acc_{g}_mean"], r[f"acc_{g}_std"]) for g in breakdown.names]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {cell(r['test_acc_mean'], r['test_acc_std'])} |")
    return lines + [""]


def _box_plot(cmp: Comparison, fold_rows, path: Path) -> Optional[Path]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [n for n in cmp.configs if any(r["model"] == n for r in fold_rows)]
    if not names:
        return None
    data = [[r["test_acc"] for r in fold_rows if r["model"] == n] for n in names]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(names), 4.2), dpi=120)
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names)
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.08, 0.08, len(values)), values, s=14, alpha=0.6, color="tab:blue", zorder=3)
    ax.set_ylabel("test accuracy per fold")
    ax.set_title(f"{cmp.dataset.name}: {len(cmp.folds)}-fold CV ({cmp.s.repeats} run(s) per fold)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def write_summary(cmp: Comparison, *, wall_seconds: float = 0.0, jobs: int = 1, threads: int = 1) -> Dict[str, Any]:
    """Write ``summary.csv``, ``summary.md``, ``summary.json``, ``folds.csv`` and ``accuracy.png``."""
    fold_rows, rows = collect(cmp)
    manifest = read_manifest(cmp.out) or {}
    meta = {"num_graphs": len(cmp.dataset), "argv": cmp.s.argv,
            "wall_seconds": wall_seconds, "jobs": jobs, "threads": threads,
            "unit_seconds": sum(r["unit_seconds"] for r in rows), "versions": versions()}
    atomic_write_text(cmp.out / "summary.csv", _csv(rows))
    atomic_write_text(cmp.out / "folds.csv", _csv(fold_rows))
    atomic_write_text(cmp.out / "summary.md", _markdown(cmp, rows, fold_rows, meta))
    picture = _box_plot(cmp, fold_rows, cmp.out / "accuracy.png")
    summary = {"dataset": cmp.dataset.name, "rows": rows, "folds": fold_rows, "seed": cmp.s.seed,
               "identity": manifest.get("identity"), "first_command": manifest.get("argv"),
               "picture": str(picture) if picture else None, **meta}
    atomic_write_text(cmp.out / "summary.json", json_text(summary))
    return summary


def compare(settings: CompareSettings, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run (or resume) a comparison; returns the summary (also written to ``settings.out``)."""
    from .data.registry import load_dataset
    if isinstance(settings.repeats, bool) or not isinstance(settings.repeats, int) \
            or not 1 <= settings.repeats <= MAX_REPEATS:
        raise ValueError(f"--repeats must be an int from 1 to {MAX_REPEATS:,}, got {shown(settings.repeats)}")
    if isinstance(settings.folds, bool) or not isinstance(settings.folds, int) or settings.folds < 2:
        raise ValueError(f"--folds must be an int >= 2, got {shown(settings.folds)}")
    check_seed(settings.seed)
    check_workers(settings.jobs, "--jobs")
    if settings.threads is not None:
        check_workers(settings.threads, "--threads")
    if not 0 < settings.holdout < 1:
        raise ValueError(f"holdout fraction must be in (0, 1), got {settings.holdout}")
    settings.device = resolve_device(settings.device)
    check_model_names(settings.models)
    dataset = load_dataset(settings.dataset, settings.data_root, cache_dir=settings.cache_dir,
                           progress=settings.progress)
    cmp = Comparison(settings, dataset, log)
    with run_folder_lock(cmp.out):  # a second compare on this folder now is refused
        summary = cmp.run()
    if summary["rows"]:
        log("\n" + "\n".join(_table(summary["rows"], len(cmp.folds))))
    log(f"run folder: {cmp.out}  [{summary['wall_seconds']:.0f}s]")
    return summary

