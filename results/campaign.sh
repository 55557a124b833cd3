#!/usr/bin/env bash
# Issue 20's campaign, one dataset after another (each `hipool compare` resumes: run this
# again after an interruption and only the unfinished training runs are done).  For each
# dataset it copies what a reader needs into results/tu-<DATASET>/ and regenerates the table
# of results/README.md.  Usage, from the repository root:
#
#   bash results/campaign.sh                    # PROTEINS ENZYMES NCI1 DD
#   bash results/campaign.sh MUTAG IMDB-BINARY  # any of the TU datasets
#
# The TU files are read from ../shared/datasets/TU (DATA_ROOT=... to change it); the run
# folders (with checkpoints) go to runs/tu-<DATASET>/, which is not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT="${DATA_ROOT:-../shared/datasets/TU}"
HIPOOL="${HIPOOL:-.venv/bin/hipool}"
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(PROTEINS ENZYMES NCI1 DD)
for ds in "${datasets[@]}"; do
    out="runs/tu-$ds"
    "$HIPOOL" compare --dataset "$ds" --data-root "$DATA_ROOT" --models gin-edgepool,gin-global \
        --grid results/grids/recipe.yaml --folds 10 --repeats 3 --epochs 100 --patience 20 --lr 0.001 \
        --lr-schedule plateau --jobs 2 --no-progress --out "$out"
    mkdir -p "results/tu-$ds"
    cp "$out"/summary.md "$out"/summary.json "$out"/summary.csv "$out"/folds.csv "$out"/folds.json "results/tu-$ds/"
    cp results/grids/recipe.yaml "results/tu-$ds/grid.yaml"
    .venv/bin/python results/make_table.py > /dev/null
done
