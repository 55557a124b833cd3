"""The typed run manifest: what a run folder's ``run.json`` holds (:class:`Manifest`), each part
checked as it is read (:meth:`Manifest.from_dict`), and the names the commands give their files.
The layouts these records describe are the package's (:mod:`hipool.runs`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ..checks import is_int
from ..io import shown

MANIFEST = "run.json"
FORMAT = "hipool-run/1"
#: The names the commands give their files (the layouts of :mod:`hipool.runs`).
CONFIG, SPLIT, FOLDS, METRICS, CHECKPOINT, RESULT = (
    "config.yaml",
    "split.json",
    "folds.json",
    "metrics.csv",
    "checkpoint.pt",
    "result.json",
)
#: The name of ``hipool train``'s one model in ``files.models``.
TRAIN_MODEL = "model"
#: The models of a demo whose ``run.json`` does not name them (hipool before it did).
DEMO_MODELS_UNNAMED = ("hierarchical", "global")


def check_name(name: Any) -> bool:
    """A model name that is a plain folder name (run folders hold ``<model>/`` and ``units/<model>/``)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 200
        and name not in (".", "..")
        and not any(c in name for c in "/\\\0")
    )


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
        if grid is not None and not (
            isinstance(grid, list) and all(isinstance(p, dict) and isinstance(p.get("config"), dict) for p in grid)
        ):
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
        return {
            "selected": self.selected,
            "selection": list(self.selection),
            "finals": list(self.finals),
            "checkpoints": list(self.checkpoints),
        }

    @classmethod
    def from_dict(cls, value: Any, where: str, path: Path) -> "FoldFiles":
        value = _mapping(value, where, path)
        selected = value.get("selected")
        if not is_int(selected) or selected < 0:
            raise _bad(path, f"{where}.selected", selected, "a config index (an int >= 0)")
        return cls(
            selected, *(_paths(value.get(k, []), f"{where}.{k}", path) for k in ("selection", "finals", "checkpoints"))
        )


@dataclass(frozen=True)
class ModelFiles:
    """What one model of a run wrote: its checkpoint and metrics (train, demo), or its files
    fold by fold (compare: ``folds``, keyed by the fold's number)."""

    checkpoint: Optional[str] = None
    metrics: Optional[str] = None
    folds: Dict[int, FoldFiles] = field(default_factory=dict)

    def merge(self, other: "ModelFiles") -> "ModelFiles":
        """These files, with those ``other`` records added or replaced."""
        return ModelFiles(
            other.checkpoint or self.checkpoint, other.metrics or self.metrics, {**self.folds, **other.folds}
        )

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
        return cls(
            _path(value.get("checkpoint"), f"{where}.checkpoint", path),
            _path(value.get("metrics"), f"{where}.metrics", path),
            folds,
        )


#: The files of :class:`RunFiles` that are one path each (:func:`~hipool.runs.store.record_files` takes them).
PATHS = ("config", "split", "result", "summary", "summary_json", "summary_csv", "folds_csv", "picture", "report")


@dataclass(frozen=True)
class RunFiles:
    """Every file a command wrote into its run folder (``run.json``'s ``files``), by its path
    relative to the folder; ``None``: not written (yet, or not by this command).  The layouts
    of :mod:`hipool.runs` list which command writes which.

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
        return RunFiles(**{k: getattr(other, k) or getattr(self, k) for k in PATHS}, models=models)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {k: getattr(self, k) for k in PATHS if getattr(self, k)}
        if self.models:
            out["models"] = {name: files.to_dict() for name, files in self.models.items()}
        return out

    @classmethod
    def from_dict(cls, value: Any, path: Path) -> "RunFiles":
        value = _mapping(value, "files", path)
        models = {}
        for name, files in _mapping(value.get("models", {}), "files.models", path).items():
            if not check_name(name):
                raise ValueError(
                    f"{path}: the run record's 'files' names a model {shown(name, 80)}, which is not a folder name"
                )
            models[name] = ModelFiles.from_dict(files, f"files.models.{name}", path)
        return cls(**{k: _path(value.get(k), f"files.{k}", path) for k in PATHS}, models=models)


#: The top-level fields of ``run.json`` that :class:`Manifest` reads, and their types.
_FIELDS: Dict[str, Union[type, Tuple[type, ...]]] = {
    "command": str,
    "identity": dict,
    "argv": (list, type(None)),
    "started": str,
    "cwd": str,
    "hipool": str,
    "versions": dict,
    "data": dict,
    "models": (dict, list),
    "files": dict,
}


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
            raise ValueError(
                f"run folder {self.folder}: run.json names the dataset {shown(spec, 80)}, not a dataset "
                f"spec; pass --dataset"
            )
        return spec

    @classmethod
    def from_dict(cls, data: Any, path: Path) -> "Manifest":
        """The manifest ``data`` (``run.json`` at ``path``) holds; a ``ValueError`` naming the file
        and the field for anything that is not what hipool writes."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'{path}: not a hipool run record (no "format": "{FORMAT}")')
        if "command" not in data:
            raise ValueError(f"{path}: the run record has no 'command'")
        for key, types in _FIELDS.items():
            if key in data and not isinstance(data[key], types):
                raise ValueError(
                    f"{path}: the run record's {key!r} is {shown(data[key], 80)}, not of the type hipool writes there"
                )
        if isinstance(data.get("argv"), list) and not all(isinstance(a, str) for a in data["argv"]):
            raise ValueError(f"{path}: the run record's 'argv' must be a list of strings")
        spec = data.get("data", {})
        for key in ("spec", "data_root"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise ValueError(f"{path}: the run record's 'data.{key}' is {shown(spec[key], 80)}, not a string")
        command, models = data["command"], data.get("models")
        expected = {"compare": dict, "demo": list}.get(command)
        if models is not None and expected is not None and not isinstance(models, expected):
            raise ValueError(
                f"{path}: the run record's 'models' must be a {'mapping' if expected is dict else 'list'} "
                f"in a {command} run"
            )
        bad = next((n for n in models or [] if not check_name(n)), None)
        if bad is not None:
            raise ValueError(f"{path}: the run record names a model {shown(bad, 80)}, which is not a folder name")
        records = {
            name: ModelRecord.from_dict(models[name], f"models.{name}", path)
            if isinstance(models, dict)
            else ModelRecord()
            for name in models or []
        }
        files = RunFiles.from_dict(data.get("files", {}), path)
        for name, model_files in files.models.items():
            grid = records[name].grid if name in records else None
            for k, fold in model_files.folds.items():
                if grid is not None and fold.selected >= len(grid):
                    raise ValueError(
                        f"{path}: the run record's 'files.models.{name}.folds.{k}.selected' is "
                        f"{fold.selected}, but model {name!r} has {len(grid)} config(s)"
                    )
        return cls(
            folder=Path(path).parent,
            command=command,
            identity=data.get("identity", {}),
            data=DataSpec(spec.get("spec"), spec.get("data_root")),
            models=records,
            files=files,
            argv=data.get("argv"),
            started=data.get("started"),
            cwd=data.get("cwd"),
            hipool=data.get("hipool"),
            versions=data.get("versions", {}),
            recorded="files" in data,
        )


def check_manifest(data: Any, path: Path) -> Dict[str, Any]:
    """``data`` if it is a ``run.json`` record whose fields have the types readers expect
    (:meth:`Manifest.from_dict`); a ``ValueError`` naming the file and the field otherwise."""
    Manifest.from_dict(data, path)
    return data
