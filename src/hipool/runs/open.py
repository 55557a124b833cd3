"""Opening a model of a run folder (:func:`open_run`): what ``hipool explain``, ``hipool report``
and ``hipool predict`` read, found through the folder's ``run.json`` alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from ..checks import is_int
from ..io import shown
from .manifest import CHECKPOINT, DEMO_MODELS_UNNAMED, TRAIN_MODEL, DataSpec, Manifest, ModelFiles
from .store import load_manifest


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
        raise ValueError(
            f"run folder {folder}: not a hipool run (no run.json); give a folder that "
            f"`hipool train`, `hipool demo` or `hipool compare` wrote"
        )
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
            raise ValueError(
                f"run folder {folder}: a `hipool train` run holds one model; "
                f"--model and --fold apply to demo and compare runs"
            )
        path = files.models.get(TRAIN_MODEL, ModelFiles()).checkpoint or CHECKPOINT
        if not (folder / path).is_file():
            raise ValueError(
                f"run folder {folder}: no {path}: the training has not finished "
                f"(repeat the same `hipool train` command to resume it)"
            )
        config = manifest.identity.get("model")
        return RunModel(
            manifest, folder.name, folder / path, config if isinstance(config, dict) else None, split=split()
        )
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
    raise ValueError(
        f"run folder {folder}: a `hipool {shown(command, 40)}` run; explain takes train, demo and compare runs"
    )


def _open_compare(manifest: Manifest, model: Optional[str], fold: Optional[int], split: Optional[Path]) -> RunModel:
    folder, models = manifest.folder, manifest.models
    if not models:
        raise ValueError(
            f'run folder {folder}: its run.json records no models ("models" is empty or missing); '
            f"the compare has not started, or run.json was changed"
        )
    pooling = [n for n, r in models.items() if r.pools]
    name = model or (pooling or list(models))[0]
    if name not in models:
        raise ValueError(f"--model {shown(name)}: the compare run {folder} has {', '.join(models)}")
    k = 0 if fold is None else fold
    if not is_int(k) or k < 0:
        raise ValueError(f"--fold {shown(k)}: folds are numbered from 0")
    folds = manifest.files.models.get(name, ModelFiles()).folds
    found = folds[k].checkpoints[:1] if k in folds else ()
    if not found or not (folder / found[0]).is_file():
        there = [f"fold{f:02d}" for f in sorted(folds) if folds[f].checkpoints]
        raise ValueError(
            f"run folder {folder}: no checkpoint for model {name!r} in fold {k} "
            f"(units/{name}/fold{k:02d}/final-c*-r0.pt); "
            + (f"folds there: {', '.join(there)}; " if there else "")
            + "that fold has not finished, or the compare ran before hipool saved "
            "checkpoints (repeat the compare command to finish it)"
        )
    grid = models[name].grid
    config = grid[folds[k].selected]["config"] if grid is not None else None
    return RunModel(manifest, name, folder / found[0], config, fold=k, split=split, split_index=k)
