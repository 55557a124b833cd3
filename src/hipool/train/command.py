"""``hipool train``: one model on one dataset, into a resumable run folder.

The dataset is split once, class by class (seeded): ``1 - val - test`` for training,
``val`` for early stopping, ``test`` for the final score.  Output (the layout of
:mod:`hipool.runs`; ``run.json`` records every file as it is written)::

    OUT/run.json        what wrote the folder (command, identity, versions)
    OUT/config.yaml     the model config and train settings used
    OUT/split.json      the split (checked against the dataset on a re-run)
    OUT/metrics.csv     per-epoch loss, accuracy and seconds, rewritten after every epoch
    OUT/state.pt        the training state while it runs (resume); removed when done
    OUT/checkpoint.pt   the best weights; loads with torch.load(..., weights_only=True)
    OUT/result.json     validation and test scores (per group too, for a dataset with a
                        breakdown), time, memory, parameters

Re-running the same command resumes from ``state.pt`` (the same batches and
weights as an uninterrupted run) or, when ``result.json`` exists, just reports it; it
first removes the temporary files a killed run left (``.<file>.pid<PID>.*.tmp``).
Every file of the folder it reads is checked (a damaged one is an error naming it).
While it runs it holds the folder: a second ``hipool`` command on the same ``--out``
meanwhile is refused (:func:`~hipool.runs.folder.run_folder_lock`).  A model the data cannot
feed (edge features it lacks, more parameters than :data:`~hipool.nn.models.MAX_PARAMETERS`)
is refused before anything is written.

Under ``torchrun --nproc_per_node=N -m hipool train ...`` the N processes train one
model with :class:`~torch.nn.parallel.DistributedDataParallel` (gloo on CPU, NCCL
with ``--device cuda``), each on its share of every epoch; only process 0 writes
files.  ``result.json`` then records a checksum of every process's final
parameters, which must agree.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
import yaml
from torch import distributed as dist

from ..checks import is_number
from ..data.registry import load_dataset
from ..data.splits import labels_hash, save_splits, stratified_split
from ..io import atomic_write_text, read_json, shown
from ..nn.models import check_model_data
from ..presets import check_model_names, resolve_model
from ..runs import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    RESULT,
    SPLIT,
    TRAIN_MODEL,
    ModelFiles,
    check_run_folder,
    claim_run_folder,
    data_record,
    read_splits,
    record_files,
    run_folder_lock,
    versions,
)
from .checkpoint import save_checkpoint
from .loop import distributed, is_main_process
from .runner import check_classification, check_seed, check_workers, resolve_device, train_model
from .settings import TrainSettings, load_run_config


@dataclass
class TrainRequest:
    """What ``hipool train`` was asked (flags override the config file)."""

    dataset: str
    out: Path
    config: Optional[Path] = None
    model: Optional[str] = None
    train: Dict[str, Any] = field(default_factory=dict)  # flag overrides of TrainSettings (None: no patience)
    seed: int = 0
    val: float = 0.1
    test: float = 0.1
    device: str = "cpu"
    threads: Optional[int] = None
    data_root: Optional[str] = None
    cache_dir: Optional[str] = None
    progress: bool = True
    argv: Optional[List[str]] = None

    def __post_init__(self) -> None:
        """The types of the fields (the values are checked where they are used, naming their flag)."""
        check_request_fields(
            self,
            {
                "out": "path",
                "config": "path?",
                "model": "str?",
                "train": "mapping",
                "val": "number",
                "test": "number",
                "argv": "strings?",
            },
        )


def check_request_fields(obj: Any, kinds: Dict[str, str]) -> None:
    """A ``ValueError`` naming the first field of ``obj`` that is not of its kind: ``path`` (a non-empty
    str or path), ``str``, ``number`` (int or float, not bool), ``mapping``, ``strings`` (a list of
    str); a kind ending in ``?`` takes ``None`` too."""
    for name, kind in kinds.items():
        v = getattr(obj, name)
        if kind.endswith("?"):
            if v is None:
                continue
            kind = kind[:-1]
        ok = {
            "path": isinstance(v, (str, os.PathLike)) and str(v) != "",
            "str": isinstance(v, str),
            "number": is_number(v),
            "mapping": isinstance(v, dict),
            "strings": isinstance(v, list) and all(isinstance(a, str) for a in v),
        }[kind]
        if not ok:
            wanted = {
                "path": "a path",
                "str": "a str",
                "number": "a number",
                "mapping": "a mapping",
                "strings": "a list of str",
            }[kind]
            raise ValueError(
                f"{type(obj).__name__}: '{name}' must be {wanted}"
                f"{' or None' if kinds[name].endswith('?') else ''}, got {shown(v, 80)}"
            )


def setup_distributed(device: str) -> bool:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1); gloo on CPU, NCCL on CUDA."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return True


def param_checksum(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in order: equal iff the replicas hold equal values."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def run_train(req: TrainRequest, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run (or resume, or report) ``hipool train``; returns the result record."""
    check_seed(req.seed)
    device = resolve_device(req.device)
    if req.threads is not None:
        torch.set_num_threads(check_workers(req.threads, "--threads"))
    started_group = setup_distributed(device)
    try:
        return _run(req, device, log)
    finally:
        if started_group:
            dist.destroy_process_group()


