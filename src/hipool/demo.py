"""``hipool demo``: hierarchical vs global pooling on the embedded community graphs.

Offline and deterministic: generates the hierarchical community benchmark
(:mod:`hipool.data.communities`), trains a hierarchical TopK model and its
global twin with the same convs, seed and data split, and writes a run folder::

    OUT/config.yaml                demo settings and both model configs
    OUT/summary.md, summary.json   the comparison table
    OUT/<model>/metrics.csv        per-epoch loss, accuracy, time
    OUT/<model>/checkpoint.pt      loads with torch.load(..., weights_only=True)
    OUT/hierarchy.png              one test graph coloured by its pooled node at each level
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import torch
import yaml
from torch_geometric.loader import DataLoader

from .config import ModelConfig
from .data.communities import NUM_CLASSES, NUM_FEATURES, make_community_dataset
from .data.splits import stratified_split
from .io import atomic_write_text
from .nn.models import build_model
from .train.checkpoint import save_checkpoint
from .train.loop import fit, run_epoch
from .train.runner import count_parameters

DEMO_MODEL = ModelConfig(conv="gcn", hidden=32, pool="topk", schedule=[0.5, 0.5, 0.5],
                         readout="meanmax", combine="sum", head=[32])


@dataclass
class DemoSettings:
    num_graphs: int = 600
    epochs: int = 60
    patience: int = 20
    batch_size: int = 32
    lr: float = 0.005
    seed: int = 0
    model: ModelConfig = field(default_factory=lambda: DEMO_MODEL)


def _table(rows: List[Dict]) -> str:
    head = "| model | test acc | best val acc | best epoch | s / epoch | parameters |\n"
    head += "|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r['model']} | {r['test_acc']:.3f} | {r['val_acc']:.3f} | {r['best_epoch']} | "
        f"{r['seconds_per_epoch']:.2f} | {r['parameters']:,} |\n" for r in rows)


def run_demo(out: Path, settings: Optional[DemoSettings] = None, progress: bool = True,
             log=print) -> Dict:
    """Run the demo into ``out``; return the summary (also written to ``out``)."""
    s = settings or DemoSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    dataset = make_community_dataset(num_graphs=s.num_graphs, seed=s.seed)
    labels = [int(d.y) for d in dataset]
    train_idx, val_idx, test_idx = stratified_split(labels, [0.7, 0.15, 0.15], seed=s.seed)
    log(f"data: {len(dataset)} hierarchical community graphs "
        f"({min(d.num_nodes for d in dataset)}-{max(d.num_nodes for d in dataset)} nodes), "
        f"{NUM_CLASSES} classes; split {len(train_idx)}/{len(val_idx)}/{len(test_idx)} "
        f"[{time.perf_counter() - t0:.1f}s]")

    configs = {"hierarchical": s.model, "global": s.model.global_twin()}
    atomic_write_text(out / "config.yaml", yaml.safe_dump({
        "demo": {k: v for k, v in vars(s).items() if k != "model"},
        "models": {name: cfg.to_dict() for name, cfg in configs.items()},
    }, sort_keys=False, allow_unicode=True))

    rows, models = [], {}
    for name, cfg in configs.items():
        torch.manual_seed(s.seed)
        model = build_model(cfg, NUM_FEATURES, NUM_CLASSES)
        gen = torch.Generator().manual_seed(s.seed)
        train_loader = DataLoader([dataset[i] for i in train_idx], batch_size=s.batch_size,
                                  shuffle=True, generator=gen)
        val_loader = DataLoader([dataset[i] for i in val_idx], batch_size=64)
        test_loader = DataLoader([dataset[i] for i in test_idx], batch_size=64)
        result = fit(model, train_loader, val_loader, epochs=s.epochs, lr=s.lr, patience=s.patience,
                     progress=progress, desc=f"{name:>12}", metrics_path=out / name / "metrics.csv")
        _, test_acc = run_epoch(model, test_loader)
        save_checkpoint(out / name / "checkpoint.pt", model,
                        extra={"best_epoch": result.best_epoch, "test_acc": test_acc})
        row = {"model": name, "test_acc": test_acc, "val_acc": result.best_val_acc,
               "best_epoch": result.best_epoch, "epochs_run": len(result.history),
               "seconds_per_epoch": result.seconds_per_epoch, "parameters": count_parameters(model)}
        rows.append(row)
        models[name] = model
        log(f"{name}: test acc {test_acc:.3f} (best val {result.best_val_acc:.3f} at epoch "
            f"{result.best_epoch}), {result.seconds_per_epoch:.2f} s/epoch")

    table = _table(rows)
    summary = {"rows": rows, "seconds_total": time.perf_counter() - t0,
               "torch": torch.__version__, "seed": s.seed}
    picture = _draw(models["hierarchical"], [dataset[i] for i in test_idx], out / "hierarchy.png", log)
    if picture is not None:
        summary["picture"] = str(picture)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    atomic_write_text(out / "summary.md", "# hipool demo: hierarchical vs global pooling\n\n" + table)
    log("\n" + table)
    log(f"run folder: {out}  [{summary['seconds_total']:.0f}s total]")
    return summary


def _draw(model, graphs, path: Path, log) -> Optional[Path]:
    """Picture of the hierarchy the model builds on the first test graph of class 1."""
    try:
        from .explain.plot import plot_hierarchy
    except ImportError as e:  # pragma: no cover - plotting extra missing
        log(f"no picture: {e}")
        return None
    data = next((g for g in graphs if int(g.y) == 1), graphs[0])
    model.eval()
    with torch.no_grad():
        logits, hierarchy = model(data.x, data.edge_index, return_hierarchy=True)
    try:
        return plot_hierarchy(
            data.edge_index, hierarchy.graph(0), path, num_nodes=data.num_nodes,
            ground_truth=data.level_labels[:, 0],
            title=(f"{model.config.poolers[0]} pooling of a community graph (class {int(data.y)}, "
                   f"predicted {int(logits.argmax())}); grey = dropped"))
    except ImportError as e:
        log(f"no picture: {e}")
        return None
