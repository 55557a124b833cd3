"""Opening a run folder or checkpoint for prediction (:func:`open_predictor`: the model, its
classes and the depth of the known hierarchy it reads) and running it on graphs in batches
(:func:`predict_rows`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, List, Optional, Tuple, Union

import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..data.base import LEVEL_LABELS, columns
from ..io import clip, shown
from ..runs.manifest import CHECKPOINT, DEMO_MODELS_UNNAMED, MANIFEST, TRAIN_MODEL, Manifest, ModelFiles
from .records import Predictor, Row

#: Most folders above a checkpoint searched for its run folder's ``run.json`` (a compare's
#: checkpoints lie in ``units/<model>/fold<k>/``).
CHECKPOINT_DEPTH = 4
#: Graphs per batch by default.
DEFAULT_BATCH_SIZE = 32


# -- the run ---------------------------------------------------------------------------------------
def _recorded_checkpoints(manifest: Manifest) -> Iterable[Tuple[Optional[str], Optional[int], str]]:
    """``(model, fold, path)`` of every checkpoint ``run.json`` records (``model`` ``None``: a train
    run's one model), as :func:`hipool.runs.open.open_run` finds them."""
    files = manifest.files
    if manifest.command == "train":
        yield None, None, files.models.get(TRAIN_MODEL, ModelFiles()).checkpoint or CHECKPOINT
    elif manifest.command == "demo":
        for name in list(manifest.models) or list(DEMO_MODELS_UNNAMED):
            yield name, None, files.models.get(name, ModelFiles()).checkpoint or f"{name}/{CHECKPOINT}"
    elif manifest.command == "compare":
        for name, model in files.models.items():
            for k in sorted(model.folds):
                for path in model.folds[k].checkpoints:
                    yield name, k, path


def locate_checkpoint(path: Path) -> Tuple[Path, Optional[str], Optional[int]]:
    """``(run folder, model, fold)`` of checkpoint ``path``: the nearest folder above it with a
    ``run.json`` (at most :data:`CHECKPOINT_DEPTH` up) and the model and fold it records for the
    file.  A ``ValueError`` that says what is missing otherwise."""
    from ..runs import run_manifest

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path}: not a file (give a run folder, or a .pt checkpoint inside one)")
    resolved = path.resolve()
    folder = next((f for f in list(resolved.parents)[:CHECKPOINT_DEPTH] if (f / MANIFEST).is_file()), None)
    if folder is None:
        raise ValueError(
            f"checkpoint {path}: no run folder above it (no {MANIFEST} in the {CHECKPOINT_DEPTH} folders "
            f"above it); predict reads the run's {MANIFEST} for the dataset the model was trained on "
            f"(its class names, its features): give the checkpoint inside its run folder, or the run folder"
        )
    manifest = run_manifest(folder)
    for model, fold, rel in _recorded_checkpoints(manifest):
        if (folder / rel).resolve() == resolved:
            return folder, model, fold
    raise ValueError(
        f"checkpoint {path}: the run folder {folder} above it does not record it in its {MANIFEST} "
        f"(a `hipool {shown(manifest.command, 40)}` run); give the run folder (with --model/--fold), "
        f"or a checkpoint the run wrote"
    )


def _same_model(a: Any, b: Any) -> bool:
    return json.dumps(a.config.to_dict(), sort_keys=True) == json.dumps(b.config.to_dict(), sort_keys=True) and (
        a.in_channels,
        a.num_classes,
        getattr(a, "edge_channels", None),
    ) == (b.in_channels, b.num_classes, getattr(b, "edge_channels", None))


def _dataset_from_run_cwd(folder: Path) -> Optional[str]:
    """The run's dataset spec made absolute, when it is a relative path that names nothing from
    here but a file or folder from the folder the run was started in (``run.json``'s ``cwd``):
    a run trained on ``--dataset designs`` predicts from any folder.  ``None``: use the spec as
    recorded."""
    from ..runs import run_manifest

    try:
        manifest = run_manifest(folder)
        spec = manifest.dataset_spec()
    except ValueError:
        return None  # open_run says what is wrong
    from ..data.registry import reads_by_name

    if not spec or not manifest.cwd or Path(spec).is_absolute() or ":" in spec or reads_by_name(spec):
        return None
    try:
        there = Path(manifest.cwd) / spec
        if Path(spec).exists() or not there.exists():
            return None
    except OSError:
        return None
    return str(there)


