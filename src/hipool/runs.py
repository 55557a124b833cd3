"""Run folders: the contract between the commands that write them and those that read them.

Three commands write a run folder: ``hipool train``, ``hipool compare`` and ``hipool demo``.
Its ``run.json`` is the folder's manifest (:class:`Manifest`): which command wrote it, with
which settings (``identity``), how to load its dataset again (``data``), its models
(``models``) and every file the command wrote (``files``, a :class:`RunFiles`), each by its
path relative to the folder.  A writer records every file in ``run.json`` as it writes it
(:func:`record_files`, atomically); the readers (``hipool explain``, ``hipool report`` and
:func:`open_run`, which ``hipool predict`` will use) find every file through ``run.json``,
never by a name pattern.  A file that ``run.json`` records and the folder lacks belongs to a
run that has not finished (or was killed while writing it).

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
them (``files.models.<model>`` is a :class:`ModelFiles`, ``...folds.<k>`` a :class:`FoldFiles`).

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
it, :func:`load_manifest` finds the files by the names above (``Manifest.recorded`` is
``False``), and a command that resumes such a folder records them.  ``hipool explain`` and
``hipool report`` write into a run folder too (``explain/``, ``report.html`` and ``report/``)
without recording it: they read a run, they do not make it (the demo records its own report).

**Claims.**  Every command first claims its folder: ``hipool train`` and ``hipool compare``
with :func:`claim_run_folder`, ``hipool demo`` (which always starts afresh) with
:func:`write_manifest`.  ``identity`` holds every setting that changes results (dataset and
its hash, configs, epochs, seeds, ...).  Re-running the same command with the same identity
resumes; anything else is refused with a clear error and nothing is written: a folder that
``hipool train`` wrote cannot be reused by ``hipool compare``, a compare with other settings
cannot mix its results with these, and a folder with files hipool did not write is left
alone.  While a command writes a run folder it holds it (:func:`run_folder_lock`): a second
command on the same folder at the same time is refused.
"""
from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from .io import (
    MAX_JSON_BYTES,
    WriteError,
    atomic_write_text,
    is_temp_name,
    os_reason,
    read_json,
    remove_stale_temps,
    shown,
)

MANIFEST = "run.json"
FORMAT = "hipool-run/1"
#: The names the commands give their files (the layouts in the module docstring).
CONFIG, SPLIT, FOLDS, METRICS, CHECKPOINT, RESULT = (
    "config.yaml", "split.json", "folds.json", "metrics.csv", "checkpoint.pt", "result.json")
#: The name of ``hipool train``'s one model in ``files.models``.
TRAIN_MODEL = "model"
#: The models of a demo whose ``run.json`` does not name them (hipool before it did).
DEMO_MODELS_UNNAMED = ("hierarchical", "global")


def _flat(d: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _differences(old: Dict[str, Any], new: Dict[str, Any]) -> str:
    old, new = _flat(old), _flat(new)
    keys = sorted(set(old) | set(new))
    diffs = [f"{k if k.isprintable() else shown(k)}: {json.dumps(old.get(k), sort_keys=True)} there, "
             f"{json.dumps(new.get(k), sort_keys=True)} now"
             for k in keys if json.dumps(old.get(k), sort_keys=True) != json.dumps(new.get(k), sort_keys=True)]
    cut = [d if len(d) <= 300 else d[:297] + "..." for d in diffs[:4]]
    return "; ".join(cut) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")


def check_name(name: Any) -> bool:
    """A model name that is a plain folder name (run folders hold ``<model>/`` and ``units/<model>/``)."""
    return isinstance(name, str) and 0 < len(name) <= 200 and name not in (".", "..") \
        and not any(c in name for c in "/\\\0")


# -- the typed manifest -------------------------------------------------------------------------
def _bad(path: Path, where: str, value: Any, wanted: str) -> ValueError:
    return ValueError(f"{path}: the run record's {where!r} is {shown(value, 80)}, not {wanted}")


def _mapping(value: Any, where: str, path: Path) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(path, where, value, "a mapping")
    return value


def _path(value: Any, where: str, path: Path) -> Optional[str]:
    """``value`` if it is ``None`` or a path inside the run folder (relative, no ``..``)."""
    if value is None:
        return None
    parts = value.split("/") if isinstance(value, str) else []
    if not parts or len(value) > 1000 or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise _bad(path, where, value, "a path inside the run folder")
    return value


def _paths(value: Any, where: str, path: Path) -> Tuple[str, ...]:
    if not isinstance(value, list) or any(v is None for v in value):
        raise _bad(path, where, value, "a list of paths")
    return tuple(_path(v, where, path) or "" for v in value)


@dataclass(frozen=True)
class DataSpec:
    """How to load a run's dataset again: the spec the user typed and the data root (absolute)."""

    spec: Optional[str] = None
    data_root: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"spec": self.spec, "data_root": self.data_root}


