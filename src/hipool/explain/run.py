"""Open a run folder for ``hipool explain`` and ``hipool report``: its model, dataset and test graphs.

A run folder is what ``hipool train``, ``hipool demo`` or ``hipool compare`` wrote
(``run.json`` says which):

=========  =====================================================================
train      ``checkpoint.pt``; test graphs from ``split.json``
demo       ``<model>/checkpoint.pt`` (``hierarchical`` by default, or ``global``);
           test graphs from ``split.json``
compare    ``units/<model>/fold<k>/final-c<config>-r0.pt`` (the first pooling model
           and fold 0 by default); test graphs: that fold's test part
=========  =====================================================================

The dataset is loaded again from the spec the run recorded (or ``--dataset``),
and checked against the checkpoint: the same number of node features and classes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..config import ModelConfig
from ..data.base import GraphDataset
from ..io import MAX_TEXT_BYTES, read_json, read_text, shown
from ..runs import read_manifest, read_splits
from ..train.checkpoint import load_checkpoint
from ..train.loop import EpochMetrics


@dataclass
class OpenedRun:
    """A run folder opened for explaining: the model to explain and its data."""

    folder: Path
    command: str                       # train | demo | compare
    model_name: str
    checkpoint: Path
    model: torch.nn.Module
    dataset: GraphDataset
    test: Optional[List[int]]          # the run's test graphs (dataset indices), when known
    manifest: Dict[str, Any] = field(default_factory=dict)
    fold: Optional[int] = None

    def graphs(self, split: str = "test") -> List[int]:
        """The graphs to measure: the run's test graphs (``split="test"``, when it records them),
        else every graph of the dataset."""
        return list(self.test) if split == "test" and self.test else list(range(len(self.dataset)))

    def describe(self) -> str:
        fold = f", fold {self.fold}" if self.fold is not None else ""
        return f"{self.command} run {self.folder} (model {self.model_name}{fold}, {self.checkpoint.name})"


def read_run(folder) -> Dict[str, Any]:
    """The run folder's ``run.json``, with errors that say what the folder is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"run folder {folder}: no such folder")
    manifest = read_manifest(folder)  # checked: the fields have the types hipool writes
    if manifest is None:
        raise ValueError(f"run folder {folder}: not a hipool run (no run.json); give a folder that "
                         f"`hipool train`, `hipool demo` or `hipool compare` wrote")
    return manifest


def _checkpoint(folder: Path, manifest: Dict[str, Any], model: Optional[str], fold: Optional[int]):
    """(model name, checkpoint path, fold) the user asked for, with clear errors."""
    command = manifest.get("command")
    if command == "train":
        if model is not None or fold is not None:
            raise ValueError(f"run folder {folder}: a `hipool train` run holds one model; "
                             f"--model and --fold apply to demo and compare runs")
        path = folder / "checkpoint.pt"
        if not path.is_file():
            raise ValueError(f"run folder {folder}: no checkpoint.pt: the training has not finished "
                             f"(repeat the same `hipool train` command to resume it)")
        return folder.name, path, None
    if command == "demo":
        names = list(manifest.get("models") or ["hierarchical", "global"])
        name = model or names[0]
        if name not in names:
            raise ValueError(f"--model {shown(name)}: the demo run {folder} has {', '.join(names)}")
        path = folder / name / "checkpoint.pt"
        if not path.is_file():
            raise ValueError(f"run folder {folder}: no {name}/checkpoint.pt: the demo has not finished "
                             f"(run `hipool demo` again)")
        return name, path, None
    if command == "compare":
        models = manifest.get("models") or {}
        if not models:
            raise ValueError(f"run folder {folder}: its run.json records no models (\"models\" is empty or missing); "
                             f"the compare has not started, or run.json was changed")
        pooling = [n for n, r in models.items() if r.get("config", {}).get("pool") not in (None, "none")]
        name = model or (pooling or list(models) or [None])[0]
        if name not in models:
            raise ValueError(f"--model {shown(name)}: the compare run {folder} has "
                             f"{', '.join(models) or 'no models'}")
        k = 0 if fold is None else fold
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"--fold {shown(k)}: folds are numbered from 0")
        found = sorted((folder / "units" / name / f"fold{k:02d}").glob("final-c*-r0.pt"))
        if not found:
            folds = sorted(p.name for p in (folder / "units" / name).glob("fold*")) \
                if (folder / "units" / name).is_dir() else []
            raise ValueError(f"run folder {folder}: no checkpoint for model {name!r} in fold {k} "
                             f"(units/{name}/fold{k:02d}/final-c*-r0.pt); "
                             + (f"folds there: {', '.join(folds)}; " if folds else "")
                             + "that fold has not finished, or the compare ran before hipool saved "
                               "checkpoints (repeat the compare command to finish it)")
        return name, found[0], k
    raise ValueError(f"run folder {folder}: a `hipool {shown(command, 40)}` run; explain takes train, demo "
                     f"and compare runs")


