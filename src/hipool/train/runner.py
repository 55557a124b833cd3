"""One training run of a model config on index sets of a dataset: what ``hipool train`` and
every unit of ``hipool compare`` do.

:func:`train_model` seeds torch, builds the model, trains it with :func:`~hipool.train.loop.fit`
as its :class:`~hipool.train.settings.TrainSettings` say (early stopping on the validation set,
learning-rate schedule, gradient clipping), evaluates it on the test set when one is given and
measures time per epoch, peak memory and parameter count.  Under ``torchrun`` it wraps the
model in :class:`~torch.nn.parallel.DistributedDataParallel` and gives every process its
share of the data (:func:`make_loader`).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

import torch
from torch import distributed as dist
from torch.utils.data import DistributedSampler
from torch_geometric.loader import DataLoader

from ..checks import is_int
from ..config import ModelConfig
from ..data.base import GraphDataset
from ..io import shown
from ..nn.models import build_model, check_model_data
from .loop import FitResult, distributed, evaluate, fit
from .measure import PeakMemory
from .settings import TrainSettings


@dataclass
class RunResult:
    """What one training run measured (JSON-ready)."""

    val_acc: float
    val_loss: float
    test_acc: Optional[float]
    test_loss: Optional[float]
    best_epoch: int
    epochs_run: int
    seconds_per_epoch: float
    peak_mb: float
    parameters: int
    seconds: float
    # per group of the dataset's breakdown: {"acc": test accuracy (None: no test graph), "count": test graphs}
    test_groups: Optional[Dict[str, Dict[str, Any]]] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def check_classification(dataset: GraphDataset) -> None:
    """Graph classification needs one integer class per graph: a clear error otherwise."""
    if len(dataset) == 0:
        raise ValueError(f"dataset {dataset.name}: has no graphs")
    if dataset.num_tasks != 1:
        raise ValueError(
            f"dataset {dataset.name}: has {dataset.num_tasks} label columns "
            f"({', '.join(dataset.task_names or [])}); hipool train/compare classify graphs "
            f"by one class: load it with one integer label column"
        )
    for i, g in enumerate(dataset):
        y = getattr(g, "y", None)
        if y is None:
            raise ValueError(f"dataset {dataset.name}: graph {i} has no label 'y'")
        if y.is_floating_point():
            raise ValueError(
                f"dataset {dataset.name}: graph {i} has a float label {y.view(-1)[:3].tolist()}; "
                f"hipool train/compare classify graphs (integer classes), and regression "
                f"targets are not supported"
            )
        if y.numel() != 1:
            raise ValueError(
                f"dataset {dataset.name}: graph {i} has {y.numel()} labels; graph "
                f"classification needs one per graph (node labels need a node model)"
            )
        if not 0 <= int(y) < dataset.num_classes:
            raise ValueError(
                f"dataset {dataset.name}: graph {i} has class {int(y)}, outside 0..{dataset.num_classes - 1}"
            )
    check_breakdown(dataset)


def check_breakdown(dataset: GraphDataset, indices: Optional[Iterable[int]] = None) -> None:
    """Every graph (of ``indices``, or all) has the group attribute of the dataset's breakdown,
    one integer in ``0 .. len(names) - 1``: a clear error naming the graph otherwise (before any
    training, rather than a failed count after it)."""
    breakdown = dataset.breakdown
    if breakdown is None:
        return
    attr, size = breakdown.attr, len(breakdown.names)
    for i in range(len(dataset)) if indices is None else indices:
        value = getattr(dataset[int(i)], attr, None)
        if value is None:
            raise ValueError(
                f"dataset {dataset.name}: graph {i} has no attribute {attr!r} (its breakdown "
                f"groups {', '.join(breakdown.names)})"
            )
        if not (
            torch.is_tensor(value)
            and value.numel() == 1
            and not value.is_floating_point()
            and value.dtype != torch.bool
        ):
            raise ValueError(
                f"dataset {dataset.name}: graph {i} has attribute {attr!r} = {value!r}; "
                f"expected one integer in a tensor of shape [1]"
            )
        if not 0 <= int(value) < size:
            raise ValueError(
                f"dataset {dataset.name}: graph {i} has attribute {attr!r} = {int(value)}, "
                f"outside 0..{size - 1} ({', '.join(breakdown.names)})"
            )


#: ``--threads`` and ``--jobs`` may be at most this many times the CPUs a process may use (more
#: only slows training down, and an absurd thread count aborts the process inside OpenMP).
PER_CPU = 4


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_workers(value: Any, flag: str) -> int:
    """``value`` if it is a thread or process count from 1 to :data:`PER_CPU` × :func:`cpu_count`;
    else a ``ValueError`` naming ``flag`` (when given)."""
    cpus = cpu_count()
    if not is_int(value) or value < 1:
        raise ValueError(f"{flag + ' ' if flag else ''}must be an int >= 1, got {shown(value)}")
    if value > PER_CPU * cpus:
        raise ValueError(
            f"{flag + ' ' if flag else ''}{value}: at most {PER_CPU} x the {cpus} CPU(s) this process "
            f"may use ({PER_CPU * cpus})"
        )
    return value


#: Largest seed: numpy's generators and every seed hipool derives take 32-bit seeds.
MAX_SEED = 2**32 - 1


def check_seed(value: Any, flag: str = "--seed") -> int:
    """``value`` if it is an int from 0 to :data:`MAX_SEED`; else a ``ValueError`` naming ``flag``."""
    if not is_int(value) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"{flag} must be an int from 0 to {MAX_SEED}, got {value!r}")
    return value


def resolve_device(name: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``, checked against what this machine has.  Under
    ``torchrun`` with CUDA, each process takes the GPU of its ``LOCAL_RANK``."""
    if name == "cpu":
        return "cpu"
    if not isinstance(name, str) or not re.fullmatch(r"cuda(:[0-9]{1,4})?", name):
        raise ValueError(f"--device: expected cpu, cuda or cuda:N, got {shown(name)}")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"--device {name}: no CUDA device here (torch {torch.__version__}"
                f"{' is a CPU build' if torch.version.cuda is None else ' sees no GPU'}); "
                f"use --device cpu"
            )
        if name == "cuda" and "LOCAL_RANK" in os.environ:
            return f"cuda:{int(os.environ['LOCAL_RANK'])}"
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return name
    raise ValueError(f"--device: expected cpu, cuda or cuda:N, got {name!r}")


