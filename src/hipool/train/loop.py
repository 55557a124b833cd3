"""Training and evaluation of graph classifiers, with early stopping on validation.

:func:`fit` is the one training loop of hipool (``hipool train``, every unit of
``hipool compare``, the demo).  It also runs under ``torchrun`` with the model
wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`: the epoch's
loss and accuracy are summed over the processes, so every process takes the
same early-stopping decision, and only process 0 writes files.  With
``state_path`` it saves what it needs to resume after every epoch (weights,
optimizer, learning-rate scheduler, best weights, history, random states) and
picks up from there when that file exists.

The learning-rate schedule of :class:`~hipool.train.settings.TrainSettings` is
stepped once per epoch, after validation: ``plateau`` is torch's
``ReduceLROnPlateau`` on the validation loss, ``step`` is ``StepLR``, with the
learning rate held at ``min_lr`` or above.  A state file written without a
schedule (also every state file from before schedules existed) resumes only a
run without one; any other mismatch of the schedule is a clear error.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

import torch
from torch import distributed as dist
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..checks import is_int, is_number
from ..io import atomic_torch_save, atomic_write_text, clip, shown, torch_file_damage, torch_load_reason

if TYPE_CHECKING:
    from .settings import TrainSettings

STATE_FORMAT = "hipool-train-state/1"


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float  # wall time of the training pass of this epoch (no evaluation)
    lr: float  # learning rate of this epoch's training pass (last, so older 6-column rows still zip)


@dataclass
class FitResult:
    history: List[EpochMetrics] = field(default_factory=list)
    best_epoch: int = 0
    best_val_acc: float = 0.0
    best_val_loss: float = float("inf")
    best_state: Dict[str, torch.Tensor] = field(default_factory=dict)
    resumed_at: int = 0  # epochs already done when this call started (0: a fresh start)

    @property
    def seconds_per_epoch(self) -> float:
        times = [m.seconds for m in self.history]
        return sum(times) / len(times) if times else 0.0


def distributed() -> bool:
    """Whether this process is one of several (``torchrun``) with a process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main_process() -> bool:
    """Process 0 of a distributed run, or the only process: the one that writes files."""
    return not distributed() or dist.get_rank() == 0


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _epoch_sums(
    model: torch.nn.Module,
    loader: Iterable,
    optimizer: Optional[torch.optim.Optimizer] = None,
    aux_weight: float = 1.0,
    device: str = "cpu",
    groups: Optional[Tuple[str, int]] = None,
    grad_clip: Optional[float] = None,
) -> torch.Tensor:
    """One pass over ``loader`` (training when ``optimizer`` is given; ``grad_clip``: clip the
    global gradient norm to it before every step); returns the float64
    tensor ``[sum of loss x targets, correct, targets]`` of this process.

    With ``groups = (attr, G)`` it also counts, in the same pass, per group of the
    batch attribute ``attr`` (values ``0 .. G-1``, one per graph): the tensor goes on
    with the correct predictions of groups ``0 .. G-1``, then their graph counts."""
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    attr, num_groups = groups if groups is not None else ("", 0)
    by_group = torch.zeros(2, num_groups, dtype=torch.float64)
    steps = 0
    with torch.set_grad_enabled(training):
        for data in loader:
            data = data.to(device)
            try:
                logits, hierarchy = model(data, return_hierarchy=True)
            except ValueError as e:  # e.g. NaN features at a pooler: the input, or weights gone wild
                if (steps or not training) and _weights_diverged(model):
                    what = f"after {steps} optimizer step(s) of this epoch" if training else "in evaluation"
                    raise Diverged(f"{what} the forward pass failed ({clip(str(e), 200)})", optimizer) from None
                raise
            y = data.y.view(-1)
            loss = F.cross_entropy(logits, y)
            aux = _aux_loss(_unwrap(model), hierarchy, data)
            if aux is not None and aux_weight:
                loss = loss + aux_weight * aux
            loss_value = float(loss.detach())  # (the one synchronisation of a batch, before the step)
            if training and not math.isfinite(loss_value):
                raise Diverged(
                    f"the training loss is {loss_value} after {steps} optimizer step(s) of this epoch",
                    optimizer,
                    loss_terms=aux is not None and bool(aux_weight),
                )
            if training:
                optimizer.zero_grad()
                loss.backward()
                if grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                steps += 1
            n = y.numel()
            hit = logits.detach().argmax(-1) == y
            total_loss += loss_value * n
            correct += int(hit.sum())
            count += n
            if num_groups:
                group = getattr(data, attr).view(-1).long().cpu()
                by_group[0] += torch.bincount(group, weights=hit.cpu().double(), minlength=num_groups)
                by_group[1] += torch.bincount(group, minlength=num_groups)
    return torch.cat([torch.tensor([total_loss, correct, count], dtype=torch.float64), by_group.view(-1)])