def open_run(folder, *, model: Optional[str] = None, fold: Optional[int] = None,
             dataset: Optional[str] = None, data_root: Optional[str] = None,
             cache_dir: Optional[str] = None, progress: bool = False) -> OpenedRun:
    """Open ``folder`` (see the module docstring); ``dataset`` overrides the recorded spec."""
    from ..data.registry import load_dataset

    folder = Path(folder)
    manifest = read_run(folder)
    name, path, k = _checkpoint(folder, manifest, model, fold)
    net = load_checkpoint(path)
    _check_recorded_config(net, manifest, name, path)
    data = manifest.get("data") or {}
    spec = dataset or data.get("spec") or manifest.get("identity", {}).get("dataset")
    if spec is None:
        raise ValueError(f"run folder {folder}: run.json does not say which dataset it used; pass --dataset")
    if not isinstance(spec, str):
        raise ValueError(f"run folder {folder}: run.json names the dataset {shown(spec, 80)}, not a dataset "
                         f"spec; pass --dataset")
    ds = load_dataset(spec, data_root if data_root is not None else data.get("data_root"),
                      cache_dir=cache_dir, progress=progress)
    check_compatible(net, ds, path)
    test = None
    labels = ds.labels() if ds.num_tasks == 1 else None
    try:
        if manifest.get("command") in ("train", "demo") and (folder / "split.json").is_file():
            test = list(read_splits(folder / "split.json", dataset=ds.name, labels=labels)[0].get("test", []))
        elif manifest.get("command") == "compare" and (folder / "folds.json").is_file():
            splits = read_splits(folder / "folds.json", dataset=ds.name, labels=labels, parts=("test",))
            if k >= len(splits):
                raise ValueError(f"splits file {folder / 'folds.json'}: has {len(splits)} folds, no fold {k}")
            test = list(splits[k]["test"])
    except ValueError:
        if dataset is None:
            raise
        test = None  # another dataset than the run's: its split does not apply
    return OpenedRun(folder=folder, command=manifest.get("command"), model_name=name, checkpoint=path,
                     model=net, dataset=ds, test=test or None, manifest=manifest, fold=k)


def _recorded_configs(manifest: Dict[str, Any], name: str, checkpoint: Path) -> Optional[List[Any]]:
    """The model configs ``run.json`` records for ``checkpoint`` (``None``: it records none to compare)."""
    command = manifest.get("command")
    if command == "train":
        config = (manifest.get("identity") or {}).get("model")
        return [config] if isinstance(config, dict) else None
    if command == "compare":
        grid = ((manifest.get("models") or {}).get(name) or {}).get("grid")
        m = re.fullmatch(r"final-c(\d+)-r\d+\.pt", checkpoint.name)
        if not isinstance(grid, list) or m is None:
            return None
        k = int(m.group(1))
        point = grid[k] if k < len(grid) else None
        return [point.get("config")] if isinstance(point, dict) else []
    return None


def _check_recorded_config(model: torch.nn.Module, manifest: Dict[str, Any], name: str, checkpoint: Path) -> None:
    """A clear error when the checkpoint holds another model than the one ``run.json`` says the run trained
    (a checkpoint copied in from another run would otherwise be explained as this run's)."""
    recorded = _recorded_configs(manifest, name, checkpoint)
    if recorded is None:
        return
    def normalized(config: Any) -> Optional[Dict[str, Any]]:  # keys added since the run wrote it: defaults
        try:
            return json.loads(json.dumps(ModelConfig.from_dict(config).to_dict()))
        except (ValueError, TypeError):
            return None

    mine = json.loads(json.dumps(model.config.to_dict()))
    recorded = [normalized(c) for c in recorded]
    if mine not in recorded:
        theirs = recorded[0] if recorded and recorded[0] is not None else {}
        diff = next((f"{k}: {shown(theirs.get(k), 40)} in run.json, {shown(v, 40)} in the checkpoint"
                     for k, v in mine.items() if theirs and theirs.get(k) != v), "no valid config recorded for it")
        raise ValueError(f"checkpoint {checkpoint}: holds another model than the one its run folder's run.json "
                         f"records ({diff}); it was replaced or copied from another run")


