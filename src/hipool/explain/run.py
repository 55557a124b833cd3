"""Open a run folder for ``hipool explain`` and ``hipool report``: its model, dataset and test graphs.

A run folder is what ``hipool train``, ``hipool demo`` or ``hipool compare`` wrote; its
``run.json`` says which, and records where every file lies (the contract: :mod:`hipool.runs`).
:func:`~hipool.runs.open.open_run` finds the model's checkpoint there:

=========  =====================================================================
train      its one model; test graphs from its split
demo       ``--model`` (``hierarchical`` by default); test graphs from its split
compare    ``--model`` (the first pooling model by default) in ``--fold`` (0 by
           default): the fold's first final run; test graphs: that fold's test part
=========  =====================================================================

This module loads it: the model from the checkpoint (checked against the config ``run.json``
records), and the dataset again from the spec the run recorded (or ``--dataset``), checked
against the checkpoint: the same number of node features and classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..checks import is_int
from ..config import ModelConfig
from ..data.base import GraphDataset
from ..io import MAX_TEXT_BYTES, read_json, read_text, shown
from ..runs import TRAIN_MODEL, Manifest, ModelFiles, RunModel, read_splits, run_manifest
from ..runs import open_run as locate_model
from ..train.checkpoint import load_checkpoint
from ..train.loop import EpochMetrics

#: The manifest of a run folder, with errors that say what the folder is missing.
read_run = run_manifest


@dataclass
class OpenedRun:
    """A run folder opened for explaining: the model to explain and its data."""

    folder: Path
    command: str  # train | demo | compare
    model_name: str
    checkpoint: Path
    model: torch.nn.Module
    dataset: GraphDataset
    test: Optional[List[int]]  # the run's test graphs (dataset indices), when known
    manifest: Optional[Manifest] = None  # its run.json (None: not read, e.g. while the demo writes it)
    fold: Optional[int] = None

    def graphs(self, split: str = "test") -> List[int]:
        """The graphs to measure: the run's test graphs (``split="test"``, when it records them),
        else every graph of the dataset."""
        return list(self.test) if split == "test" and self.test else list(range(len(self.dataset)))

    def describe(self) -> str:
        fold = f", fold {self.fold}" if self.fold is not None else ""
        return f"{self.command} run {self.folder} (model {self.model_name}{fold}, {self.checkpoint.name})"


def open_run(
    folder,
    *,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    progress: bool = False,
) -> OpenedRun:
    """Open ``folder`` (see the module docstring); ``dataset`` overrides the recorded spec."""
    from ..data.registry import load_dataset

    found = locate_model(folder, model=model, fold=fold)
    manifest = found.manifest
    net = load_checkpoint(found.checkpoint)
    _check_recorded_config(net, found)
    spec = dataset or manifest.dataset_spec()
    if spec is None:
        raise ValueError(f"run folder {found.folder}: run.json does not say which dataset it used; pass --dataset")
    ds = load_dataset(
        spec, data_root if data_root is not None else manifest.data.data_root, cache_dir=cache_dir, progress=progress
    )
    check_compatible(net, ds, found.checkpoint)
    test = None
    labels = ds.labels() if ds.num_tasks == 1 else None
    try:
        if found.split is not None:
            compare = manifest.command == "compare"
            splits = read_splits(found.split, dataset=ds.name, labels=labels, parts=("test",) if compare else ())
            if found.split_index >= len(splits):
                raise ValueError(f"splits file {found.split}: has {len(splits)} folds, no fold {found.split_index}")
            test = list(splits[found.split_index].get("test", []))
    except ValueError:
        if dataset is None:
            raise
        test = None  # another dataset than the run's: its split does not apply
    return OpenedRun(
        folder=found.folder,
        command=manifest.command,
        model_name=found.name,
        checkpoint=found.checkpoint,
        model=net,
        dataset=ds,
        test=test or None,
        manifest=manifest,
        fold=found.fold,
    )


def _check_recorded_config(model: torch.nn.Module, found: RunModel) -> None:
    """A clear error when the checkpoint holds another model than the one ``run.json`` says the run trained
    (a checkpoint copied in from another run would otherwise be explained as this run's)."""
    if found.config is None:
        return

    def normalized(config: Any) -> Optional[Dict[str, Any]]:  # keys added since the run wrote it: defaults
        try:
            return json.loads(json.dumps(ModelConfig.from_dict(config).to_dict()))
        except (ValueError, TypeError):
            return None

    mine = json.loads(json.dumps(model.config.to_dict()))
    theirs = normalized(found.config)
    if mine != theirs:
        diff = next(
            (
                f"{k}: {shown(theirs.get(k), 40)} in run.json, {shown(v, 40)} in the checkpoint"
                for k, v in mine.items()
                if theirs and theirs.get(k) != v
            ),
            "no valid config recorded for it",
        )
        raise ValueError(
            f"checkpoint {found.checkpoint}: holds another model than the one its run folder's run.json "
            f"records ({diff}); it was replaced or copied from another run"
        )


def check_compatible(model: torch.nn.Module, dataset: GraphDataset, checkpoint) -> None:
    """A clear error when ``dataset`` is not what the checkpoint's model was built for."""
    if model.in_channels != dataset.num_features:
        raise ValueError(
            f"checkpoint {checkpoint}: the model was built for {model.in_channels} node "
            f"features, but dataset {dataset.name} has {dataset.num_features}; pass the "
            f"dataset it was trained on (--dataset)"
        )
    if dataset.num_tasks == 1 and model.num_classes != dataset.num_classes:
        raise ValueError(
            f"checkpoint {checkpoint}: the model predicts {model.num_classes} classes, but "
            f"dataset {dataset.name} has {dataset.num_classes}; pass the dataset it was "
            f"trained on (--dataset)"
        )


def check_graph_index(index: int, dataset: GraphDataset) -> int:
    """``index`` if it names a graph of ``dataset``, else a clear error."""
    n = len(dataset)
    if not is_int(index) or not 0 <= index < n:
        raise ValueError(f"--graph {index}: out of range; dataset {dataset.name} has {n} graphs (0..{n - 1})")
    return index


def history(folder: Path, manifest: Manifest) -> Dict[str, List[Dict[str, float]]]:
    """Per model, the learning curve of the run: rows ``{epoch, train_loss, train_acc, val_loss,
    val_acc}`` (train, demo: its ``metrics.csv``; compare: each model's first final run of fold 0).
    A file that is not what hipool writes is a ``ValueError`` naming it (and the line)."""
    from ..compare import check_unit_record

    folder = Path(folder)
    out: Dict[str, List[Dict[str, float]]] = {}
    files = manifest.files
    names = [TRAIN_MODEL] if manifest.command == "train" else list(manifest.models)
    keys = [f.name for f in fields(EpochMetrics)]  # a unit's history rows are in this order
    for name in names:
        model = files.models.get(name, ModelFiles())
        fold0 = model.folds.get(0)
        if manifest.command in ("train", "demo") and model.metrics and (folder / model.metrics).is_file():
            out[name] = read_metrics_csv(folder / model.metrics)
        elif (
            manifest.command == "compare"
            and fold0 is not None
            and fold0.finals
            and (folder / fold0.finals[0]).is_file()
        ):
            path = folder / fold0.finals[0]
            rec = check_unit_record(read_json(path, "training run record"), path)
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
            raise ValueError(
                f"{path}:1: not a metrics file of hipool (columns {shown(header, 120)}; expected {', '.join(known)})"
            )
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise ValueError(
                    f"{path}:{reader.line_num}: the row has {len(row.get(None) or [])} more or "
                    f"fewer fields than the header"
                )
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