def make_loader(graphs: Sequence, batch_size: int, *, shuffle: bool, seed: int = 0) -> DataLoader:
    """A PyG loader over ``graphs``.  Training loaders (``shuffle``) draw their order from a
    generator seeded with ``seed``.  In a distributed run every process gets its share:
    training through a :class:`DistributedSampler` (seeded, reshuffled every epoch),
    evaluation through a plain slice ``rank::world`` so that every graph counts once."""
    graphs = list(graphs)
    if not distributed():
        gen = torch.Generator().manual_seed(seed) if shuffle else None
        return DataLoader(graphs, batch_size=batch_size, shuffle=shuffle, generator=gen)
    rank, world = dist.get_rank(), dist.get_world_size()
    if shuffle:
        sampler = DistributedSampler(graphs, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        return DataLoader(graphs, batch_size=batch_size, sampler=sampler)
    return DataLoader(graphs[rank::world], batch_size=batch_size)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _ddp(model: torch.nn.Module, probe_batch, device: str) -> torch.nn.Module:
    """Wrap in DDP; parameters that one forward/backward leaves without a gradient (e.g. ASAP's
    unused ``select.weight``) switch on ``find_unused_parameters``."""
    model.to(device)
    logits = model(probe_batch.to(device))
    logits.float().sum().backward()
    unused = any(p.requires_grad and p.grad is None for p in model.parameters())
    model.zero_grad(set_to_none=True)
    ids = [int(os.environ.get("LOCAL_RANK", 0))] if device.startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=unused)


def train_model(
    dataset: GraphDataset,
    config: ModelConfig,
    settings: TrainSettings,
    train_idx: Sequence[int],
    val_idx: Sequence[int],
    test_idx: Optional[Sequence[int]] = None,
    *,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    desc: str = "train",
    metrics_path: Optional[Path] = None,
    state_path: Optional[Path] = None,
) -> Tuple[torch.nn.Module, FitResult, RunResult]:
    """Train ``config`` on ``train_idx``, stop early on ``val_idx``, test on ``test_idx``.

    ``seed`` fixes the initial weights, dropout and the batch order.  Returns the
    model (holding its best weights, unwrapped from DDP), the fit history and the
    measured :class:`RunResult`; when the dataset has a
    :class:`~hipool.data.base.Breakdown`, that has the test accuracy per group too
    (counted in the same pass over the test set).
    """
    if config.task != "graph":
        raise ValueError("train: the model config has 'task: node'; hipool train/compare classify graphs")
    breakdown = dataset.breakdown if test_idx is not None and len(test_idx) else None
    if breakdown is not None:
        check_breakdown(dataset, test_idx)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    check_model_data(config, dataset)
    model = build_model(config, dataset.num_features, dataset.num_classes, dataset.num_edge_features or None)
    train_loader = make_loader(dataset[list(train_idx)], settings.batch_size, shuffle=True, seed=seed)
    val_loader = make_loader(dataset[list(val_idx)], 256, shuffle=False)
    wrapped = (
        _ddp(model, next(iter(DataLoader(dataset[list(train_idx)[:2]], batch_size=2))), device)
        if distributed()
        else model
    )
    with PeakMemory(device) as memory:
        result = fit(
            wrapped,
            train_loader,
            val_loader,
            settings,
            device=device,
            progress=progress,
            desc=desc,
            metrics_path=metrics_path,
            state_path=state_path,
        )
    test_loss = test_acc = test_groups = None
    if test_idx is not None and len(test_idx):
        groups = (breakdown.attr, len(breakdown.names)) if breakdown is not None else None
        test_loss, test_acc, counts = evaluate(
            wrapped, make_loader(dataset[list(test_idx)], 256, shuffle=False), settings.aux_weight, device, groups
        )
        if breakdown is not None:
            test_groups = {
                name: {"acc": correct / n if n else None, "count": n}
                for name, (correct, n) in zip(breakdown.names, counts)
            }
    run = RunResult(
        val_acc=result.best_val_acc,
        val_loss=result.best_val_loss,
        test_acc=test_acc,
        test_loss=test_loss,
        best_epoch=result.best_epoch,
        epochs_run=len(result.history),
        seconds_per_epoch=result.seconds_per_epoch,
        peak_mb=memory.peak_mb,
        parameters=count_parameters(model),
        seconds=time.perf_counter() - t0,
        test_groups=test_groups,
    )
    return model, result, run