@dataclass(frozen=True)
class ModelRecord:
    """A model as ``run.json`` records it.  A compare records its config and the config of every
    point of its grid (``{"overrides", "config", "train"}``, in grid order); a demo its name only
    (the configs are in ``config.yaml``); a train run none (its config is ``identity.model``)."""

    config: Optional[Dict[str, Any]] = None
    grid: Optional[Tuple[Dict[str, Any], ...]] = None

    @property
    def pools(self) -> bool:
        """Whether the model pools (its config names a pooler)."""
        return self.config is not None and self.config.get("pool") not in (None, "none")

    @classmethod
    def from_dict(cls, value: Any, where: str, path: Path) -> "ModelRecord":
        if not isinstance(value, dict) or not isinstance(value.get("config", {}), dict):
            raise ValueError(f"{path}: the run record's {where!r} must be a mapping with a 'config' mapping")
        grid = value.get("grid")
        if grid is not None and not (isinstance(grid, list) and all(
                isinstance(p, dict) and isinstance(p.get("config"), dict) for p in grid)):
            raise _bad(path, f"{where}.grid", grid, "a list of grid points ({'config': {...}, ...})")
        return cls(value.get("config"), None if grid is None else tuple(grid))


@dataclass(frozen=True)
class FoldFiles:
    """What one model of a compare wrote in one outer fold.

    Args:
        selected: the index of the config (grid point) selected in the fold.
        selection: the model-selection unit records, config by config (none without a grid).
        finals: the final runs' unit records, repeat by repeat from repeat 0 (those finished).
        checkpoints: the final runs' checkpoints, repeat by repeat from repeat 0.
    """

    selected: int
    selection: Tuple[str, ...] = ()
    finals: Tuple[str, ...] = ()
    checkpoints: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {"selected": self.selected, "selection": list(self.selection), "finals": list(self.finals),
                "checkpoints": list(self.checkpoints)}

    @classmethod
    def from_dict(cls, value: Any, where: str, path: Path) -> "FoldFiles":
        value = _mapping(value, where, path)
        selected = value.get("selected")
        if isinstance(selected, bool) or not isinstance(selected, int) or selected < 0:
            raise _bad(path, f"{where}.selected", selected, "a config index (an int >= 0)")
        return cls(selected, *(_paths(value.get(k, []), f"{where}.{k}", path)
                               for k in ("selection", "finals", "checkpoints")))