#: Weights larger than this (in absolute value) count as diverged: initial weights are O(1) and
#: trained ones rarely pass 1e4; a learning rate of 1e23 puts them near 1e23 in one Adam step.
DIVERGED_WEIGHT = 1e10


class Diverged(ValueError):
    """Training went to NaN/inf or absurd weights: the settings, not the data (the message says which
    learning rate ran, and what to change)."""

    def __init__(self, what: str, optimizer: Optional[torch.optim.Optimizer] = None, loss_terms: bool = False):
        group = optimizer.param_groups[0] if optimizer is not None else {}
        lr = f" (learning rate {group['lr']:g})" if "lr" in group else ""
        decay = " or 'weight_decay' (--weight-decay)" if group.get("weight_decay") else ""
        terms = (
            " (or the weights of the loss terms: 'aux_weight', the model's 'aux_weights' and 'localize')"
            if loss_terms
            else ""
        )
        super().__init__(
            f"training diverged: {what}; the weights grew out of range{lr}: lower 'lr' (--lr){decay}"
            f"{terms}, or set 'grad_clip' (--grad-clip)"
        )


def _weights_diverged(model: torch.nn.Module) -> bool:
    """Whether a weight is NaN, infinite or beyond :data:`DIVERGED_WEIGHT` (one synchronisation; only
    asked when a forward pass has failed)."""
    sizes = [p.detach().abs().max() for p in model.parameters() if p.is_floating_point() and p.numel()]
    if not sizes:
        return False
    largest = float(torch.stack(sizes).max())
    return not math.isfinite(largest) or largest > DIVERGED_WEIGHT


def _all_reduce(sums: torch.Tensor) -> torch.Tensor:
    """``sums`` added up over the processes of a distributed run (each saw its share); as is otherwise."""
    if distributed():
        group_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        sums = sums.to(group_device)
        dist.all_reduce(sums)
        sums = sums.cpu()
    return sums


def _means(sums: torch.Tensor) -> Tuple[float, float]:
    count = max(float(sums[2]), 1.0)
    return float(sums[0]) / count, float(sums[1]) / count


def run_epoch(
    model: torch.nn.Module,
    loader: Iterable,
    optimizer: Optional[torch.optim.Optimizer] = None,
    aux_weight: float = 1.0,
    device: str = "cpu",
    *,
    grad_clip: Optional[float] = None,
) -> Tuple[float, float]:
    """One pass over ``loader``; trains when ``optimizer`` is given, clipping the global
    gradient norm to ``grad_clip`` (``None``: no clipping).  Returns (mean loss, accuracy).

    The loss is cross-entropy plus ``aux_weight`` times the poolers' auxiliary
    losses (none for node selection), each weighted as the model config's
    ``aux_weights`` says (``model.aux_loss(hierarchy, batch)``, which adds a
    model's node-level localisation loss too); a model without ``aux_loss`` gets
    their plain sum.  In a distributed run the means are over
    every process's share of the data.
    """
    return _means(_all_reduce(_epoch_sums(model, loader, optimizer, aux_weight, device, grad_clip=grad_clip)))


def evaluate(
    model: torch.nn.Module,
    loader: Iterable,
    aux_weight: float = 1.0,
    device: str = "cpu",
    groups: Optional[Tuple[str, int]] = None,
) -> Tuple[float, float, List[Tuple[int, int]]]:
    """One evaluation pass: (mean loss, accuracy, per-group ``(correct, count)``).

    ``groups = (attr, G)`` names a per-graph batch attribute with values ``0 .. G-1``
    (see :class:`~hipool.data.base.Breakdown`); the list then has one ``(correct,
    count)`` per group, counted in the same pass as the loss and accuracy (empty
    without ``groups``).  In a distributed run all of it is summed over the processes.
    """
    sums = _all_reduce(_epoch_sums(model, loader, None, aux_weight, device, groups))
    loss, acc = _means(sums)
    num_groups = groups[1] if groups is not None else 0
    correct, count = sums[3 : 3 + num_groups], sums[3 + num_groups :]
    return loss, acc, [(int(c), int(n)) for c, n in zip(correct.tolist(), count.tolist())]


