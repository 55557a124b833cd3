"""The summary of a comparison, from the unit records on disk: what ``hipool compare`` writes last.

``summary.csv``, ``summary.md`` and ``summary.json`` (mean ± std per model, the configs, the
run), ``folds.csv`` (every fold's selected config and test accuracies per model) and
``accuracy.png`` (a box plot of the fold accuracies), each recorded in ``run.json``
(:mod:`hipool.runs`).  A fold counts once all its final runs are done.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from ..data.base import Breakdown
from ..io import atomic_path, atomic_write_text, json_text
from ..runs import load_manifest, record_files, versions
from .unit import SELECT, Unit

if TYPE_CHECKING:  # pragma: no cover
    from .schedule import Comparison


def collect(cmp: "Comparison") -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Per-fold records and per-model rows from the unit files on disk.

    With a dataset breakdown, every fold record also has ``acc_<group>`` (the mean over
    the fold's final runs; ``None`` when its test fold has no graph of the group) and
    every model row ``acc_<group>_mean`` and ``_std`` over the folds (NaN: no fold has it)."""
    breakdown = cmp.dataset.breakdown
    group_names = breakdown.names if breakdown is not None else ()
    fold_rows, rows = [], []
    for name in cmp.configs:
        fold_scores, finals_all, selects = [], [], []
        chosen: List[int] = []
        group_scores: Dict[str, List[float]] = {g: [] for g in group_names}
        for fold in range(len(cmp.folds)):
            sel = cmp.selected(name, fold)
            if sel is None:
                continue
            finals = [cmp.done(u) for u in cmp.finals(name, fold, sel)]
            if any(f is None for f in finals):
                continue
            accs = [f["result"]["test_acc"] for f in finals]
            fold_scores.append(float(np.mean(accs)))
            finals_all += finals
            chosen.append(sel)
            if len(cmp.points[name]) > 1:
                selects += [cmp.done(Unit(name, fold, SELECT, p.index, 0)) for p in cmp.points[name]]
            fold_rows.append(
                {
                    "model": name,
                    "fold": fold,
                    "selected_config": sel,
                    "selected": cmp.points[name][sel].label(),
                    "test_acc": fold_scores[-1],
                    "test_acc_repeats": ";".join(f"{a:.4f}" for a in accs),
                    "holdout_acc": float(np.mean([f["result"]["val_acc"] for f in finals])),
                }
            )
            for g in group_names:
                fold_rows[-1][f"acc_{g}"] = acc = _group_acc(finals, g)
                if acc is not None:
                    group_scores[g].append(acc)
        if not fold_scores:
            continue
        results = [f["result"] for f in finals_all]
        counts = {c: chosen.count(c) for c in sorted(set(chosen))}
        rows.append(
            {
                "model": name,
                "folds": len(fold_scores),
                "test_acc_mean": float(np.mean(fold_scores)),
                "test_acc_std": float(np.std(fold_scores)),
                "holdout_acc_mean": float(np.mean([r["val_acc"] for r in results])),
                "selected": "; ".join(f"c{c} x{n}" for c, n in counts.items()),
                "epochs_mean": float(np.mean([r["epochs_run"] for r in results])),
                "best_epoch_mean": float(np.mean([r["best_epoch"] for r in results])),
                "parameters": int(statistics.median(r["parameters"] for r in results)),
                "seconds_per_epoch": float(np.mean([r["seconds_per_epoch"] for r in results])),
                "peak_mb": float(statistics.median(r["peak_mb"] for r in results)),
                "unit_seconds": float(sum(r["seconds"] for r in results + [s["result"] for s in selects])),
            }
        )
        for g, scores in group_scores.items():
            rows[-1][f"acc_{g}_mean"] = float(np.mean(scores)) if scores else float("nan")
            rows[-1][f"acc_{g}_std"] = float(np.std(scores)) if scores else float("nan")
    return fold_rows, rows


def _group_acc(finals: List[Dict[str, Any]], group: str) -> Optional[float]:
    """Mean test accuracy on ``group`` over a fold's final runs, skipping runs without one
    (no test graph of the group, or a unit file from before breakdowns); ``None`` if none has it."""
    accs = [((f["result"].get("test_groups") or {}).get(group) or {}).get("acc") for f in finals]
    accs = [a for a in accs if a is not None]
    return float(np.mean(accs)) if accs else None