@dataclass(frozen=True)
class ModelFiles:
    """What one model of a run wrote: its checkpoint and metrics (train, demo), or its files
    fold by fold (compare: ``folds``, keyed by the fold's number)."""

    checkpoint: Optional[str] = None
    metrics: Optional[str] = None
    folds: Dict[int, FoldFiles] = field(default_factory=dict)

    def merge(self, other: "ModelFiles") -> "ModelFiles":
        """These files, with those ``other`` records added or replaced."""
        return ModelFiles(other.checkpoint or self.checkpoint, other.metrics or self.metrics,
                          {**self.folds, **other.folds})

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {k: v for k, v in (("checkpoint", self.checkpoint), ("metrics", self.metrics)) if v}
        if self.folds:
            out["folds"] = {str(k): self.folds[k].to_dict() for k in sorted(self.folds)}
        return out

    @classmethod
    def from_dict(cls, value: Any, where: str, path: Path) -> "ModelFiles":
        value = _mapping(value, where, path)
        folds = {}
        for key, fold in _mapping(value.get("folds", {}), f"{where}.folds", path).items():
            if not re.fullmatch(r"[0-9]{1,6}", key):
                raise _bad(path, f"{where}.folds", key, "a fold number")
            folds[int(key)] = FoldFiles.from_dict(fold, f"{where}.folds.{key}", path)
        return cls(_path(value.get("checkpoint"), f"{where}.checkpoint", path),
                   _path(value.get("metrics"), f"{where}.metrics", path), folds)


#: The files of :class:`RunFiles` that are one path each.
_PATHS = ("config", "split", "result", "summary", "summary_json", "summary_csv", "folds_csv", "picture", "report")


@dataclass(frozen=True)
class RunFiles:
    """Every file a command wrote into its run folder (``run.json``'s ``files``), by its path
    relative to the folder; ``None``: not written (yet, or not by this command).  The module
    docstring lists which command writes which.

    Args:
        config: ``config.yaml`` (train, demo).
        split: the splits file: ``split.json`` (train, demo) or ``folds.json`` (compare).
        result: ``result.json`` (train).
        summary: ``summary.md`` (compare, demo).
        summary_json: ``summary.json`` (compare, demo).
        summary_csv: ``summary.csv`` (compare).
        folds_csv: ``folds.csv`` (compare).
        picture: ``accuracy.png``, the box plot (compare).
        report: ``report.html`` (demo).
        models: per model, its files.
    """

    config: Optional[str] = None
    split: Optional[str] = None
    result: Optional[str] = None
    summary: Optional[str] = None
    summary_json: Optional[str] = None
    summary_csv: Optional[str] = None
    folds_csv: Optional[str] = None
    picture: Optional[str] = None
    report: Optional[str] = None
    models: Dict[str, ModelFiles] = field(default_factory=dict)

    def merge(self, other: "RunFiles") -> "RunFiles":
        """These files, with those ``other`` records added or replaced (model by model, fold by fold)."""
        models = dict(self.models)
        for name, files in other.models.items():
            models[name] = models.get(name, ModelFiles()).merge(files)
        return RunFiles(**{k: getattr(other, k) or getattr(self, k) for k in _PATHS}, models=models)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {k: getattr(self, k) for k in _PATHS if getattr(self, k)}
        if self.models:
            out["models"] = {name: files.to_dict() for name, files in self.models.items()}
        return out

    @classmethod
    def from_dict(cls, value: Any, path: Path) -> "RunFiles":
        value = _mapping(value, "files", path)
        models = {}
        for name, files in _mapping(value.get("models", {}), "files.models", path).items():
            if not check_name(name):
                raise ValueError(f"{path}: the run record's 'files' names a model {shown(name, 80)}, which is "
                                 f"not a folder name")
            models[name] = ModelFiles.from_dict(files, f"files.models.{name}", path)
        return cls(**{k: _path(value.get(k), f"files.{k}", path) for k in _PATHS}, models=models)


#: The top-level fields of ``run.json`` that :class:`Manifest` reads, and their types.
_FIELDS = {"command": str, "identity": dict, "argv": (list, type(None)), "started": str, "cwd": str,
           "hipool": str, "versions": dict, "data": dict, "models": (dict, list), "files": dict}


