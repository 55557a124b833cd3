#!/usr/bin/env bash
# Issue 20's campaign, one dataset after another (each `hipool compare` resumes: run this
# again after an interruption and only the unfinished training runs are done).  For each
# dataset it copies what a reader needs into results/tu-<DATASET>/ and regenerates the table
# of results/README.md.  Usage, from the repository root:
#
#   bash results/campaign.sh                    # PROTEINS ENZYMES NCI1 DD
#   bash results/campaign.sh MUTAG IMDB-BINARY  # any of the TU datasets
#
# The TU files are read from ../shared/datasets/TU (DATA_ROOT=... to change it).  The run
# folder is results/tu-<DATASET>/run/ (RUNS=... to change it): its training run records are
# committed as they finish, so a campaign resumes from a fresh checkout, not only on the machine
# that ran it (a checkout does not keep runs/); its checkpoints (*.pt) are not committed
# (.gitignore): a final run without one still counts, and `hipool explain`/`report` need the
# machine that trained it.  PROTEINS, ENZYMES and NCI1 ran with --out runs/tu-<DATASET>, before
# this; run again, they would start anew in results/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT="${DATA_ROOT:-../shared/datasets/TU}"
HIPOOL="${HIPOOL:-.venv/bin/hipool}"
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(PROTEINS ENZYMES NCI1 DD)
for ds in "${datasets[@]}"; do
    out="results/tu-$ds/run"
    [ -z "${RUNS:-}" ] || out="$RUNS/tu-$ds"
    "$HIPOOL" compare --dataset "$ds" --data-root "$DATA_ROOT" --models gin-edgepool,gin-global \
        --grid results/grids/recipe.yaml --folds 10 --repeats 3 --epochs 100 --patience 20 --lr 0.001 \
        --lr-schedule plateau --jobs 2 --no-progress --out "$out"
    mkdir -p "results/tu-$ds"
    cp "$out"/summary.md "$out"/summary.json "$out"/summary.csv "$out"/folds.csv "$out"/folds.json "results/tu-$ds/"
    cp results/grids/recipe.yaml "results/tu-$ds/grid.yaml"
    .venv/bin/python results/make_table.py > /dev/null
done
