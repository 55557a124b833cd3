"""``hipool demo``: a hierarchical model and its global twin on an embedded benchmark.

Deterministic.  ``--dataset circuits`` (the default) generates synthetic
circuits that pass or fail quality checks, with defects at the component, block and
subsystem levels (:mod:`hipool.data.circuits`); ``--dataset communities`` the
hierarchical community graphs (:mod:`hipool.data.communities`); both offline.  ``--dataset
gates`` builds mutated cones of the real logic circuits under the data root (``--data-root``),
labelled by simulation (:mod:`hipool.data.netlists.gatebench`).  It trains three models
with the very same conv blocks, norms, readouts, head, training settings, seed and split
(the recipe of :mod:`hipool.presets`): ``hierarchical``, a learned pooler (EdgePool, two
levels); ``given``, pooling along the data's own hierarchy (circuits: blocks, then
subsystems; communities, then super-communities; gates: fanout-free regions, then regions);
and ``global``, their twin with no
pooling.  It writes a run folder (the layout of :mod:`hipool.runs`; ``run.json`` records every
file as it is written)::

    OUT/run.json                   what wrote the folder and how to load its dataset again
    OUT/config.yaml                demo settings and both model configs
    OUT/split.json                 the train/val/test split
    OUT/summary.md, summary.json   the comparison table (for circuits: accuracy per defect level too)
    OUT/<model>/metrics.csv        per-epoch loss, accuracy, time (model: hierarchical, given, global)
    OUT/<model>/checkpoint.pt      loads with torch.load(..., weights_only=True)
    OUT/report.html, OUT/report/   the report (hipool report): learning curves, the table, the
                                   hierarchical model's hierarchy of one test graph, its metrics
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch
import yaml

from .checks import is_int
from .config import ModelConfig
from .data.base import GraphDataset
from .data.splits import save_splits, stratified_split
from .io import atomic_write_text, shown
from .presets import RECIPE
from .runs import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    SPLIT,
    ModelFiles,
    check_fresh_folder,
    data_record,
    record_files,
    run_folder_lock,
    versions,
    write_manifest,
)
from .train.checkpoint import save_checkpoint
from .train.runner import check_seed, train_model
from .train.settings import TrainSettings

#: The demo datasets: what each generates and the model it trains by default.
DEMO_DATASETS = ("circuits", "communities", "gates")
#: The recipe of :mod:`hipool.presets` at hidden 32, to stay within a few minutes on two cores.
_RECIPE = {**RECIPE, "hidden": 32, "head": [32]}
DEMO_MODELS: Dict[str, ModelConfig] = {
    # components -> blocks -> subsystems: two levels of edge contraction (each about halves the
    # graph, merging connected parts), GINE reading the pins' roles, and a node head trained on the
    # defect's nodes (localize) whose top score joins the readouts; examples/circuits/hierarchical.yaml
    # at hidden 32
    "circuits": ModelConfig(conv="gine", pool="edgepool", schedule=[0.5, 0.5], localize=1.0, **_RECIPE),  # type: ignore[arg-type]
    "communities": ModelConfig(conv="gin", pool="edgepool", schedule=[0.5, 0.5], **_RECIPE),  # type: ignore[arg-type]
    # gates -> fanout-free regions -> regions, the mutated nodes as the localisation target
    "gates": ModelConfig(conv="gine", pool="edgepool", schedule=[0.5, 0.5], localize=1.0, **_RECIPE),  # type: ignore[arg-type]
}
#: Default number of graphs per demo dataset.
DEMO_GRAPHS = {"circuits": 1200, "communities": 600, "gates": 600}
#: Fewest and most graphs of a demo (fewer leave a test split without graphs of every class).
DEMO_GRAPH_RANGE = (20, 100_000)
#: Circuit sizes in the demo (components); the benchmark's default range is 100-2000.
DEMO_CIRCUIT_SIZES = (60, 300)


@dataclass
class DemoSettings:
    dataset: str = "circuits"
    num_graphs: Optional[int] = None  # None: DEMO_GRAPHS[dataset]
    epochs: int = 40
    patience: int = 20
    batch_size: int = 32
    lr: float = 0.003
    lr_schedule: str = "plateau"
    seed: int = 0
    model: Optional[ModelConfig] = None  # None: DEMO_MODELS[dataset]
    data_root: Optional[str] = None  # gates: the folder holding circuits/ (None: the default data root)

    def __post_init__(self) -> None:
        if self.dataset not in DEMO_DATASETS:
            raise ValueError(f"demo dataset must be one of {', '.join(DEMO_DATASETS)}, got {shown(self.dataset)}")
        if self.num_graphs is None:
            self.num_graphs = DEMO_GRAPHS[self.dataset]
        lo, hi = DEMO_GRAPH_RANGE
        if not is_int(self.num_graphs) or not lo <= self.num_graphs <= hi:
            raise ValueError(
                f"--graphs must be an int from {lo} (a test split with graphs of every class) to "
                f"{hi:,}, got {shown(self.num_graphs)}"
            )
        check_seed(self.seed)
        if self.model is None:
            self.model = DEMO_MODELS[self.dataset]
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"demo: 'model' must be a ModelConfig, got {type(self.model).__name__}")
        self.train_settings()  # the training numbers, checked now

    def train_settings(self) -> TrainSettings:
        """How every model of the demo is trained."""
        return TrainSettings(
            epochs=self.epochs,
            patience=self.patience,
            lr=self.lr,
            batch_size=self.batch_size,
            lr_schedule=self.lr_schedule,
        )


def demo_dataset(s: DemoSettings, progress: bool = False) -> GraphDataset:
    """The dataset the demo trains on."""
    if s.dataset == "circuits":
        from .data.circuits.dataset import load_circuits

        lo, hi = DEMO_CIRCUIT_SIZES
        return load_circuits(f"circuits:n={s.num_graphs},seed={s.seed},min={lo},max={hi}", progress=progress)
    if s.dataset == "gates":
        from .data.netlists.gatebench import load_gates

        return load_gates(f"gates:n={s.num_graphs},seed={s.seed}", s.data_root, progress=progress)
    from .data.communities import community_dataset

    return community_dataset(s.num_graphs, s.seed)


def demo_models(model: ModelConfig, dataset: GraphDataset) -> Dict[str, ModelConfig]:
    """``hierarchical`` (``model``), ``given`` (the same blocks pooling along the data's own levels,
    when it has them and ``model`` is not already ``given``) and ``global`` (the twin of both)."""
    configs = {"hierarchical": model}
    levels = dataset.num_known_levels
    if levels and model.given_levels != list(range(1, model.levels + 1)):
        given = {
            **model.to_dict(),
            "pool": "given",
            "schedule": None,
            "levels": levels,
            "pool_options": {},
            "aux_weights": {},
        }
        configs["given"] = ModelConfig.from_dict(given)
    configs["global"] = model.global_twin()
    return configs


def _table(rows: List[Dict], groups: Optional[List[str]]) -> str:
    extra = [f"{g} acc" for g in groups or []]
    head = (
        "| model | test acc | "
        + "".join(f"{e} | " for e in extra)
        + "best val acc | best epoch | s / epoch | parameters |\n"
    )
    head += "|---" * (6 + len(extra)) + "|\n"
    lines = []
    for r in rows:
        cells = [
            f"{r['test_groups'][g]['acc']:.3f}" if r["test_groups"][g]["acc"] is not None else "–" for g in groups or []
        ]
        lines.append(
            f"| {r['model']} | {r['test_acc']:.3f} | "
            + "".join(f"{c} | " for c in cells)
            + f"{r['val_acc']:.3f} | {r['best_epoch']} | {r['seconds_per_epoch']:.2f} | "
            f"{r['parameters']:,} |\n"
        )
    return head + "".join(lines)


def run_demo(out: Path, settings: Optional[DemoSettings] = None, progress: bool = True, log=print) -> Dict:
    """Run the demo into ``out``; return the summary (also written to ``out``)."""
    s = settings or DemoSettings()
    if not isinstance(out, (str, os.PathLike)) or str(out) == "":
        raise ValueError(f"demo: 'out' must be a path (the run folder), got {shown(out, 80)}")
    if not isinstance(s, DemoSettings):
        raise ValueError(f"demo: 'settings' must be a DemoSettings, got {type(s).__name__}")
    out = Path(out)
    check_fresh_folder(out, "demo")  # before the data is made: another run's folder, or the user's, is refused
    with run_folder_lock(out):  # a second command on this folder now is refused
        return _run_demo(out, s, progress, log)


def _run_demo(out: Path, s: DemoSettings, progress: bool, log) -> Dict:
    t0 = time.perf_counter()
    dataset = demo_dataset(s, progress=progress)
    labels = dataset.labels()
    train_idx, val_idx, test_idx = stratified_split(labels, [0.7, 0.15, 0.15], seed=s.seed)
    groups = list(dataset.breakdown.names) if dataset.breakdown else None
    log(
        f"data: {len(dataset)} {dataset.name} graphs ({min(d.num_nodes for d in dataset)}-"
        f"{max(d.num_nodes for d in dataset)} nodes), {dataset.num_classes} classes "
        f"({', '.join(dataset.class_names or [])}); split {len(train_idx)}/{len(val_idx)}/{len(test_idx)} "
        f"[{time.perf_counter() - t0:.1f}s]"
    )

    configs = demo_models(s.model, dataset)
    root = s.data_root if s.dataset == "gates" else None
    write_manifest(out, "demo", data=data_record(dataset.name, root), models=list(configs), versions=versions())
    save_splits(
        out / SPLIT,
        [{"train": train_idx, "val": val_idx, "test": test_idx}],
        dataset=dataset.name,
        labels=labels,
        seed=s.seed,
        kind="holdout",
    )
    train = s.train_settings()
    atomic_write_text(
        out / CONFIG,
        yaml.safe_dump(
            {
                "demo": {k: v for k, v in vars(s).items() if k != "model"},
                "models": {name: cfg.to_dict() for name, cfg in configs.items()},
            },
            sort_keys=False,
            allow_unicode=True,
        ),
    )
    record_files(out, split=SPLIT, config=CONFIG)

    rows, models = [], {}
    for name, cfg in configs.items():
        model, result, run = train_model(
            dataset,
            cfg,
            train,
            train_idx,
            val_idx,
            test_idx,
            seed=s.seed,
            progress=progress,
            desc=f"{name:>12}",
            metrics_path=out / name / METRICS,
        )
        save_checkpoint(
            out / name / CHECKPOINT, model, extra={"best_epoch": result.best_epoch, "test_acc": run.test_acc}
        )
        record_files(out, models={name: ModelFiles(checkpoint=f"{name}/{CHECKPOINT}", metrics=f"{name}/{METRICS}")})
        row = {"model": name, **run.to_dict()}
        rows.append(row)
        models[name] = model
        per = "".join(f", {g} {v['acc']:.3f}" for g, v in (run.test_groups or {}).items() if v["acc"] is not None)
        log(
            f"{name}: test acc {run.test_acc:.3f}{per} (best val {run.val_acc:.3f} at epoch "
            f"{run.best_epoch}), {run.seconds_per_epoch:.2f} s/epoch"
        )

    table = _table(rows, groups)
    summary = {
        "dataset": dataset.name,
        "source": dataset.source,
        "rows": rows,
        "seconds_total": time.perf_counter() - t0,
        "torch": torch.__version__,
        "seed": s.seed,
    }
    title = "# hipool demo: hierarchical vs global pooling on " + dataset.name
    note = (
        "\n\nPer mutation kind: accuracy on the test cones mutated that way (pass and fail together).\n"
        if s.dataset == "gates"
        else "\n\nPer defect level: accuracy on the test circuits of that level (pass: circuits without a "
        "defect, correctly passed).\n"
        if groups
        else "\n"
    )
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    atomic_write_text(out / "summary.md", f"{title}\n\n{dataset.source}\n\n" + table + note)
    record_files(out, summary="summary.md", summary_json="summary.json")
    report = _report(out, models["hierarchical"], dataset, test_idx, progress, log)
    if report is not None:
        record_files(out, report=report.name)
    log("\n" + table)
    if report is not None:
        log(f"report: {report} (the hierarchy of one test graph, its pictures and metrics)")
    log(f"run folder: {out}  [{summary['seconds_total']:.0f}s total]")
    return summary


def _report(out: Path, model, dataset: GraphDataset, test_idx: List[int], progress: bool, log) -> Optional[Path]:
    """``report.html`` (pictures in ``report/``) of the hierarchical model; ``None`` without the extras."""
    from .explain.run import OpenedRun
    from .report import write_report

    run = OpenedRun(
        folder=out,
        command="demo",
        model_name="hierarchical",
        checkpoint=out / "hierarchical" / CHECKPOINT,
        model=model,
        dataset=dataset,
        test=list(test_idx),
    )
    try:
        return write_report(out, opened=run, progress=progress, log=lambda *_: None)
    except ImportError as e:  # pragma: no cover - the plot/explain extras missing
        log(f"no report: {e} (pip install 'hipool[explain]')")
        return None