def _run(req: TrainRequest, device: str, log: Callable[[str], None]) -> Dict[str, Any]:
    main = is_main_process()
    say = log if main else (lambda *_: None)
    if req.config is not None and req.model is not None:
        raise ValueError("give a config file or --model, not both")
    if not (0 < req.val < 1 and 0 <= req.test < 1 and req.val + req.test < 1):
        raise ValueError(
            f"--val {req.val} and --test {req.test}: each must be in (0, 1) (test may be 0) and together below 1"
        )
    if req.model is not None:
        check_model_names([req.model])
    # Process 0 loads first (it may process raw files into the cache); the others read the cache.
    if distributed() and not main:
        dist.barrier()
    dataset = load_dataset(req.dataset, req.data_root, cache_dir=req.cache_dir, progress=req.progress and main)
    if distributed() and main:
        dist.barrier()
    check_classification(dataset)
    mean_nodes = sum(g.num_nodes for g in dataset) / len(dataset)
    if req.config is not None:
        config, train_part = load_run_config(req.config)
    else:
        _, config = resolve_model(req.model or "topk", mean_nodes, dataset.num_known_levels)
        train_part = {}
    settings = TrainSettings.from_dict({**train_part, **req.train}, source="train settings (file and flags)")
    if config.task != "graph":
        raise ValueError("the model config has 'task: node'; hipool train classifies graphs")
    check_model_data(config, dataset)  # before the folder is claimed: a model the data cannot feed writes nothing
    labels = dataset.labels()
    fractions = [1 - req.val - req.test, req.val] + ([req.test] if req.test > 0 else [])
    fresh = stratified_split(labels, fractions, seed=req.seed)  # checked now: an empty part writes nothing
    _check_split(
        [fresh[0], fresh[1], fresh[2] if len(fresh) > 2 else None],
        f"--val {req.val} and --test {req.test} of {len(labels)} graphs",
    )
    identity = {
        "dataset": dataset.name,
        "num_graphs": len(labels),
        "labels_hash": labels_hash(labels),
        "model": config.to_dict(),
        "train": settings.to_dict(),
        "seed": req.seed,
        "val": req.val,
        "test": req.test,
    }
    out = Path(req.out)
    # Process 0 holds the folder while it writes it: a second `hipool train` on it now is refused.
    with run_folder_lock(out) if main else contextlib.nullcontext():
        return _train_in(req, device, say, main, dataset, config, settings, labels, identity, out, fresh)


def _check_split(parts: List[Optional[List[int]]], source: str) -> None:
    """Training and validation graphs, and test graphs when a test part is asked for (``None``: not)."""
    names = ("train", "validation", "test")
    empty = next((name for name, part in zip(names, parts) if part is not None and not part), None)
    if empty is not None:  # torch's sampler said "num_samples should be a positive integer value" mid-run
        sizes = "/".join(str(len(p)) for p in parts if p is not None)
        raise ValueError(f"{source}: the {empty} part has no graph (split {sizes}); every part needs at least one")