def open_predictor(
    run: Union[str, Path],
    *,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    device: str = "cpu",
    progress: bool = False,
) -> Predictor:
    """The model of run folder (or checkpoint) ``run`` (see :mod:`hipool.predict`), ready to predict.
    Every problem is a ``ValueError`` that says what is missing."""
    from ..explain.run import open_run
    from ..train.checkpoint import load_checkpoint
    from ..train.runner import resolve_device

    device = resolve_device(device)
    run = Path(run)
    checkpoint: Optional[Path] = None
    if run.is_file():
        folder, found_model, found_fold = locate_checkpoint(run)
        for flag, given, found in (("--model", model, found_model), ("--fold", fold, found_fold)):
            if given is not None and given != found:
                what = (
                    f"model {found_model!r}" + (f", fold {found_fold}," if found_fold is not None else "")
                    if found_model is not None
                    else "the one model"
                )
                raise ValueError(
                    f"{flag} {shown(given, 60)}: checkpoint {run} is {what} of run folder {folder}; "
                    f"leave out {flag}, or give the run folder"
                )
        checkpoint, run, model, fold = run, folder, found_model, found_fold
    elif not run.exists():
        raise ValueError(f"run folder {run}: no such folder (give a run folder, or a .pt checkpoint inside one)")
    if dataset is None:
        dataset = _dataset_from_run_cwd(run)
    opened = open_run(
        run, model=model, fold=fold, dataset=dataset, data_root=data_root, cache_dir=cache_dir, progress=progress
    )
    net: Any = opened.model
    if checkpoint is not None and checkpoint.resolve() != opened.checkpoint.resolve():
        # another repeat of the same compare fold: the same config, checked against the one open_run checked
        other = load_checkpoint(checkpoint)
        if not _same_model(other, net):
            raise ValueError(
                f"checkpoint {checkpoint}: holds another model than {opened.checkpoint.name} of the same "
                f"model and fold ({opened.model_name!r}, fold {opened.fold}); it was replaced or copied "
                f"from another run"
            )
        net = other
    else:
        checkpoint = opened.checkpoint
    config = net.config
    if getattr(config, "task", "graph") != "graph":
        raise ValueError(
            f"checkpoint {checkpoint}: the model classifies nodes (task: {config.task}); "
            f"hipool predict classifies graphs"
        )
    ds = opened.dataset
    depth = max((columns(getattr(g, LEVEL_LABELS, None)) for g in ds), default=0) if config.given_levels else None
    if depth is not None and depth < config.given_levels[-1]:
        raise ValueError(
            f"dataset {ds.name}: has {depth} {LEVEL_LABELS} column(s), but the model of {checkpoint} pools "
            f"along column {config.given_levels[-1] - 1} (pool: given); pass the dataset it was trained on (--dataset)"
        )
    names = list(ds.class_names or [])
    named = bool(names) and len(names) == net.num_classes
    classes = [str(c) for c in names] if named else [str(c) for c in range(net.num_classes)]
    net.eval()
    net.to(device)
    fold_text = f", fold {opened.fold}" if opened.fold is not None else ""
    return Predictor(
        model=net,
        classes=classes,
        named=named,
        depth=depth,
        dataset=ds.name,
        description=f"{opened.command} run {opened.folder} (model {opened.model_name}{fold_text}, {checkpoint.name})",
        device=device,
        checkpoint=checkpoint,
        folder=opened.folder,
        model_name=opened.model_name,
        fold=opened.fold,
    )


# -- the model -------------------------------------------------------------------------------------
def _probabilities(predictor: Predictor, graphs: List[Data]) -> torch.Tensor:
    from torch_geometric.data import Batch

    batch = Batch.from_data_list(graphs).to(predictor.device)
    logits = predictor.model(batch)
    return torch.softmax(logits.detach().double(), dim=1).cpu()


def predict_rows(
    predictor: Predictor, pairs: List[Tuple[Row, Optional[Data]]], *, batch_size: int = 32, progress: bool = False
) -> List[Row]:
    """Fill in ``predicted`` and the probabilities of every row with a graph: batches of
    ``batch_size`` graphs, eval mode, no gradients; a batch the model fails on is retried graph
    by graph, so that only the failing graph's row gets the error."""
    todo = [(row, g) for row, g in pairs if g is not None]
    predictor.model.eval()
    starts = range(0, len(todo), batch_size)
    with torch.no_grad():
        for start in tqdm(starts, desc="predicting", unit="batch", disable=not progress, leave=False):
            chunk = todo[start : start + batch_size]
            try:
                probs = _probabilities(predictor, [g for _, g in chunk])
                done = list(zip((r for r, _ in chunk), probs))
            except (ValueError, RuntimeError, IndexError):
                done = []
                for row, g in chunk:
                    try:
                        done.append((row, _probabilities(predictor, [g])[0]))
                    except (ValueError, RuntimeError, IndexError) as e:
                        row.error = f"{row.file}: the model cannot take this graph ({clip(str(e) or type(e).__name__)})"
            for row, p in done:
                values = [float(v) for v in p]
                if not all(math.isfinite(v) for v in values):
                    row.error = f"{row.file}: the model's output is not finite (NaN or infinite features?)"
                    continue
                row.probabilities = values
                row.predicted = predictor.label(int(p.argmax()))
    return [row for row, _ in pairs]