@dataclass
class Manifest:
    """A run folder's ``run.json``, read and checked (:func:`load_manifest`).

    Args:
        folder: the run folder.
        command: ``train``, ``compare`` or ``demo``.
        identity: the settings a re-run must repeat to resume (per command; train: ``model`` is
            the model's config).
        data: how to load the dataset again.
        models: the run's models, by name, in order (none for a train run).
        files: every file the command wrote.
        argv: the first command line (``None``: the Python API).
        started: when the run was claimed (ISO 8601).
        cwd: the working folder of that command.
        hipool: hipool's version then.
        versions: the versions of what results depend on.
        recorded: whether ``run.json`` records ``files`` (``False``: an older hipool's run, its files
            found by the names of the layout).
    """

    folder: Path
    command: str
    identity: Dict[str, Any] = field(default_factory=dict)
    data: DataSpec = field(default_factory=DataSpec)
    models: Dict[str, ModelRecord] = field(default_factory=dict)
    files: RunFiles = field(default_factory=RunFiles)
    argv: Optional[List[str]] = None
    started: Optional[str] = None
    cwd: Optional[str] = None
    hipool: Optional[str] = None
    versions: Dict[str, str] = field(default_factory=dict)
    recorded: bool = True

    def dataset_spec(self) -> Optional[str]:
        """The dataset spec to load the run's data again (``None``: the run does not say)."""
        spec = self.data.spec or self.identity.get("dataset")
        if spec is not None and not isinstance(spec, str):
            raise ValueError(f"run folder {self.folder}: run.json names the dataset {shown(spec, 80)}, not a dataset "
                             f"spec; pass --dataset")
        return spec

    @classmethod
    def from_dict(cls, data: Any, path: Path) -> "Manifest":
        """The manifest ``data`` (``run.json`` at ``path``) holds; a ``ValueError`` naming the file
        and the field for anything that is not what hipool writes."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a hipool run record (no \"format\": \"{FORMAT}\")")
        if "command" not in data:
            raise ValueError(f"{path}: the run record has no 'command'")
        for key, types in _FIELDS.items():
            if key in data and not isinstance(data[key], types):
                raise ValueError(f"{path}: the run record's {key!r} is {shown(data[key], 80)}, not of the type "
                                 f"hipool writes there")
        if isinstance(data.get("argv"), list) and not all(isinstance(a, str) for a in data["argv"]):
            raise ValueError(f"{path}: the run record's 'argv' must be a list of strings")
        spec = data.get("data", {})
        for key in ("spec", "data_root"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise ValueError(f"{path}: the run record's 'data.{key}' is {shown(spec[key], 80)}, not a string")
        command, models = data["command"], data.get("models")
        expected = {"compare": dict, "demo": list}.get(command)
        if models is not None and expected is not None and not isinstance(models, expected):
            raise ValueError(f"{path}: the run record's 'models' must be a {'mapping' if expected is dict else 'list'} "
                             f"in a {command} run")
        bad = next((n for n in models or [] if not check_name(n)), None)
        if bad is not None:
            raise ValueError(f"{path}: the run record names a model {shown(bad, 80)}, which is not a folder name")
        records = {name: ModelRecord.from_dict(models[name], f"models.{name}", path) if isinstance(models, dict)
                   else ModelRecord() for name in models or []}
        files = RunFiles.from_dict(data.get("files", {}), path)
        for name, model_files in files.models.items():
            grid = records[name].grid if name in records else None
            for k, fold in model_files.folds.items():
                if grid is not None and fold.selected >= len(grid):
                    raise ValueError(f"{path}: the run record's 'files.models.{name}.folds.{k}.selected' is "
                                     f"{fold.selected}, but model {name!r} has {len(grid)} config(s)")
        return cls(folder=Path(path).parent, command=command, identity=data.get("identity", {}),
                   data=DataSpec(spec.get("spec"), spec.get("data_root")), models=records, files=files,
                   argv=data.get("argv"), started=data.get("started"), cwd=data.get("cwd"),
                   hipool=data.get("hipool"), versions=data.get("versions", {}), recorded="files" in data)


def check_manifest(data: Any, path: Path) -> Dict[str, Any]:
    """``data`` if it is a ``run.json`` record whose fields have the types readers expect
    (:meth:`Manifest.from_dict`); a ``ValueError`` naming the file and the field otherwise."""
    Manifest.from_dict(data, path)
    return data


def read_manifest(out: Path, advice: str = "") -> Optional[Dict[str, Any]]:
    """The ``run.json`` of folder ``out`` as it is written (``None`` when it has none), checked
    (:func:`check_manifest`); errors name the file and end with ``advice``."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = read_json(path, "run record", MAX_JSON_BYTES)
        return check_manifest(data, path)
    except ValueError as e:
        raise ValueError(f"{e}; cannot read this run folder's record{advice}") from None