def _train_in(
    req: TrainRequest,
    device: str,
    say: Callable[[str], None],
    main: bool,
    dataset,
    config,
    settings: TrainSettings,
    labels: List[int],
    identity: Dict[str, Any],
    out: Path,
    fresh: List[List[int]],
) -> Dict[str, Any]:
    world = dist.get_world_size() if distributed() else 1
    # Every process checks the folder before any writes to it, so all fail alike or none does.
    resumed = check_run_folder(out, "train", identity)
    if distributed():
        dist.barrier()
    if main:
        claim_run_folder(
            out,
            "train",
            identity,
            argv=req.argv,
            extra={"versions": versions(), "data": data_record(req.dataset, req.data_root)},
        )
    result_path = out / RESULT
    if result_path.is_file():
        result = read_json(result_path, "result file")
        if not isinstance(result, dict):
            raise ValueError(
                f"result file {result_path}: not the record hipool writes (a mapping); delete it to train again"
            )
        say(f"train: {out} already holds a finished run (test acc {shown(result.get('test_acc'), 40)}); nothing to do")
        return result
    split_path = out / SPLIT
    if split_path.is_file():
        train_idx, val_idx, test_idx = (
            read_splits(split_path, dataset=dataset.name, labels=labels, parts=("train", "val", "test"))[0][k]
            for k in ("train", "val", "test")
        )
        _check_split([train_idx, val_idx, test_idx if req.test > 0 else None], f"splits file {split_path}")
    else:
        parts = fresh
        train_idx, val_idx, test_idx = parts[0], parts[1], parts[2] if len(parts) > 2 else []
        if main:
            save_splits(
                split_path,
                [{"train": train_idx, "val": val_idx, "test": test_idx}],
                dataset=dataset.name,
                labels=labels,
                seed=req.seed,
                kind="holdout",
            )
    if main:
        atomic_write_text(
            out / CONFIG,
            yaml.safe_dump(
                {"model": config.to_dict(), "train": settings.to_dict()}, sort_keys=False, allow_unicode=True
            ),
        )
        record_files(out, split=SPLIT, config=CONFIG, models={TRAIN_MODEL: ModelFiles(metrics=METRICS)})
    say(
        f"train: {dataset.name} ({len(labels)} graphs, split {len(train_idx)}/{len(val_idx)}/{len(test_idx)}), "
        f"model {config.poolers[0] if not config.is_global else 'global'} x{config.levels}, "
        f"{settings.epochs} epochs max on {device}"
        + (f", {world} processes" if world > 1 else "")
        + (" (resuming)" if resumed else "")
    )
    model, fit_result, run = train_model(
        dataset,
        config,
        settings,
        train_idx,
        val_idx,
        test_idx or None,
        seed=req.seed,
        device=device,
        progress=req.progress,
        desc="train",
        metrics_path=out / METRICS,
        state_path=out / "state.pt",
    )
    checksum = param_checksum(model)
    checksums = [checksum]
    if distributed():
        checksums = [None] * world
        dist.all_gather_object(checksums, checksum)
    result = {
        **run.to_dict(),
        "processes": world,
        "param_checksums": checksums,
        "replicas_identical": len(set(checksums)) == 1,
        "resumed_at_epoch": fit_result.resumed_at,
        "device": device,
        "threads": torch.get_num_threads(),
        "seed": req.seed,
        "versions": versions(),
        "argv": req.argv,
    }
    if main:
        save_checkpoint(
            out / CHECKPOINT,
            model,
            extra={"best_epoch": run.best_epoch, "val_acc": run.val_acc, "test_acc": run.test_acc},
        )
        # recorded before result.json, which marks the run finished: a kill in between trains again
        record_files(out, result=RESULT, models={TRAIN_MODEL: ModelFiles(checkpoint=CHECKPOINT)})
        atomic_write_text(result_path, json.dumps(result, indent=1))
        (out / "state.pt").unlink(missing_ok=True)
        test = f", test acc {run.test_acc:.3f}" if run.test_acc is not None else ""
        if run.test_groups:  # e.g. " (pass 0.950 n=20, block – n=0)": "–" where the test set has none
            test += (
                " ("
                + ", ".join(
                    f"{g} {'–' if r['acc'] is None else format(r['acc'], '.3f')} n={r['count']}"
                    for g, r in run.test_groups.items()
                )
                + ")"
            )
        say(
            f"train: best val acc {run.val_acc:.3f} at epoch {run.best_epoch}{test}; "
            f"{run.seconds_per_epoch:.3f} s/epoch; run folder {out}"
        )
    if distributed():
        dist.barrier()
    if not result["replicas_identical"]:
        raise RuntimeError(f"train: the {world} processes ended with different parameters ({checksums})")
    return result