def group_accuracy(
    model: torch.nn.Module, loader: Iterable, attr: str, num_groups: int, device: str = "cpu"
) -> List[Tuple[int, int]]:
    """Per group ``0 .. num_groups-1`` of the graph attribute ``attr``: ``(correct, count)``
    of the model's predictions (argmax of the logits) over ``loader``, in eval mode,
    summed over the processes of a distributed run."""
    return evaluate(model, loader, device=device, groups=(attr, num_groups))[2]


def _aux_loss(model: torch.nn.Module, hierarchy, data) -> Optional[torch.Tensor]:
    if hasattr(model, "aux_loss"):
        return model.aux_loss(hierarchy, data)
    aux = hierarchy.aux_losses()
    return torch.stack(list(aux.values())).sum() if aux else None


def metrics_csv(history: List[EpochMetrics]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EpochMetrics.__dataclass_fields__))
    writer.writeheader()
    for m in history:  # the lr in full: rounding would turn 1e-7 into 0
        writer.writerow({k: (round(v, 6) if isinstance(v, float) and k != "lr" else v) for k, v in asdict(m).items()})
    return buf.getvalue()


def _make_scheduler(optimizer: torch.optim.Optimizer, settings: Optional["TrainSettings"]):
    """The settings' learning-rate scheduler on ``optimizer`` (``None``: constant learning rate)."""
    schedule = "none" if settings is None else settings.lr_schedule
    if schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=settings.lr_factor, patience=settings.lr_patience, min_lr=settings.min_lr
        )
    if schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_step, gamma=settings.lr_factor)
    return None


def _step_scheduler(scheduler, val_loss: float, min_lr: float) -> None:
    """End of an epoch: plateau watches the validation loss; step counts epochs.  StepLR has no
    floor, so the lr is held at ``min_lr`` here (ReduceLROnPlateau holds it itself)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
        return
    scheduler.step()
    for group in scheduler.optimizer.param_groups:
        group["lr"] = max(group["lr"], min_lr)


def _check_state(state, path: Path, model) -> None:
    """The fields of a training state file that :func:`_load_state` reads, with their types; the
    best weights with the model's names and shapes."""

    def bad(problem: str) -> ValueError:
        return ValueError(f"training state {path}: {problem}; delete it to start this run over")

    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise bad("not a hipool training state")
    missing = [
        k
        for k in (
            "model",
            "optimizer",
            "history",
            "best_epoch",
            "best_val_acc",
            "best_val_loss",
            "best_state",
            "since_best",
            "rng",
        )
        if k not in state
    ]
    if missing:
        raise bad(f"damaged: it has no {', '.join(map(repr, missing))}")
    for key in ("model", "optimizer", "best_state"):
        if not isinstance(state[key], dict):
            raise bad(f"damaged: its {key!r} is not a mapping")
    for key in ("best_epoch", "since_best"):
        if not is_int(state[key]) or state[key] < 0:
            raise bad(f"damaged: its {key!r} is {shown(state[key], 60)}, not an int >= 0")
    for key in ("best_val_acc", "best_val_loss"):
        if not is_number(state[key]):
            raise bad(f"damaged: its {key!r} is {shown(state[key], 60)}, not a number")
    names = {f.name for f in fields(EpochMetrics)}
    history = state["history"]
    if not isinstance(history, list) or not all(
        isinstance(m, dict) and set(m) <= names and names - {"lr"} <= set(m) and all(is_number(v) for v in m.values())
        for m in history
    ):
        raise bad("damaged: its 'history' is not a list of epoch records")
    for key in ("rng", "loader_rng"):
        if not isinstance(state.get(key), torch.Tensor) and not (key == "loader_rng" and state.get(key) is None):
            raise bad(f"damaged: its {key!r} is not a random generator state")
    expected = {k: tuple(v.shape) for k, v in _unwrap(model).state_dict().items()}
    best = state["best_state"]
    if set(best) != set(expected) or any(
        not isinstance(v, torch.Tensor) or tuple(v.shape) != expected[k] for k, v in best.items()
    ):
        raise bad("its best weights do not fit this model; it was written by another config")
    for key in ("model", "best_state"):  # a resumed run would train on (or end with) them unseen
        weights = state[key]
        name = next(
            (
                k
                for k, v in weights.items()
                if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())
            ),
            None,
        )
        if name is not None:
            raise bad(
                f"its {'best ' if key == 'best_state' else ''}weights {shown(name, 60)} hold NaN or infinite values"
            )


