"""Run folders: the contract between the commands that write them and those that read them.

Three commands write a run folder: ``hipool train``, ``hipool compare`` and ``hipool demo``.
Its ``run.json`` is the folder's manifest (:class:`~hipool.runs.manifest.Manifest`): which
command wrote it, with which settings (``identity``), how to load its dataset again (``data``),
its models (``models``) and every file the command wrote (``files``, a
:class:`~hipool.runs.manifest.RunFiles`), each by its path relative to the folder.  A writer
records every file in ``run.json`` as it writes it (:func:`~hipool.runs.store.record_files`,
atomically); the readers (``hipool explain``, ``hipool report`` and
:func:`~hipool.runs.open.open_run`, which ``hipool predict`` will use) find every file through
``run.json``, never by a name pattern.  A file that ``run.json`` records and the folder lacks
belongs to a run that has not finished (or was killed while writing it).

``run.json`` of a comparison, for example::

    {"format": "hipool-run/1", "command": "compare", "identity": {...}, "argv": [...],
     "cwd": "...", "started": "...", "hipool": "0.1.0", "versions": {...},
     "data": {"spec": "PROTEINS", "data_root": "/data/TU"},
     "models": {"topk": {"config": {...}, "grid": [{"overrides": {...}, "config": {...},
                                                    "train": {...}}, ...]}, ...},
     "files": {"split": "folds.json", "summary": "summary.md", ...,
               "models": {"topk": {"folds": {"0": {"selected": 1,
                                                   "selection": ["units/topk/fold00/select-c00-r0.json", ...],
                                                   "finals": ["units/topk/fold00/final-c01-r0.json"],
                                                   "checkpoints": ["units/topk/fold00/final-c01-r0.pt"]}}}}}}

The layout of each command: the names it gives its files, and where ``run.json`` records
them (``files.models.<model>`` is a :class:`~hipool.runs.manifest.ModelFiles`, ``...folds.<k>`` a
:class:`~hipool.runs.manifest.FoldFiles`).

``hipool train`` (its one model is named ``model`` in ``files.models``; its config is
``identity.model``)::

    config.yaml     files.config       the model config and train settings
    split.json      files.split        one split {train, val, test}
    metrics.csv     files.models.model.metrics      loss, accuracy, seconds and lr per epoch
    checkpoint.pt   files.models.model.checkpoint   the best weights
    result.json     files.result       validation and test scores, time, memory
    state.pt        (not recorded)     the training state while it runs; removed when done

``hipool demo`` (``models``: the names of its models, in order)::

    config.yaml             files.config         the demo settings and every model's config
    split.json              files.split          one split {train, val, test}
    <model>/metrics.csv     files.models.<model>.metrics
    <model>/checkpoint.pt   files.models.<model>.checkpoint
    summary.md              files.summary        the comparison table
    summary.json            files.summary_json
    report.html, report/    files.report         the report; its pictures in report/

``hipool compare`` (``models.<model>``: its config and the config of every point of its grid;
``<k>`` and ``<c>`` are written with two digits)::

    folds.json      files.split          the outer folds and their inner holdouts
    units/<model>/fold<k>/select-c<c>-r0.json    files.models.<model>.folds.<k>.selection
    units/<model>/fold<k>/final-c<c>-r<r>.json   files.models.<model>.folds.<k>.finals
    units/<model>/fold<k>/final-c<c>-r<r>.pt     files.models.<model>.folds.<k>.checkpoints
    summary.md      files.summary        mean ± std per model, the configs, the run
    summary.json    files.summary_json
    summary.csv     files.summary_csv
    folds.csv       files.folds_csv      every fold's selected config and test accuracy
    accuracy.png    files.picture        box plot of the fold accuracies

A comparison's worker processes (``--jobs N``) write unit records only, each listing its own
files (``"files": {"checkpoint": ...}``); the parent process, the only writer of
``run.json``, records a fold's files as its units finish, and again when it resumes.

A ``run.json`` without ``files`` was written by a hipool that did not record them yet: for
it, :func:`~hipool.runs.store.load_manifest` finds the files by the names above
(``Manifest.recorded`` is ``False``), and a command that resumes such a folder records them.
``hipool explain`` and ``hipool report`` write into a run folder too (``explain/``,
``report.html`` and ``report/``) without recording it: they read a run, they do not make it
(the demo records its own report).

**Claims.**  Every command first claims its folder: ``hipool train`` and ``hipool compare``
with :func:`~hipool.runs.folder.claim_run_folder`, ``hipool demo`` (which always starts afresh)
with :func:`~hipool.runs.folder.write_manifest`.  ``identity`` holds every setting that changes
results (dataset and its hash, configs, epochs, seeds, ...).  Re-running the same command with
the same identity resumes; anything else is refused with a clear error and nothing is written: a
folder that ``hipool train`` wrote cannot be reused by ``hipool compare``, a compare with other
settings cannot mix its results with these, and a folder with files hipool did not write is left
alone.  While a command writes a run folder it holds it
(:func:`~hipool.runs.folder.run_folder_lock`): a second command on the same folder at the same
time is refused.

The package, one job per module: :mod:`~hipool.runs.manifest` (the typed manifest and the names of
the files), :mod:`~hipool.runs.store` (``run.json`` read, checked, recorded into),
:mod:`~hipool.runs.unrecorded` (the files of a run that did not record them, found by their names),
:mod:`~hipool.runs.folder` (claims and locks), :mod:`~hipool.runs.open` (a model of a run, opened
for the readers) and :mod:`~hipool.runs.splits` (a splits file read back).
"""

from __future__ import annotations

from .folder import check_fresh_folder, check_run_folder, claim_run_folder, run_folder_lock, write_manifest
from .manifest import (
    CHECKPOINT,
    CONFIG,
    DEMO_MODELS_UNNAMED,
    FOLDS,
    FORMAT,
    MANIFEST,
    METRICS,
    RESULT,
    SPLIT,
    TRAIN_MODEL,
    DataSpec,
    FoldFiles,
    Manifest,
    ModelFiles,
    ModelRecord,
    RunFiles,
    check_manifest,
    check_name,
)
from .open import RunModel, open_run, run_manifest
from .splits import read_splits
from .store import data_record, load_manifest, read_manifest, record_files, update_manifest, versions

__all__ = [
    "Manifest",
    "DataSpec",
    "ModelRecord",
    "RunFiles",
    "ModelFiles",
    "FoldFiles",
    "check_name",
    "check_manifest",
    "read_manifest",
    "load_manifest",
    "record_files",
    "update_manifest",
    "data_record",
    "versions",
    "check_fresh_folder",
    "check_run_folder",
    "claim_run_folder",
    "write_manifest",
    "run_folder_lock",
    "RunModel",
    "run_manifest",
    "open_run",
    "read_splits",
    "MANIFEST",
    "FORMAT",
    "CONFIG",
    "SPLIT",
    "FOLDS",
    "METRICS",
    "CHECKPOINT",
    "RESULT",
    "TRAIN_MODEL",
    "DEMO_MODELS_UNNAMED",
]
