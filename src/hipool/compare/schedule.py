"""Running a comparison: claiming its folder, resuming it, and the two schedulers.

:class:`Comparison` is a :class:`~hipool.compare.plan.Plan` that runs.  It claims the run
folder (or checks an earlier claim: a re-run resumes), reads the records of the units done
already (each checked to be this unit's), and runs the rest: the model-selection units
first, and a fold's final runs as soon as its config is selected.  Units run in this
process or, with ``--jobs N``, in ``N`` spawned worker processes; a worker writes its unit's
files only, and this process, the only writer of ``run.json``, records them there fold by
fold (:func:`~hipool.runs.store.record_files`).  At the end it writes the summary
(:mod:`hipool.compare.summary`).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

import torch
from tqdm.auto import tqdm

from ..config import ModelConfig
from ..data.base import GraphDataset
from ..data.splits import save_splits
from ..io import atomic_write_text, json_text, read_json, shown
from ..runs import (
    FOLDS,
    FoldFiles,
    ModelFiles,
    claim_run_folder,
    data_record,
    read_manifest,
    record_files,
    update_manifest,
    versions,
)
from ..train.runner import cpu_count
from ..train.settings import TrainSettings
from .plan import CompareSettings, Plan
from .summary import write_summary
from .unit import SELECT, Unit, check_unit_record, init_worker, run_unit, unit_checkpoint


class Comparison(Plan):
    """A comparison's plan (:class:`~hipool.compare.plan.Plan`) and its run: claim, resume, schedule."""

    def __init__(self, settings: CompareSettings, dataset: GraphDataset, log: Callable[[str], None] = print):
        super().__init__(settings, dataset, log)
        self._records: Dict[Unit, Dict[str, Any]] = {}
        self._recorded: Dict[Tuple[str, int], FoldFiles] = {}  # what run.json records, fold by fold

    def claim(self) -> bool:
        """Claim the run folder (or check the earlier claim) and write the folds."""
        manifest = read_manifest(self.out, advice="; choose another --out") if self.out.is_dir() else None
        resumed = claim_run_folder(
            self.out,
            "compare",
            self.identity(),
            extra={
                "models": self.model_records(),
                "versions": versions(),
                "data": data_record(self.s.dataset, self.s.data_root),
            },
            argv=self.s.argv,
        )
        if resumed:
            known = manifest.get("models", {}) if manifest else {}
            for name, record in self.model_records().items():
                if name in known and json.dumps(known[name], sort_keys=True) != json.dumps(record, sort_keys=True):
                    raise ValueError(
                        f"--out {self.out}: model {name!r} there has another config or grid than "
                        f"now; rename it or choose another --out (nothing was written)"
                    )
            update_manifest(self.out, models={**known, **self.model_records()})
        labels = self.dataset.labels()
        save_splits(
            self.out / FOLDS,
            self.folds,
            dataset=self.dataset.name,
            labels=labels,
            seed=self.s.seed,
            kind=f"{len(self.folds)}-fold, inner holdout {self.s.holdout}",
        )
        files = record_files(self.out, split=FOLDS)
        self._recorded = {(name, k): fold for name, model in files.models.items() for k, fold in model.folds.items()}
        return resumed

    # -- what is done ------------------------------------------------------------------------------
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
        expected = {
            "model": unit.model,
            "fold": unit.fold,
            "phase": unit.phase,
            "config_index": unit.config,
            "repeat": unit.repeat,
            "seed": job["seed"],
            "config": job["config"],
            "train": job["train"],
        }
        rebuild = {
            "config": lambda d: ModelConfig.from_dict(d).to_dict(),  # keys added since: their defaults
            "train": lambda d: TrainSettings.from_dict(d).to_dict(),
        }
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
                raise ValueError(
                    f"{path}: a training run record of another run ({key} {shown(record[key], 60)} "
                    f"there, {shown(value, 60)} here)"
                )

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

    def fold_files(self, name: str, fold: int) -> Optional[FoldFiles]:
        """The files of ``name`` in ``fold`` that its done units wrote: every selection record, and the
        final runs' records and checkpoints from repeat 0 (``None`` before its config is selected, or
        while it has no file)."""
        selected = self.selected(name, fold)
        if selected is None:
            return None
        points = self.points[name]
        selection = tuple(Unit(name, fold, SELECT, p.index, 0).path for p in points) if len(points) > 1 else ()
        finals: List[str] = []
        checkpoints: List[str] = []
        for unit in self.finals(name, fold, selected):
            record = self.done(unit)
            if record is None:
                break
            finals.append(unit.path)
            checkpoint = unit_checkpoint(record, unit)
            if len(checkpoints) == len(finals) - 1 and (self.out / checkpoint).is_file():
                checkpoints.append(checkpoint)
        return FoldFiles(selected, selection, tuple(finals), tuple(checkpoints)) if selection or finals else None

    def _record(self, keys: Iterable[Tuple[str, int]]) -> None:
        """Record in ``run.json`` the files of these (model, fold) that it does not record yet."""
        changed: Dict[str, Dict[int, FoldFiles]] = {}
        for name, fold in keys:
            files = self.fold_files(name, fold)
            if files is not None and self._recorded.get((name, fold)) != files:
                changed.setdefault(name, {})[fold] = self._recorded[(name, fold)] = files
        if changed:
            record_files(self.out, models={name: ModelFiles(folds=folds) for name, folds in changed.items()})

    # -- wall time over invocations ---------------------------------------------------------------
    def _start_clock(self, t0: float) -> None:
        """Add this invocation to ``OUT/wall.json`` (:data:`WALL`): every invocation's start and its
        wall seconds up to its last finished training run, so that a comparison resumed after a kill
        still reports what it cost in all."""
        self._t0 = t0
        try:
            previous = read_json(self.out / WALL, "wall.json")
            runs = [dict(r) for r in previous.get("invocations", []) if isinstance(r, dict)]
            runs = [r for r in runs if isinstance(r.get("seconds"), (int, float))]
        except (ValueError, OSError, AttributeError):
            runs = []  # no record yet (or a damaged one): the time is counted from here
        runs.append({"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": 0.0, "runs": 0})
        self._wall = runs
        self._tick(finished=0)

    def _tick(self, finished: int = 1) -> None:
        now = self._wall[-1]
        now["seconds"] = round(time.perf_counter() - self._t0, 1)
        now["runs"] = int(now["runs"]) + finished
        atomic_write_text(self.out / WALL, json_text({"invocations": self._wall}))

    def wall_seconds_all(self) -> Tuple[float, int]:
        """The wall seconds of every invocation (see :meth:`_start_clock`) and their number."""
        runs = getattr(self, "_wall", [])
        return float(sum(r["seconds"] for r in runs)), len(runs)

    def _finished(self, unit: Unit, record: Dict[str, Any], bar) -> None:
        if hasattr(self, "_wall"):
            self._tick()
        self._records[unit] = record
        self._record([(unit.model, unit.fold)])
        r = record["result"]
        score = f"test {r['test_acc']:.3f}" if r["test_acc"] is not None else f"val {r['val_acc']:.3f}"
        bar.set_postfix_str(f"{unit.model} fold {unit.fold} {unit.phase}: {score}")
        bar.update(1)

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> Dict[str, Any]:
        """Run every missing unit, then write the summary; returns it."""
        t0 = time.perf_counter()
        resumed = self.claim()
        self._start_clock(t0)
        jobs = max(1, self.s.jobs)
        threads = self.s.threads or max(1, cpu_count() // jobs)
        pending: List[Unit] = []
        waiting: Set[Tuple[str, int]] = {(name, fold) for fold in range(len(self.folds)) for name in self.configs}
        total = (
            sum(len(self.points[n]) if len(self.points[n]) > 1 else 0 for n in self.configs) * len(self.folds)
            + len(self.configs) * len(self.folds) * self.s.repeats
        )

        def release() -> None:
            """Queue the final runs of every fold whose config is selected now."""
            for key in sorted(waiting, key=lambda k: (k[1], list(self.configs).index(k[0]))):
                sel = self.selected(*key)
                if sel is not None:
                    waiting.discard(key)
                    pending.extend(u for u in self.finals(key[0], key[1], sel) if self.done(u) is None)

        pending.extend(u for u in self.selection_units() if self.done(u) is None)
        release()
        self._record((name, fold) for fold in range(len(self.folds)) for name in self.configs)  # a killed run's
        finished = (
            total - len(pending) - sum(self.s.repeats for key in waiting)
        )  # finals not yet known are not done either
        self.log(
            f"compare: {self.dataset.name}, {len(self.folds)} folds, models {', '.join(self.configs)}; "
            f"{total} training runs, {finished} done already{' (resumed)' if resumed else ''}; "
            f"{jobs} process(es) x {threads} thread(s)"
        )
        bar = tqdm(
            total=total, initial=finished, desc="compare", unit="run", disable=not self.s.progress, dynamic_ncols=True
        )
        try:
            if jobs == 1:
                self._run_here(pending, release, threads, bar)
            else:
                self._run_pool(pending, release, jobs, threads, bar)
        finally:
            bar.close()
        self._tick(finished=0)
        wall = time.perf_counter() - t0
        return write_summary(self, wall_seconds=wall, jobs=jobs, threads=threads)

    def _run_here(self, pending: List[Unit], release: Callable[[], None], threads: int, bar) -> None:
        """Run the units one after the other in this process."""
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

    def _run_pool(self, pending: List[Unit], release: Callable[[], None], jobs: int, threads: int, bar) -> None:
        """Run the units in ``jobs`` worker processes; a failure stops them all (done units stay done)."""
        ctx = multiprocessing.get_context("spawn")  # a clean torch in every worker (no forked threads)
        pool = cf.ProcessPoolExecutor(
            jobs,
            mp_context=ctx,
            initializer=init_worker,
            initargs=(self.s.dataset, self.s.data_root, self.s.cache_dir, threads),
        )
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


#: The run folder's record of the wall time of every invocation.
WALL = "wall.json"


def _unit_error(unit: Unit, e: Exception) -> Exception:
    """The error of a failed unit, naming it (a ValueError stays one: it is about the input)."""
    if isinstance(e, ValueError):
        return ValueError(f"training run {unit.label()}: {e}")
    return RuntimeError(f"training run {unit.label()} failed: {type(e).__name__}: {e}")
