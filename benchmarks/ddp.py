"""Data-parallel training: seconds per training epoch, N processes (torchrun + DDP) vs 1.

What it measures
    ``hipool train`` on a TU dataset (default DD: 1178 graphs, 284 nodes on average,
    89 features) with a named model (default ``topk``), run three ways on the same
    machine, one after the other:

    * ``1 proc x 1 thread``: one process, ``--threads 1``;
    * ``1 proc x N threads``: one process using every core the run may use (``--threads N``);
    * ``N procs x 1 thread``: ``torchrun --nproc_per_node=N -m hipool train ... --threads 1``
      (DistributedDataParallel over gloo; each process trains on its share of every epoch).

    With ``--device cuda`` the processes train on GPUs, one GPU each, and DDP goes over
    nccl (``hipool train --device cuda``: under torchrun each process takes the GPU of its
    ``LOCAL_RANK``).  Two runs then: ``1 proc x 1 GPU`` and ``N procs x N GPUs``; the script
    refuses at once, with one line, when CUDA is missing or the machine has fewer GPUs than
    ``--procs``.  The epoch's clock is synchronised by ``hipool train`` itself (it reads every
    batch's loss before the optimizer step).

    The global batch is the same in all three (the data-parallel run gets
    ``--batch-size B/N`` per process), so every run takes the same number of optimizer
    steps per epoch.  The figure is the median of the ``seconds`` column of
    ``metrics.csv`` (the training pass of an epoch on process 0, which waits for the
    gradient all-reduce) over the epochs after the first (warm-up).  The script prints
    the speed-up of the data-parallel run over each single-process run, the peak memory
    of process 0 (``peak_mb`` of its ``result.json``: the CUDA allocator's peak on a GPU,
    the resident set's growth on the CPU), and the last training loss of each run as a
    sanity check (they differ a little: the batches are drawn differently).

Data
    Raw TU files are read in place from ``--data-root`` (default
    ``<repo>/../shared/datasets/TU``); processed files go to a temporary cache.

Run (from the repository root)
    .venv/bin/python benchmarks/ddp.py [--dataset DD] [--model topk] [--epochs 4] [--procs 2]
    .venv/bin/python benchmarks/ddp.py --device cuda --procs 2   # two GPUs, nccl
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
from _bench import add_device_option, device_header, fmt_table, probe_device, write_atomic  # noqa: E402


def run(cmd, env, label):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")


def epoch_seconds(out: Path):
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    secs = [float(r["seconds"]) for r in rows[1:]] or [float(rows[0]["seconds"])]
    return statistics.median(secs), float(rows[-1]["train_loss"]), len(rows)


def runs_of(args, common: list) -> list:
    """``(label, command)`` of every run: on the CPU one process with one thread, one with
    ``--procs`` threads and ``--procs`` DDP processes (gloo); on CUDA one process on one GPU
    and ``--procs`` DDP processes on as many GPUs (nccl)."""
    hipool = [sys.executable, "-m", "hipool", "train"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.procs}"]
    ddp = torchrun + ["-m", "hipool", "train"] + common + ["--batch-size", str(args.batch_size // args.procs)]
    whole = common + ["--batch-size", str(args.batch_size)]
    if args.device == "cuda":
        return [
            ("1 proc x 1 GPU", hipool + whole + ["--device", "cuda", "--threads", "1"]),
            (f"{args.procs} procs x {args.procs} GPUs", ddp + ["--device", "cuda", "--threads", "1"]),
        ]
    return [
        ("1 proc x 1 thread", hipool + whole + ["--threads", "1"]),
        (f"1 proc x {args.procs} threads", hipool + whole + ["--threads", str(args.procs)]),
        (f"{args.procs} procs x 1 thread", ddp + ["--threads", "1"]),
    ]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="DD")
    p.add_argument("--data-root", default=str(REPO.parent / "shared" / "datasets" / "TU"))
    p.add_argument("--model", default="topk")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32, help="global batch (split over the processes)")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    add_device_option(p, "cpu: processes and threads, DDP over gloo; cuda: one GPU per process, DDP over nccl")
    args = p.parse_args(argv)
    if args.epochs < 2 or args.procs < 2 or args.batch_size % args.procs:
        p.error("--epochs >= 2, --procs >= 2, and --batch-size divisible by --procs")
    info = probe_device(args.device)  # exits with one line when CUDA is asked for and missing
    if args.device == "cuda" and info["count"] < args.procs:
        fix = f"use --procs {info['count']}" if info["count"] >= 2 else "data-parallel training on GPUs needs 2 or more"
        p.error(
            f"--device cuda --procs {args.procs}: one GPU per process, and this machine has {info['count']} "
            f"({info['name']}); {fix}"
        )
    if args.device == "cuda":
        print(device_header(info))
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
        results = []
        for i, (label, cmd) in enumerate(runs_of(args, common)):
            out = tmp / f"run{i}"
            print(f"running: {label} ...", flush=True)
            run(cmd + ["--out", str(out)], env, label)
            sec, loss, epochs = epoch_seconds(out)
            peak = json.loads((out / "result.json").read_text()).get("peak_mb")
            results.append(
                {
                    "setup": label,
                    "device": args.device,
                    "seconds_per_epoch": sec,
                    "last_train_loss": loss,
                    "epochs": epochs,
                    "peak_MB": peak,
                }
            )
    ddp = results[-1]["seconds_per_epoch"]
    for r in results:
        r["ddp_speedup"] = r["seconds_per_epoch"] / ddp
    print(
        f"\n{args.dataset}, model {args.model}, global batch {args.batch_size}, {args.epochs} epochs "
        f"(median of epochs 2..{args.epochs}); torch threads as shown\n"
    )
    print(
        fmt_table(
            ["setup", "s/epoch", "DDP speed-up", "peak MB (proc 0)", "last loss"],
            [
                [
                    r["setup"],
                    f"{r['seconds_per_epoch']:.2f}",
                    f"{r['ddp_speedup']:.2f}x",
                    "-" if r["peak_MB"] is None else f"{r['peak_MB']:.1f}",
                    f"{r['last_train_loss']:.4f}",
                ]
                for r in results
            ],
        )
    )
    if args.device == "cuda":
        print(
            f"\nspeed-up of {args.procs} DDP processes on {args.procs} GPUs: {results[0]['ddp_speedup']:.2f}x over one"
        )
    else:
        print(
            f"\nspeed-up of {args.procs} DDP processes: {results[0]['ddp_speedup']:.2f}x over one process with one "
            f"thread, {results[1]['ddp_speedup']:.2f}x over one process with {args.procs} threads"
        )
    if args.out:
        write_atomic(Path(args.out), json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