def load_manifest(out: Path, advice: str = "") -> Optional[Manifest]:
    """The :class:`Manifest` of folder ``out`` (``None`` when it has no ``run.json``); errors as
    :func:`read_manifest`'s.  For a ``run.json`` without ``files``, they are found by the names of
    the layout (the module docstring)."""
    data = read_manifest(out, advice)
    return None if data is None else _manifest(data, out)


def _manifest(data: Dict[str, Any], out: Path) -> Manifest:
    manifest = Manifest.from_dict(data, Path(out) / MANIFEST)
    if not manifest.recorded:
        manifest.files = _unrecorded_files(manifest)
    return manifest


def _unrecorded_files(m: Manifest) -> RunFiles:
    """The files of a run folder whose ``run.json`` does not record them, found by their names."""
    folder = m.folder

    def have(name: str) -> Optional[str]:
        return name if (folder / name).is_file() else None
    if m.command == "train":
        return RunFiles(config=have(CONFIG), split=have(SPLIT), result=have(RESULT),
                        models={TRAIN_MODEL: ModelFiles(checkpoint=have(CHECKPOINT), metrics=have(METRICS))})
    if m.command == "demo":
        return RunFiles(config=have(CONFIG), split=have(SPLIT), summary=have("summary.md"),
                        summary_json=have("summary.json"), report=have("report.html"),
                        models={n: ModelFiles(checkpoint=have(f"{n}/{CHECKPOINT}"), metrics=have(f"{n}/{METRICS}"))
                                for n in list(m.models) or DEMO_MODELS_UNNAMED})
    if m.command == "compare":
        return RunFiles(split=have(FOLDS), summary=have("summary.md"), summary_json=have("summary.json"),
                        summary_csv=have("summary.csv"), folds_csv=have("folds.csv"), picture=have("accuracy.png"),
                        models={name: ModelFiles(folds=_unit_files(folder, name, record))
                                for name, record in m.models.items()})
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
        selection = tuple(f"{prefix}select-c{i:02d}-r0.json"
                          for i in sorted(i for kind, i, _, ext in units if kind == "select" and ext == "json"))
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


def record_files(out: Path, *, models: Optional[Dict[str, ModelFiles]] = None, **paths: Optional[str]) -> RunFiles:
    """Record in ``run.json`` files the command wrote into run folder ``out``: ``paths`` by their
    :class:`RunFiles` field (``split="split.json"``), ``models`` merged model by model and fold by
    fold; the rest of ``run.json`` is kept as it is.  Only the process that claimed the folder calls
    this (a compare's parent process, process 0 of ``torchrun``).  Returns every file recorded now."""
    unknown = sorted(set(paths) - set(_PATHS))
    if unknown:
        raise ValueError(f"record_files: no file named {', '.join(map(repr, unknown))} in a run record "
                         f"(known: {', '.join(_PATHS)})")
    data = read_manifest(out)
    if data is None:
        raise ValueError(f"--out {out}: no {MANIFEST} to record files in")
    manifest = _manifest(data, out)
    files = manifest.files.merge(RunFiles(**paths, models=models or {}))
    if files != manifest.files or not manifest.recorded:
        atomic_write_text(Path(out) / MANIFEST, json.dumps({**data, "files": files.to_dict()}, indent=1))
    return files


