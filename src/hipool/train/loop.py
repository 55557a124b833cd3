"""Training and evaluation of graph classifiers, with early stopping on validation."""
from __future__ import annotations

import copy
import csv
import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..io import atomic_write_text


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float  # wall time of the training pass of this epoch (no evaluation)


@dataclass
class FitResult:
    history: List[EpochMetrics] = field(default_factory=list)
    best_epoch: int = 0
    best_val_acc: float = 0.0
    best_val_loss: float = float("inf")
    best_state: Dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def seconds_per_epoch(self) -> float:
        times = [m.seconds for m in self.history]
        return sum(times) / len(times) if times else 0.0


def run_epoch(model: torch.nn.Module, loader: Iterable, optimizer: Optional[torch.optim.Optimizer] = None,
              aux_weight: float = 1.0, device: str = "cpu") -> Tuple[float, float]:
    """One pass over ``loader``; trains when ``optimizer`` is given.  Returns (mean loss, accuracy).

    The loss is cross-entropy plus ``aux_weight`` times the poolers' auxiliary
    losses (none for node selection), each weighted as the model config's
    ``aux_weights`` says (``model.aux_loss``); a model without ``aux_loss`` gets
    their plain sum.
    """
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for data in loader:
            data = data.to(device)
            logits, hierarchy = model(data, return_hierarchy=True)
            y = data.y.view(-1)
            loss = F.cross_entropy(logits, y)
            aux = _aux_loss(model, hierarchy)
            if aux is not None and aux_weight:
                loss = loss + aux_weight * aux
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            n = y.numel()
            total_loss += float(loss.detach()) * n
            correct += int((logits.argmax(-1) == y).sum())
            count += n
    return total_loss / max(count, 1), correct / max(count, 1)


def _aux_loss(model: torch.nn.Module, hierarchy) -> Optional[torch.Tensor]:
    if hasattr(model, "aux_loss"):
        return model.aux_loss(hierarchy)
    aux = hierarchy.aux_losses()
    return torch.stack(list(aux.values())).sum() if aux else None


def metrics_csv(history: List[EpochMetrics]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EpochMetrics.__dataclass_fields__))
    writer.writeheader()
    for m in history:
        writer.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(m).items()})
    return buf.getvalue()


def fit(model: torch.nn.Module, train_loader, val_loader, *, epochs: int, lr: float = 0.01,
        weight_decay: float = 0.0, patience: Optional[int] = None, aux_weight: float = 1.0,
        device: str = "cpu", progress: bool = True, desc: str = "train",
        metrics_path: Optional[Path] = None) -> FitResult:
    """Train with Adam; keep the weights of the best validation epoch (accuracy, then loss).

    Stops early after ``patience`` epochs without improvement.  When
    ``metrics_path`` is given, the per-epoch metrics CSV is rewritten atomically
    after every epoch, so an interrupted run keeps what it measured.
    The model is left holding the best weights.
    """
    if epochs < 1:
        raise ValueError(f"fit: 'epochs' must be >= 1, got {epochs}")
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    result = FitResult(best_state=copy.deepcopy(model.state_dict()))
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    since_best = 0
    for epoch in bar:
        t0 = time.perf_counter()
        train_loss, train_acc = run_epoch(model, train_loader, optimizer, aux_weight, device)
        seconds = time.perf_counter() - t0
        val_loss, val_acc = run_epoch(model, val_loader, None, aux_weight, device)
        result.history.append(EpochMetrics(epoch, train_loss, train_acc, val_loss, val_acc, seconds))
        if (val_acc, -val_loss) > (result.best_val_acc, -result.best_val_loss):
            result.best_epoch, result.best_val_acc, result.best_val_loss = epoch, val_acc, val_loss
            result.best_state = copy.deepcopy(model.state_dict())
            since_best = 0
        else:
            since_best += 1
        bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.3f}")
        if metrics_path is not None:
            atomic_write_text(metrics_path, metrics_csv(result.history))
        if patience is not None and since_best >= patience:
            break
    model.load_state_dict(result.best_state)
    return result