def _csv(rows: List[Dict[str, Any]]) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def _markdown(cmp: "Comparison", rows, fold_rows, meta) -> str:
    k = len(cmp.folds)
    lines = [
        f"# hipool compare: {cmp.dataset.name}",
        "",
        f"{k}-fold stratified CV ({meta['num_graphs']} graphs), model selection on a "
        f"{cmp.s.holdout:.0%} holdout of each training fold, {cmp.s.repeats} final run(s) per fold; "
        f"test accuracy mean ± std over folds.",
        "",
        *table(rows, k),
        "",
        *(_group_table(rows, cmp.dataset.breakdown) if cmp.dataset.breakdown is not None and rows else []),
        "## Configs",
        "",
    ]
    for name, points in cmp.points.items():
        base = cmp.configs[name]
        lines.append(
            f"- **{name}**: pool {base.pool if isinstance(base.pool, str) else base.pool}, schedule "
            f"{base.schedule}, conv {base.conv}, hidden {base.hidden}, readout {base.readout}, "
            f"combine {base.combine}; train {cmp.s.train.to_dict()}"
        )
        for p in points if len(points) > 1 else []:
            lines.append(f"  - c{p.index}: {p.label()}")
    lines += [
        "",
        "## Run",
        "",
        f"- command: `{' '.join(meta['argv'])}`" if meta.get("argv") else "- command: (API)",
        f"- seed {cmp.s.seed}; folds in `folds.json`; one result file per training run in `units/`",
        f"- this invocation: {meta['wall_seconds']:.0f} s wall, {meta['jobs']} process(es) × "
        f"{meta['threads']} thread(s); training runs total {meta['unit_seconds']:.0f} s",
        f"- all {meta['invocations']} invocation(s) since `wall.json` was kept: {meta['wall_seconds_all']:.0f} s "
        "wall (each up to its last finished training run)",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "- s / epoch: training pass only; peak MB: median over runs of "
        + (
            "the GPU memory allocated at the peak"
            if cmp.s.device.startswith("cuda")
            else "the resident memory a run added at its peak"
        ),
        "",
    ]
    return "\n".join(lines)


def table(rows: List[Dict[str, Any]], folds: int) -> List[str]:
    """The summary table as Markdown lines."""
    lines = [
        "| model | test acc | folds | holdout acc | selected | epochs | s / epoch | peak MB | parameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['test_acc_mean']:.3f} ± {r['test_acc_std']:.3f} | {r['folds']}/{folds} | "
            f"{r['holdout_acc_mean']:.3f} | {r['selected']} | {r['epochs_mean']:.0f} | "
            f"{r['seconds_per_epoch']:.3f} | {r['peak_mb']:.0f} | {r['parameters']:,} |"
        )
    return lines if rows else lines + ["| (no model has a finished fold yet) |||||||||"]


def _group_table(rows: List[Dict[str, Any]], breakdown: Breakdown) -> List[str]:
    """The test accuracy per group of the dataset's breakdown (and overall) as Markdown lines."""

    def cell(mean: float, std: float) -> str:
        return "–" if math.isnan(mean) else f"{mean:.3f} ± {std:.3f}"

    lines = [
        f"## Accuracy per {breakdown.attr}",
        "",
        "Test accuracy on the graphs of each group: per fold the mean over its final runs, then "
        "mean ± std over the folds whose test part has graphs of the group (–: none has).",
        "",
        "| model | " + " | ".join(breakdown.names) + " | overall |",
        "|---" * (len(breakdown.names) + 2) + "|",
    ]
    for r in rows:
        cells = [cell(r[f"acc_{g}_mean"], r[f"acc_{g}_std"]) for g in breakdown.names]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {cell(r['test_acc_mean'], r['test_acc_std'])} |")
    return lines + [""]


def _box_plot(cmp: "Comparison", fold_rows, path: Path) -> Optional[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [n for n in cmp.configs if any(r["model"] == n for r in fold_rows)]
    if not names:
        return None
    data = [[r["test_acc"] for r in fold_rows if r["model"] == n] for n in names]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(names), 4.2), dpi=120)
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names)
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.08, 0.08, len(values)), values, s=14, alpha=0.6, color="tab:blue", zorder=3)
    ax.set_ylabel("test accuracy per fold")
    ax.set_title(f"{cmp.dataset.name}: {len(cmp.folds)}-fold CV ({cmp.s.repeats} run(s) per fold)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def write_summary(cmp: "Comparison", *, wall_seconds: float = 0.0, jobs: int = 1, threads: int = 1) -> Dict[str, Any]:
    """Write ``summary.csv``, ``summary.md``, ``summary.json``, ``folds.csv`` and ``accuracy.png``."""
    fold_rows, rows = collect(cmp)
    manifest = load_manifest(cmp.out)
    meta = {
        "num_graphs": len(cmp.dataset),
        "argv": cmp.s.argv,
        "wall_seconds": wall_seconds,
        "jobs": jobs,
        "threads": threads,
        "unit_seconds": sum(r["unit_seconds"] for r in rows),
        "wall_seconds_all": cmp.wall_seconds_all()[0],
        "invocations": cmp.wall_seconds_all()[1],
        "versions": versions(),
    }
    atomic_write_text(cmp.out / "summary.csv", _csv(rows))
    atomic_write_text(cmp.out / "folds.csv", _csv(fold_rows))
    atomic_write_text(cmp.out / "summary.md", _markdown(cmp, rows, fold_rows, meta))
    picture = _box_plot(cmp, fold_rows, cmp.out / "accuracy.png")
    summary = {
        "dataset": cmp.dataset.name,
        "rows": rows,
        "folds": fold_rows,
        "seed": cmp.s.seed,
        "identity": manifest.identity if manifest else None,
        "first_command": manifest.argv if manifest else None,
        "picture": str(picture) if picture else None,
        **meta,
    }
    atomic_write_text(cmp.out / "summary.json", json_text(summary))
    record_files(
        cmp.out,
        summary="summary.md",
        summary_json="summary.json",
        summary_csv="summary.csv",
        folds_csv="folds.csv",
        picture=picture.name if picture else None,
    )
    return summary
