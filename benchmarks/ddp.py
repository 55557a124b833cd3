"""Data-parallel training: seconds per training epoch, 2 processes (torchrun + DDP) vs 1.

What it measures
    ``hipool train`` on a TU dataset (default DD: 1178 graphs, 284 nodes on average,
    89 features) with a named model (default ``topk``), run three ways on the same
    machine, one after the other:

    * ``1 proc x 1 thread``: one process, ``--threads 1``;
    * ``1 proc x N threads``: one process using every core the run may use (``--threads N``);
    * ``N procs x 1 thread``: ``torchrun --nproc_per_node=N -m hipool train ... --threads 1``
      (DistributedDataParallel over gloo; each process trains on its share of every epoch).

    The global batch is the same in all three (the data-parallel run gets
    ``--batch-size B/N`` per process), so every run takes the same number of optimizer
    steps per epoch.  The figure is the median of the ``seconds`` column of
    ``metrics.csv`` (the training pass of an epoch on process 0, which waits for the
    gradient all-reduce) over the epochs after the first (warm-up).  The script prints
    the speed-up of the data-parallel run over each single-process run, and the last
    training loss of each run as a sanity check (they differ a little: the batches are
    drawn differently).

Data
    Raw TU files are read in place from ``--data-root`` (default
    ``<repo>/../shared/datasets/TU``); processed files go to a temporary cache.

Run (from the repository root)
    .venv/bin/python benchmarks/ddp.py [--dataset DD] [--model topk] [--epochs 4] [--procs 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import fmt_table, write_atomic  # noqa: E402


def run(cmd, env, label):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")


def epoch_seconds(out: Path):
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    secs = [float(r["seconds"]) for r in rows[1:]] or [float(rows[0]["seconds"])]
    return statistics.median(secs), float(rows[-1]["train_loss"]), len(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="DD")
    p.add_argument("--data-root", default=str(REPO.parent / "shared" / "datasets" / "TU"))
    p.add_argument("--model", default="topk")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32, help="global batch (split over the processes)")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    args = p.parse_args()
    if args.epochs < 2 or args.procs < 2 or args.batch_size % args.procs:
        p.error("--epochs >= 2, --procs >= 2, and --batch-size divisible by --procs")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="hipool-ddp-") as tmp:
        tmp = Path(tmp)
        common = [
            "--dataset",
            args.dataset,
            "--data-root",
            args.data_root,
            "--cache-dir",
            str(tmp / "cache"),
            "--model",
            args.model,
            "--epochs",
            str(args.epochs),
            "--no-patience",
            "--test",
            "0",
            "--no-progress",
        ]
        hipool = [sys.executable, "-m", "hipool", "train"]
        runs = [
            ("1 proc x 1 thread", hipool + common + ["--threads", "1", "--batch-size", str(args.batch_size)]),
            (
                f"1 proc x {args.procs} threads",
                hipool + common + ["--threads", str(args.procs), "--batch-size", str(args.batch_size)],
            ),
            (
                f"{args.procs} procs x 1 thread",
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--standalone",
                    f"--nproc_per_node={args.procs}",
                    "-m",
                    "hipool",
                    "train",
                ]
                + common
                + ["--threads", "1", "--batch-size", str(args.batch_size // args.procs)],
            ),
        ]
        results = []
        for i, (label, cmd) in enumerate(runs):
            out = tmp / f"run{i}"
            print(f"running: {label} ...", flush=True)
            run(cmd + ["--out", str(out)], env, label)
            sec, loss, epochs = epoch_seconds(out)
            results.append({"setup": label, "seconds_per_epoch": sec, "last_train_loss": loss, "epochs": epochs})
    ddp = results[-1]["seconds_per_epoch"]
    for r in results:
        r["ddp_speedup"] = r["seconds_per_epoch"] / ddp
    print(
        f"\n{args.dataset}, model {args.model}, global batch {args.batch_size}, {args.epochs} epochs "
        f"(median of epochs 2..{args.epochs}); torch threads as shown\n"
    )
    print(
        fmt_table(
            ["setup", "s/epoch", "DDP speed-up", "last loss"],
            [
                [r["setup"], f"{r['seconds_per_epoch']:.2f}", f"{r['ddp_speedup']:.2f}x", f"{r['last_train_loss']:.4f}"]
                for r in results
            ],
        )
    )
    print(
        f"\nspeed-up of {args.procs} DDP processes: {results[0]['ddp_speedup']:.2f}x over one process with one "
        f"thread, {results[1]['ddp_speedup']:.2f}x over one process with {args.procs} threads"
    )
    if args.out:
        write_atomic(Path(args.out), json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