def _load_state(path: Path, model, optimizer, scheduler, schedule: str, result: FitResult, generator) -> int:
    damage = torch_file_damage(path)
    if damage is not None:
        raise ValueError(
            f"training state {path}: cannot read it; the file is damaged: {damage}; delete it to start this run over"
        )
    try:
        with warnings.catch_warnings():  # torch's warnings about a damaged file's pickle: the error says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated file cannot exist (atomic writes), but say what it was
        raise ValueError(
            f"training state {path}: cannot read it ({torch_load_reason(e)}); delete it to start this run over"
        ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ValueError(f"training state {path}: not a hipool training state")
    saved_schedule = state.get("lr_schedule", "none")  # states from before schedules existed had none
    if saved_schedule != schedule:
        raise ValueError(
            f"training state {path}: was written with lr_schedule {shown(saved_schedule, 40)}, this "
            f"run has {schedule!r}; delete it to start this run over, or use another folder"
        )
    _check_state(state, path, model)
    try:
        _unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(
            f"training state {path}: does not fit this model ({clip(str(e), 160)}); it was "
            f"written by another config; delete it or use another folder"
        ) from None
    # rows from before the lr column: without a schedule, every epoch ran at the optimizer's lr
    lr = optimizer.param_groups[0]["lr"]
    result.history = [EpochMetrics(**{"lr": lr, **m}) for m in state["history"]]
    result.best_epoch = state["best_epoch"]
    result.best_val_acc = state["best_val_acc"]
    result.best_val_loss = state["best_val_loss"]
    result.best_state = state["best_state"]
    try:
        torch.set_rng_state(state["rng"])
        if generator is not None and state.get("loader_rng") is not None:
            generator.set_state(state["loader_rng"])
    except (RuntimeError, TypeError, ValueError) as e:
        raise ValueError(
            f"training state {path}: damaged random generator state ({clip(str(e), 120)}); "
            f"delete it to start this run over"
        ) from None
    return int(state["since_best"])


def _save_state(
    path: Path, model, optimizer, scheduler, schedule: str, result: FitResult, since_best: int, generator
) -> None:
    atomic_torch_save(
        {
            "format": STATE_FORMAT,
            "model": _unwrap(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "lr_schedule": schedule,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "history": [asdict(m) for m in result.history],
            "best_epoch": result.best_epoch,
            "best_val_acc": result.best_val_acc,
            "best_val_loss": result.best_val_loss,
            "best_state": result.best_state,
            "since_best": since_best,
            "rng": torch.get_rng_state(),
            "loader_rng": generator.get_state() if generator is not None else None,
        },
        path,
    )


def fit(
    model: torch.nn.Module,
    train_loader,
    val_loader,
    settings: Optional["TrainSettings"] = None,
    *,
    epochs: Optional[int] = None,
    lr: Optional[float] = None,
    weight_decay: Optional[float] = None,
    patience: Optional[int] = None,
    aux_weight: Optional[float] = None,
    device: str = "cpu",
    progress: bool = True,
    desc: str = "train",
    metrics_path: Optional[Path] = None,
    state_path: Optional[Path] = None,
) -> FitResult:
    """Train with Adam; keep the weights of the best validation epoch (accuracy, then loss).

    How is said by ``settings`` (a :class:`~hipool.train.settings.TrainSettings`: epochs,
    lr, weight decay, early-stopping patience, aux weight, learning-rate schedule,
    gradient clipping), or, without it, by the keywords ``epochs`` (required), ``lr``
    (default 0.01), ``weight_decay`` (0), ``patience`` (``None``: never stop early) and
    ``aux_weight`` (1), with a constant learning rate and no clipping; not both.

    Stops early after ``patience`` epochs without improvement.  When
    ``metrics_path`` is given, the per-epoch metrics CSV is rewritten atomically
    after every epoch, so an interrupted run keeps what it measured.  When
    ``state_path`` is given, the training state is saved there after every epoch
    and, if the file exists when ``fit`` starts, training resumes from it and
    ends exactly as an uninterrupted run would (same weights, same batches, same
    learning rates).  The model is left holding the best weights.
    """
    if settings is None:
        if epochs is None:
            raise TypeError("fit: give 'settings' or 'epochs'")
        lr = 0.01 if lr is None else lr
        weight_decay = 0.0 if weight_decay is None else weight_decay
        aux_weight = 1.0 if aux_weight is None else aux_weight
        grad_clip, schedule, min_lr = None, "none", 0.0
    else:
        given = [
            k
            for k, v in (
                ("epochs", epochs),
                ("lr", lr),
                ("weight_decay", weight_decay),
                ("patience", patience),
                ("aux_weight", aux_weight),
            )
            if v is not None
        ]
        if given:
            raise TypeError(f"fit: give 'settings' or the keywords {', '.join(given)}, not both")
        epochs, lr, weight_decay = settings.epochs, settings.lr, settings.weight_decay
        patience, aux_weight = settings.patience, settings.aux_weight
        grad_clip, schedule, min_lr = settings.grad_clip, settings.lr_schedule, settings.min_lr
    if epochs < 1:
        raise ValueError(f"fit: 'epochs' must be >= 1, got {epochs}")
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = _make_scheduler(optimizer, settings)
    result = FitResult(best_state=copy.deepcopy(_unwrap(model).state_dict()))
    generator = getattr(train_loader, "generator", None)
    sampler = getattr(train_loader, "sampler", None)
    since_best, start = 0, 1
    if state_path is not None and Path(state_path).is_file():
        since_best = _load_state(Path(state_path), model, optimizer, scheduler, schedule, result, generator)
        result.resumed_at = len(result.history)
        start = result.resumed_at + 1
    writer = is_main_process()
    if patience is not None and since_best >= patience:  # the saved run had stopped early
        start = epochs + 1
    bar = tqdm(range(start, epochs + 1), desc=desc, disable=not progress or not writer, leave=False, dynamic_ncols=True)
    for epoch in bar:
        if hasattr(sampler, "set_epoch"):  # DistributedSampler: a new shuffle every epoch
            sampler.set_epoch(epoch)
        epoch_lr = optimizer.param_groups[0]["lr"]
        t0 = time.perf_counter()
        try:
            train_loss, train_acc = run_epoch(model, train_loader, optimizer, aux_weight, device, grad_clip=grad_clip)
            seconds = time.perf_counter() - t0
            val_loss, val_acc = run_epoch(model, val_loader, None, aux_weight, device)
        except Diverged as e:
            lr = f" (learning rate {epoch_lr:g})" if "learning rate" not in str(e) else ""
            raise ValueError(f"epoch {epoch}: {e}".replace("out of range:", f"out of range{lr}:")) from None
        result.history.append(EpochMetrics(epoch, train_loss, train_acc, val_loss, val_acc, seconds, epoch_lr))
        if (val_acc, -val_loss) > (result.best_val_acc, -result.best_val_loss):
            result.best_epoch, result.best_val_acc, result.best_val_loss = epoch, val_acc, val_loss
            result.best_state = copy.deepcopy(_unwrap(model).state_dict())
            since_best = 0
        else:
            since_best += 1
        if scheduler is not None:  # the same val_loss on every process (all-reduced): the same lr
            _step_scheduler(scheduler, val_loss, min_lr)
        bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.3f}")
        if writer and metrics_path is not None:
            atomic_write_text(metrics_path, metrics_csv(result.history))
        if writer and state_path is not None:
            _save_state(Path(state_path), model, optimizer, scheduler, schedule, result, since_best, generator)
        if patience is not None and since_best >= patience:
            break
    _unwrap(model).load_state_dict(result.best_state)
    return result