# -- claims and locks ---------------------------------------------------------------------------
def _foreign_files(out: Path) -> None:
    """Refuse a folder without ``run.json`` that holds files hipool did not write (nothing is written)."""
    if out.is_dir():
        stray = sorted(p.name for p in out.iterdir() if not is_temp_name(p.name))  # an interrupted claim's
        if stray:
            raise ValueError(f"--out {out}: the folder holds files that hipool did not write "
                             f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); "
                             f"choose another --out (nothing was written)")


@contextmanager
def run_folder_lock(out: Path) -> Iterator[None]:
    """Hold the run folder ``out`` (made if missing) for this process while the block runs: a second
    hipool command on the same folder meanwhile is refused with a ``ValueError`` at once instead of
    mixing its files with this one's.  The lock is the operating system's (``flock`` on the folder
    itself: no lock file), so a killed process leaves none behind.  Without ``flock`` (not POSIX, or
    a file system without locks) the block runs unlocked."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as e:
        raise WriteError(e.errno, e.strerror or os_reason(e), str(out)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"--out {out}: another hipool command is writing this run folder now; wait for it to "
                             f"end, or choose another --out (nothing was written)") from None
        except OSError:  # e.g. a file system without locks: go on unlocked
            pass
        yield
    finally:
        os.close(fd)


def check_run_folder(out: Path, command: str, identity: Dict[str, Any]) -> bool:
    """Whether ``out`` holds an earlier run of this very ``command`` and ``identity`` (resume);
    ``False`` for a new or empty folder; a ``ValueError`` that names the conflict otherwise.
    Writes nothing."""
    manifest = check_fresh_folder(out, command)
    if manifest is None:
        return False
    old = manifest.get("identity", {})
    normalized = json.loads(json.dumps(identity))
    if old != normalized:
        raise ValueError(f"--out {out}: this folder holds a `hipool {command}` run with other settings "
                         f"({_differences(old, normalized)}); repeat that command to resume it, or choose "
                         f"another --out (nothing was written)")
    return True


def claim_run_folder(out: Path, command: str, identity: Dict[str, Any],
                     extra: Optional[Dict[str, Any]] = None, argv: Optional[List[str]] = None) -> bool:
    """Check ``out`` (:func:`check_run_folder`) and, for a new run, write its ``run.json``.
    ``argv`` is the command line, recorded for the summary.  Returns whether this is a
    resumed run.  The folder is cleared of the temporary files that an interrupted run
    left (:func:`~hipool.io.remove_stale_temps`)."""
    resumed = check_run_folder(out, command, identity)
    remove_stale_temps(out)
    if not resumed:
        from . import __version__
        record = {"format": FORMAT, "command": command, "identity": identity,
                  "argv": argv,
                  "cwd": os.getcwd(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "hipool": __version__, **(extra or {}), "files": {}}
        atomic_write_text(Path(out) / MANIFEST, json.dumps(record, indent=1, sort_keys=False))
    return resumed


def check_fresh_folder(out: Path, command: str) -> Optional[Dict[str, Any]]:
    """The checks of :func:`write_manifest`, which write nothing: ``out`` is a new or empty folder, or
    holds a run of ``command``; a folder that holds another command's run, or files hipool did not
    write, is a ``ValueError``.  Returns the run record there (``None`` for a new folder)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    manifest = read_manifest(out, advice="; choose another --out")
    if manifest is None:
        _foreign_files(out)
    elif manifest["command"] != command:
        there = manifest["command"] if manifest["command"].isprintable() else shown(manifest["command"], 40)
        raise ValueError(f"--out {out}: this folder holds a `hipool {there}` run, "
                         f"not a `hipool {command}` run; choose another --out (nothing was written)")
    return manifest


