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

The output folder (``run.json``, ``folds.json``, ``units/``, ``summary.md``, ``summary.json``,
``summary.csv``, ``folds.csv``, ``accuracy.png``) is laid out as :mod:`hipool.runs` says, and
``run.json`` records every file of it; ``wall.json`` keeps the wall seconds of every invocation,
so that a comparison resumed after a kill still reports what it cost in all.

The package, one job per module: :mod:`~hipool.compare.plan` (settings, folds, models,
units), :mod:`~hipool.compare.unit` (one training run and its record),
:mod:`~hipool.compare.schedule` (claim, resume, the two schedulers) and
:mod:`~hipool.compare.summary` (the tables and the box plot).
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from ..checks import is_int
from ..io import shown
from ..presets import check_model_names
from ..runs import run_folder_lock
from ..train.runner import check_seed, check_workers, resolve_device
from .plan import MAX_REPEATS, MAX_UNITS, CompareSettings, Plan, make_folds
from .schedule import Comparison
from .summary import collect, table, write_summary
from .unit import FINAL, SELECT, UNIT_FORMAT, Unit, check_unit_record, checkpoint_path, run_unit

__all__ = [
    "compare",
    "CompareSettings",
    "Comparison",
    "Plan",
    "Unit",
    "make_folds",
    "check_unit_record",
    "checkpoint_path",
    "run_unit",
    "collect",
    "write_summary",
    "SELECT",
    "FINAL",
    "UNIT_FORMAT",
    "MAX_REPEATS",
    "MAX_UNITS",
]


def compare(settings: CompareSettings, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run (or resume) a comparison; returns the summary (also written to ``settings.out``)."""
    from ..data.registry import load_dataset

    if not is_int(settings.repeats) or not 1 <= settings.repeats <= MAX_REPEATS:
        raise ValueError(f"--repeats must be an int from 1 to {MAX_REPEATS:,}, got {shown(settings.repeats)}")
    if not is_int(settings.folds) or settings.folds < 2:
        raise ValueError(f"--folds must be an int >= 2, got {shown(settings.folds)}")
    check_seed(settings.seed)
    check_workers(settings.jobs, "--jobs")
    if settings.threads is not None:
        check_workers(settings.threads, "--threads")
    if not 0 < settings.holdout < 1:
        raise ValueError(f"holdout fraction must be in (0, 1), got {settings.holdout}")
    settings.device = resolve_device(settings.device)
    check_model_names(settings.models)
    dataset = load_dataset(
        settings.dataset, settings.data_root, cache_dir=settings.cache_dir, progress=settings.progress
    )
    cmp = Comparison(settings, dataset, log)
    with run_folder_lock(cmp.out):  # a second compare on this folder now is refused
        summary = cmp.run()
    if summary["rows"]:
        log("\n" + "\n".join(table(summary["rows"], len(cmp.folds))))
    log(f"run folder: {cmp.out}  [{summary['wall_seconds']:.0f}s]")
    return summary
