"""The accuracy table of issue 23's new poolers on PROTEINS, made from the `hipool compare`
summaries under results/ (never typed by hand), between the `proteins` markers of
docs/pooler-catalogue.md.

    .venv/bin/python results/poolers-PROTEINS/table.py           # rewrite the table
    .venv/bin/python results/poolers-PROTEINS/table.py --check   # exit 1 when it is out of date

Every row has the same protocol: issue 20's 10 folds (results/tu-PROTEINS/folds.json), the
recipe `gin-<pooler>` with fixed hyperparameters (hidden 64, lr 1e-3 with plateau, at most 100
epochs, patience 20), 1 final run per fold, model selection nothing but early stopping on the
fold's holdout.  The non-learned NDP and SEP run as precomputed 2-level hierarchies pooled by
`gin-given` (`--dataset PROTEINS@ndp:2`, `@sep:2`); the recipe with EdgePool and its global
twin are the same runs' references (results/proteins-recipe, the same folds and settings).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # results/markers.py
from markers import write_block  # noqa: E402

DOC = HERE.parent.parent / "docs" / "pooler-catalogue.md"
BEGIN, END = "<!-- proteins:begin -->", "<!-- proteins:end -->"
#: (summary folder, model in it, the row's name), in the table's order.
ROWS = [
    ("learned", "gin-pan", "`pan`"),
    ("learned", "gin-kmis", "`kmis`"),
    ("learned", "gin-maxcut", "`maxcut`"),
    ("ndp", "gin-given", "`ndp` (precomputed, `PROTEINS@ndp:2`)"),
    ("learned", "gin-justbalance", "`justbalance`"),
    ("learned", "gin-hosc", "`hosc`"),
    ("learned", "gin-acc", "`acc`"),
    ("learned", "gin-lapool", "`lapool`"),
    ("learned", "gin-nmf", "`nmf`"),
    ("learned", "gin-eigenpool", "`eigenpool`"),
    ("learned", "gin-bnpool", "`bnpool`"),
    ("sep", "gin-given", "`sep` (precomputed, `PROTEINS@sep:2`)"),
    ("../proteins-recipe", "gin-edgepool", "`edgepool` (reference)"),
    ("../proteins-recipe", "gin-global", "no pooling, `gin-global` (reference)"),
]


def _summary(folder: str) -> dict:
    path = HERE / folder / "summary.json"
    return {r["model"]: r for r in json.loads(path.read_text())["rows"]} if path.is_file() else {}


def rows() -> list:
    out, cache = [], {}
    for folder, model, name in ROWS:
        row = cache.setdefault(folder, _summary(folder)).get(model)
        if row is None:
            out.append(f"| {name} | not finished | | |")
            continue
        acc = f"{100 * row['test_acc_mean']:.1f} ± {100 * row['test_acc_std']:.1f}"
        if row["folds"] < 10:
            acc += f" ({row['folds']} folds)"
        out.append(f"| {name} | {acc} | {row['epochs_mean']:.0f} | {row['seconds_per_epoch']:.2f} |")
    return out


def render() -> str:
    head = ["| pooler | test accuracy, % | epochs | s / epoch |", "|---|---|---|---|"]
    return "\n".join(head + rows())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return write_block(DOC, BEGIN, END, render(), "--check" in argv, "results/poolers-PROTEINS/table.py")


if __name__ == "__main__":
    raise SystemExit(main())