def write_manifest(out: Path, command: str, **fields: Any) -> None:
    """Write ``run.json`` for a command that always starts afresh (``hipool demo``); refuses a folder
    that holds another command's run or files hipool did not write (:func:`check_fresh_folder`), and
    clears the temporary files an interrupted run left (:func:`~hipool.io.remove_stale_temps`; those
    of older hipool versions only from a folder that holds a run already)."""
    manifest = check_fresh_folder(out, command)
    remove_stale_temps(out, legacy=manifest is not None)
    from . import __version__
    record = {"format": FORMAT, "command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "hipool": __version__, **fields, "files": {}}
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / MANIFEST, json.dumps(record, indent=1))


def update_manifest(out: Path, **fields: Any) -> None:
    """Add or replace top-level fields of ``run.json`` (e.g. models added to a compare)."""
    manifest = read_manifest(out)
    if manifest is None:
        raise ValueError(f"--out {out}: no {MANIFEST} to update")
    manifest.update(fields)
    atomic_write_text(Path(out) / MANIFEST, json.dumps(manifest, indent=1))


# -- opening a model of a run -------------------------------------------------------------------
@dataclass(frozen=True)
class RunModel:
    """One trained model of a run folder, found through its ``run.json`` (:func:`open_run`).

    Args:
        manifest: the folder's manifest.
        name: the model's name (a train run's: the folder's name).
        checkpoint: its checkpoint (it exists).
        config: the model config ``run.json`` records for it, to check the checkpoint against
            (``None``: it records none, as a demo's).
        fold: the outer fold (compare).
        split: the splits file that holds its test graphs (``None``: none recorded, or missing).
        split_index: which split of that file (compare: the fold).
    """

    manifest: Manifest = field(repr=False)
    name: str
    checkpoint: Path
    config: Optional[Dict[str, Any]] = None
    fold: Optional[int] = None
    split: Optional[Path] = None
    split_index: int = 0

    @property
    def folder(self) -> Path:
        return self.manifest.folder

    @property
    def data(self) -> DataSpec:
        """How to load the run's dataset again (a ``ValueError`` when ``run.json`` names it wrongly)."""
        return DataSpec(self.manifest.dataset_spec(), self.manifest.data.data_root)


