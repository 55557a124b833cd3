#!/usr/bin/env bash
# Issue 21's figures: `hipool advise --check` on seven datasets, one after another (each check
# resumes: run this again after an interruption).  Writes results/advise/<name>.json and .txt
# (the printed advice and check); the check folders go to runs/advise-<name>/.  From the
# repository root:   bash results/advise/run.sh [SPEC ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
HIPOOL="${HIPOOL:-.venv/bin/hipool}"
TU="${TU:-../shared/datasets/TU}"
SPICE="${SPICE:-../shared/datasets/spice}"
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(MUTAG IMDB-BINARY communities PROTEINS analoggenie DD circuits:n=400)
for spec in "${specs[@]}"; do
    name="${spec//[:=,]/_}"
    root="$TU"
    [ "$spec" = analoggenie ] && root="$SPICE"
    "$HIPOOL" advise "$spec" --data-root "$root" --check --check-folds 5 --check-epochs 30 \
        --jobs 2 --threads 1 --no-progress --out "runs/advise-$name" --json "results/advise/$name.json" \
        > "results/advise/$name.txt.tmp"
    mv "results/advise/$name.txt.tmp" "results/advise/$name.txt"
done
