"""Where is the defect, over every fold of a comparison: hit rates of ``hipool explain --suspects``.

For every model and fold of a ``hipool compare`` run folder of circuits (models trained
with ``localize``), this runs ``hipool explain RUN --model M --fold F --suspects`` (skipped
when ``RUN/suspects/M-foldF/suspects.json`` is there) and prints, over the failing test
designs of each fold, the top-1 and top-5 component, top-1 block and top-1 subsystem hit
rates as mean ± std over folds, and the top-1 component rate per true defect level.

    .venv/bin/python benchmarks/suspects.py runs/circuits-recipe

CPU only, no ``--device``: it measures hit rates, not speed, through ``hipool explain``,
which loads the trained model on the CPU and scores one design at a time (a forward pass
and a gradient × input per design); ``hipool explain`` has no ``--device`` to pass on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from hipool.explain.command import run_explain
from hipool.runs import load_manifest

KEYS = ("component top-1", "component top-5", "block top-1", "subsystem top-1")
LEVELS = ("component", "block", "subsystem")


def _ms(values):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--models", default=None, help="comma-separated (default: every model of the run)")
    args = p.parse_args(argv)
    manifest = load_manifest(args.run)  # the run folder's contract (hipool.runs)
    if manifest is None or manifest.command != "compare" or manifest.files.split is None:
        p.error(f"{args.run} is not a finished hipool compare run folder")
    models = args.models.split(",") if args.models else list(manifest.models)
    folds = len(json.loads((args.run / manifest.files.split).read_text())["splits"])
    lines = [
        "| model | " + " | ".join(KEYS) + " | " + " | ".join(f"component top-1, {lv} defects" for lv in LEVELS) + " |",
        "|---" * (1 + len(KEYS) + len(LEVELS)) + "|",
    ]
    for model in models:
        rates = []
        for fold in range(folds):
            out = args.run / "suspects" / f"{model}-fold{fold}"
            if not (out / "suspects.json").is_file():
                run_explain(
                    args.run, model=model, fold=fold, suspects=True, out=out, progress=False, log=lambda *_: None
                )
            rates.append(json.loads((out / "suspects.json").read_text())["rates"])
        cells = [_ms([r["all"].get(k, {}).get("rate") for r in rates]) for k in KEYS]
        cells += [_ms([r.get(lv, {}).get("component top-1", {}).get("rate") for r in rates]) for lv in LEVELS]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    print(f"Hit rates over the failing test designs of {folds} folds of {args.run} (mean ± std over folds)\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