def run_manifest(folder: Path) -> Manifest:
    """The manifest of run folder ``folder``, for a command that reads it; errors that say what the
    folder is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"run folder {folder}: no such folder")
    manifest = load_manifest(folder)  # checked: the fields have the types hipool writes
    if manifest is None:
        raise ValueError(f"run folder {folder}: not a hipool run (no run.json); give a folder that "
                         f"`hipool train`, `hipool demo` or `hipool compare` wrote")
    return manifest


def open_run(folder: Path, model: Optional[str] = None, fold: Optional[int] = None) -> RunModel:
    """The model ``model`` (of a demo or compare run; default: the first, the first pooling one for a
    compare) in fold ``fold`` (compare; default 0) of run folder ``folder``: where its checkpoint
    lies, the config ``run.json`` records for it, its data and its test split.  Every problem is a
    ``ValueError`` that says what is missing."""
    folder = Path(folder)
    manifest = run_manifest(folder)
    files, command = manifest.files, manifest.command

    def split() -> Optional[Path]:
        return folder / files.split if files.split and (folder / files.split).is_file() else None
    if command == "train":
        if model is not None or fold is not None:
            raise ValueError(f"run folder {folder}: a `hipool train` run holds one model; "
                             f"--model and --fold apply to demo and compare runs")
        path = files.models.get(TRAIN_MODEL, ModelFiles()).checkpoint or CHECKPOINT
        if not (folder / path).is_file():
            raise ValueError(f"run folder {folder}: no {path}: the training has not finished "
                             f"(repeat the same `hipool train` command to resume it)")
        config = manifest.identity.get("model")
        return RunModel(manifest, folder.name, folder / path, config if isinstance(config, dict) else None,
                        split=split())
    if command == "demo":
        names = list(manifest.models) or list(DEMO_MODELS_UNNAMED)
        name = model or names[0]
        if name not in names:
            raise ValueError(f"--model {shown(name)}: the demo run {folder} has {', '.join(names)}")
        path = files.models.get(name, ModelFiles()).checkpoint or f"{name}/{CHECKPOINT}"
        if not (folder / path).is_file():
            raise ValueError(f"run folder {folder}: no {path}: the demo has not finished (run `hipool demo` again)")
        return RunModel(manifest, name, folder / path, split=split())
    if command == "compare":
        return _open_compare(manifest, model, fold, split())
    raise ValueError(f"run folder {folder}: a `hipool {shown(command, 40)}` run; explain takes train, demo "
                     f"and compare runs")


def _open_compare(manifest: Manifest, model: Optional[str], fold: Optional[int], split: Optional[Path]) -> RunModel:
    folder, models = manifest.folder, manifest.models
    if not models:
        raise ValueError(f"run folder {folder}: its run.json records no models (\"models\" is empty or missing); "
                         f"the compare has not started, or run.json was changed")
    pooling = [n for n, r in models.items() if r.pools]
    name = model or (pooling or list(models))[0]
    if name not in models:
        raise ValueError(f"--model {shown(name)}: the compare run {folder} has {', '.join(models)}")
    k = 0 if fold is None else fold
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"--fold {shown(k)}: folds are numbered from 0")
    folds = manifest.files.models.get(name, ModelFiles()).folds
    found = folds[k].checkpoints[:1] if k in folds else ()
    if not found or not (folder / found[0]).is_file():
        there = [f"fold{f:02d}" for f in sorted(folds) if folds[f].checkpoints]
        raise ValueError(f"run folder {folder}: no checkpoint for model {name!r} in fold {k} "
                         f"(units/{name}/fold{k:02d}/final-c*-r0.pt); "
                         + (f"folds there: {', '.join(there)}; " if there else "")
                         + "that fold has not finished, or the compare ran before hipool saved "
                           "checkpoints (repeat the compare command to finish it)")
    grid = models[name].grid
    config = grid[folds[k].selected]["config"] if grid is not None else None
    return RunModel(manifest, name, folder / found[0], config, fold=k, split=split, split_index=k)


# -- what the commands record -------------------------------------------------------------------
def read_splits(path: Path, *, dataset: str, labels: List[int],
                parts: Sequence[str] = ()) -> List[Dict[str, List[int]]]:
    """:func:`~hipool.data.splits.load_splits` for a file of a run folder (or ``--splits``): every
    problem a ``ValueError`` naming the file; each split a mapping of index lists with (at least)
    ``parts``, each index a graph of the dataset, in no two parts of one split."""
    from .data.splits import load_splits

    path = Path(path)
    splits = load_splits(path, dataset=dataset, labels=labels)
    if not splits:
        raise ValueError(f"splits file {path}: holds no split")
    for i, split in enumerate(splits):
        missing = [p for p in parts if p not in split]
        if missing:
            raise ValueError(f"splits file {path}: split {i} has no {', '.join(map(repr, missing))} part "
                             f"(it has {', '.join(map(shown, split)) or 'none'})")
        seen: Dict[int, str] = {}
        for part, idx in split.items():
            for j in idx:
                if j in seen and seen[j] != part:
                    raise ValueError(f"splits file {path}: split {i} has graph {j} in both {seen[j]!r} and {part!r}")
                seen[j] = part
    return splits


def data_record(spec: str, data_root: Optional[str]) -> Dict[str, Any]:
    """How to load a run's dataset again (``hipool explain``, ``hipool report``): the spec the
    user typed and the data root, absolute."""
    return DataSpec(spec, None if data_root is None else os.path.abspath(data_root)).to_dict()


def versions() -> Dict[str, str]:
    """Versions of what a result depends on, for the records of a run."""
    import platform

    import numpy
    import torch
    import torch_geometric

    from . import __version__
    return {"hipool": __version__, "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}