def check_compatible(model: torch.nn.Module, dataset: GraphDataset, checkpoint) -> None:
    """A clear error when ``dataset`` is not what the checkpoint's model was built for."""
    if model.in_channels != dataset.num_features:
        raise ValueError(f"checkpoint {checkpoint}: the model was built for {model.in_channels} node "
                         f"features, but dataset {dataset.name} has {dataset.num_features}; pass the "
                         f"dataset it was trained on (--dataset)")
    if dataset.num_tasks == 1 and model.num_classes != dataset.num_classes:
        raise ValueError(f"checkpoint {checkpoint}: the model predicts {model.num_classes} classes, but "
                         f"dataset {dataset.name} has {dataset.num_classes}; pass the dataset it was "
                         f"trained on (--dataset)")


def check_graph_index(index: int, dataset: GraphDataset) -> int:
    """``index`` if it names a graph of ``dataset``, else a clear error."""
    n = len(dataset)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        raise ValueError(f"--graph {index}: out of range; dataset {dataset.name} has {n} graphs "
                         f"(0..{n - 1})")
    return index


def history(folder: Path, manifest: Dict[str, Any]) -> Dict[str, List[Dict[str, float]]]:
    """Per model, the learning curve of the run: rows ``{epoch, train_loss, train_acc, val_loss,
    val_acc}`` (train, demo: ``metrics.csv``; compare: each model's fold-0 repeat-0 final unit).
    A file that is not what hipool writes is a ``ValueError`` naming it (and the line)."""
    out: Dict[str, List[Dict[str, float]]] = {}
    command = manifest.get("command")
    sources = []
    if command == "train":
        sources = [("model", folder / "metrics.csv")]
    elif command == "demo":
        sources = [(m, folder / m / "metrics.csv") for m in manifest.get("models") or []]
    for name, path in sources:
        if path.is_file():
            out[name] = read_metrics_csv(path)
    if command == "compare":
        from ..compare import check_unit_record
        keys = [f.name for f in fields(EpochMetrics)]  # a unit's history rows are in this order
        for name in manifest.get("models") or {}:
            units = sorted((folder / "units" / name / "fold00").glob("final-c*-r0.json"))
            if units:
                rec = check_unit_record(read_json(units[0], "training run record"), units[0])
                out[name] = [dict(zip(keys, map(float, row))) for row in rec.get("history", [])]
    return out


def read_metrics_csv(path: Path) -> List[Dict[str, float]]:
    """The rows of a ``metrics.csv`` (:func:`~hipool.train.loop.metrics_csv`) as numbers; a
    ``ValueError`` naming the file and line for anything else."""
    import csv
    import io

    text = read_text(path, "metrics file", MAX_TEXT_BYTES)
    known = {f.name for f in fields(EpochMetrics)}
    rows: List[Dict[str, float]] = []
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        if "epoch" not in header or not set(header) <= known:
            raise ValueError(f"{path}:1: not a metrics file of hipool (columns {shown(header, 120)}; "
                             f"expected {', '.join(known)})")
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise ValueError(f"{path}:{reader.line_num}: the row has {len(row.get(None) or [])} more or "
                                 f"fewer fields than the header")
            if row.get("epoch") in ("", None):
                raise ValueError(f"{path}:{reader.line_num}: the row has no epoch")
            try:
                rows.append({k: float(v) for k, v in row.items() if v != ""})
            except ValueError:
                value = next(v for v in row.values() if not _is_float(v))
                raise ValueError(f"{path}:{reader.line_num}: {shown(value, 60)} is not a number") from None
    except csv.Error as e:
        raise ValueError(f"{path}: not a CSV file hipool wrote ({e})") from None
    return rows


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == ""
    return True
