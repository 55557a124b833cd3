"""The accuracy table of `results/README.md`, regenerated from the campaign summaries (issue 20).

    .venv/bin/python results/make_table.py           # rewrite the table in results/README.md
    .venv/bin/python results/make_table.py --check   # exit 1 when the README's table is stale

Each campaign's summary lies in ``results/tu-<DATASET>/summary.json`` (what `hipool compare`
wrote, copied from its run folder).  A cell is the test accuracy over the outer folds, mean ±
std in percent, with the finished folds when fewer than all; a dataset without a summary is
``missing``.  Errica et al.'s rows (ICLR 2020, the same protocol: 10-fold, model selection on
an inner holdout) are the published figures, for comparison; they are the only typed numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # results/markers.py
from markers import write_block  # noqa: E402

README = HERE / "README.md"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"
#: The campaign's datasets, in the table's column order.
DATASETS: Tuple[str, ...] = ("PROTEINS", "NCI1", "DD", "ENZYMES", "MUTAG", "IMDB-BINARY")
#: Errica et al., "A Fair Comparison of Graph Neural Networks for Graph Classification", ICLR 2020,
#: Table 3 (mean ± std of test accuracy over 10 outer folds), as issue 20 quotes them.
ERRICA: Dict[str, Dict[str, Tuple[float, float]]] = {
    "Errica: structure-agnostic baseline": {
        "DD": (78.4, 4.5),
        "NCI1": (69.8, 2.2),
        "PROTEINS": (75.8, 3.7),
        "ENZYMES": (65.2, 6.4),
    },
    "Errica: GIN (no pooling)": {
        "DD": (75.3, 2.9),
        "NCI1": (80.0, 1.4),
        "PROTEINS": (73.3, 4.0),
        "ENZYMES": (59.6, 4.5),
    },
    "Errica: DiffPool": {"DD": (75.0, 3.5), "NCI1": (76.9, 1.9), "PROTEINS": (73.7, 3.5), "ENZYMES": (59.5, 5.6)},
}


def summaries(root: Path = HERE) -> Dict[str, dict]:
    """Dataset → its campaign summary (``results/tu-<DATASET>/summary.json``), where there is one."""
    out = {}
    for name in DATASETS:
        path = root / f"tu-{name}" / "summary.json"
        if path.is_file():
            out[name] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _folds(summary: dict) -> int:
    """The campaign's number of outer folds (its identity), finished or not."""
    return int(summary["identity"]["folds"])


def _cell(row: Optional[dict], folds: int) -> str:
    if row is None:
        return ""
    done = int(row["folds"])
    cell = f"{100 * row['test_acc_mean']:.1f} ± {100 * row['test_acc_std']:.1f}"
    return cell if done >= folds else f"{cell} ({done}/{folds} folds)"


def render(root: Path = HERE) -> str:
    """The table (Markdown), hipool's models first, then Errica's rows, and a line on what is missing."""
    found = summaries(root)
    models: List[str] = []
    for s in found.values():
        models += [r["model"] for r in s["rows"] if r["model"] not in models]
    lines = ["| model | " + " | ".join(DATASETS) + " |", "|---" * (len(DATASETS) + 1) + "|"]
    for model in models:
        cells = []
        for name in DATASETS:
            s = found.get(name)
            row = next((r for r in s["rows"] if r["model"] == model), None) if s else None
            cells.append(_cell(row, _folds(s)) if s else "")
        lines.append(f"| hipool `{model}` | " + " | ".join(cells) + " |")
    for model, figures in ERRICA.items():
        cells = [f"{figures[n][0]:.1f} ± {figures[n][1]:.1f}" if n in figures else "" for n in DATASETS]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    missing = [n for n in DATASETS if n not in found]
    partial = [n for n, s in found.items() if any(int(r["folds"]) < _folds(s) for r in s["rows"])]
    notes = []
    if partial:
        notes.append(f"still running (folds finished so far): {', '.join(partial)}")
    if missing:
        notes.append(f"not run yet: {', '.join(missing)}")
    if notes:
        lines += ["", "; ".join(notes) + "."]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 when the README's table is not what the summaries give")
    args = p.parse_args(argv)
    status = write_block(README, BEGIN, END, render(), args.check, "results/make_table.py")
    if args.check:
        return status
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
