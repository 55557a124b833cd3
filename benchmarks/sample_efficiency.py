"""Sample efficiency on the circuits: test accuracy against the number of labelled training designs.

A manufacturer with few labelled designs asks how many it takes.  This draws one pool of
circuits (60-300 components, ``--pool`` of them), sets aside one fixed stratified test set
and one fixed validation set, and trains each model on the first ``N`` designs of a fixed
stratified order of the rest, for every ``N`` of ``--sizes`` (default 250, 500, 1000, 2000,
4000), with the same seed, epochs and training settings.  The models are the best
hierarchical recipe and its global twin (``--models``, preset names or YAML files).

Every (model, size) result is written atomically to ``OUT/<model>-<N>.json`` as soon as it
is done, and a rerun skips what is there (so a long run resumes).  The table (overall and
per defect level) is printed and written to ``OUT/sample_efficiency.md``, the curve to
``OUT/sample_efficiency.png``.  ``--device cuda`` trains on the GPU (hipool's ``train_model``
with ``device="cuda"``); each record says where it was trained (``device``).

    .venv/bin/python benchmarks/sample_efficiency.py                        # the figures in the README
    .venv/bin/python benchmarks/sample_efficiency.py --sizes 100,200 --pool 900 --test 300 --epochs 5  # smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from _bench import add_device_option, probe_device

from hipool.data.circuits.dataset import load_circuits
from hipool.data.splits import stratified_split
from hipool.io import atomic_write_text, json_text
from hipool.presets import resolve_model
from hipool.train.runner import train_model
from hipool.train.settings import TrainSettings


def _order(labels, indices, seed):
    """``indices`` in a stratified order: every prefix holds the classes in their overall shares."""
    g = torch.Generator().manual_seed(seed)
    by_class = {}
    for i in indices:
        by_class.setdefault(labels[i], []).append(i)
    for c in by_class:
        by_class[c] = [by_class[c][j] for j in torch.randperm(len(by_class[c]), generator=g).tolist()]
    out, taken = [], {c: 0 for c in by_class}
    total = len(indices)
    while len(out) < total:
        # the class furthest below its share goes next (an exhausted class never)
        c = min(
            by_class, key=lambda k: (taken[k] + 1) / len(by_class[k]) if taken[k] < len(by_class[k]) else float("inf")
        )
        out.append(by_class[c][taken[c]])
        taken[c] += 1
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="gine-given,gine-edgepool,gine-global")
    p.add_argument("--sizes", default="250,500,1000,2000,4000")
    p.add_argument("--pool", type=int, default=5500, help="circuits drawn in all (default 5500)")
    p.add_argument("--test", type=int, default=1000, help="fixed test designs (default 1000)")
    p.add_argument("--val", type=int, default=500, help="fixed validation designs (default 500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", default="plateau")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("runs/sample_efficiency"))
    add_device_option(p, "where to train (default cpu)")
    args = p.parse_args(argv)
    probe_device(args.device)  # exits with one line when CUDA is asked for and missing
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    ds = load_circuits(f"circuits:n={args.pool},seed={args.seed + 1000},min=60,max=300", progress=True)
    labels = ds.labels()
    n = len(ds)
    if max(sizes) + args.test + args.val > n:
        raise SystemExit(
            f"--pool {n} is too small for {max(sizes)} training + {args.test} test + {args.val} validation designs"
        )
    rest, test = stratified_split(labels, [1 - args.test / n, args.test / n], seed=args.seed)
    rest_labels = [labels[i] for i in rest]
    train_pool, val = stratified_split(rest_labels, [1 - args.val / len(rest), args.val / len(rest)], seed=args.seed)
    train_pool, val = [rest[i] for i in train_pool], [rest[i] for i in val]
    order = _order(labels, train_pool, args.seed)
    settings = TrainSettings(epochs=args.epochs, patience=args.patience, lr=args.lr, lr_schedule=args.lr_schedule)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for spec in args.models.split(","):
        name, config = resolve_model(spec, 150.0, ds.num_known_levels)
        for size in sizes:
            path = args.out / f"{name}-{size}.json"
            if path.is_file():
                rec = json.loads(path.read_text())
                same = (
                    rec["config"] == config.to_dict()
                    and rec["train_settings"] == settings.to_dict()
                    and (rec["test"], rec["val"], rec.get("pool")) == (len(test), len(val), n)
                )
                if not same:
                    raise SystemExit(
                        f"{path} was trained with other settings (model, training, pool or split "
                        f"sizes) than this command's; give the same options, another --out, or "
                        f"delete it"
                    )
                results[(name, size)] = rec
                continue
            t0 = time.perf_counter()
            _, _, run = train_model(
                ds,
                config,
                settings,
                order[:size],
                val,
                test,
                seed=args.seed,
                device=args.device,
                progress=True,
                desc=f"{name} n={size}",
            )
            rec = {
                "model": name,
                "train": size,
                "test": len(test),
                "val": len(val),
                "pool": n,
                "config": config.to_dict(),
                "train_settings": settings.to_dict(),
                **run.to_dict(),
                "wall_s": time.perf_counter() - t0,
                "torch_threads": torch.get_num_threads(),
                "device": args.device,
            }
            atomic_write_text(path, json_text(rec))
            results[(name, size)] = rec
            print(
                f"{name} n={size}: test {run.test_acc:.3f} "
                + " ".join(f"{k} {v['acc']:.3f}" for k, v in (run.test_groups or {}).items()),
                flush=True,
            )
    names = list(dict.fromkeys(k[0] for k in results))
    groups = list(next(iter(results.values()))["test_groups"] or {})
    lines = [
        f"# Sample efficiency on circuits (60-300 components; test {args.test}, validation {args.val}, "
        f"{args.epochs} epochs, patience {args.patience}, lr {args.lr}, {args.lr_schedule})",
        "",
        "| model | train designs | test acc | " + " | ".join(groups) + " |",
        "|---" * (3 + len(groups)) + "|",
    ]
    for name in names:
        for size in sizes:
            r = results[(name, size)]
            cells = [f"{r['test_groups'][g]['acc']:.3f}" for g in groups]
            lines.append(f"| {name} | {size} | {r['test_acc']:.3f} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    atomic_write_text(args.out / "sample_efficiency.md", text)
    print(text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no picture: matplotlib is missing (pip install 'hipool[plot]')")
        return 0
    fig, axes = plt.subplots(1, 1 + len(groups), figsize=(4 * (1 + len(groups)), 3.6), sharey=True)
    for ax, key in zip(axes, ["overall"] + groups):
        for name in names:
            ys = [
                results[(name, s)]["test_acc"] if key == "overall" else results[(name, s)]["test_groups"][key]["acc"]
                for s in sizes
            ]
            ax.plot(sizes, ys, marker="o", label=name)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes], fontsize=8)
        ax.set_title(key if key == "overall" else f"{key} defects" if key != "pass" else "passing designs")
        ax.set_xlabel("training designs")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Circuits: accuracy against training-set size (fixed test set of {args.test})")
    fig.tight_layout()
    fig.savefig(args.out / "sample_efficiency.png", dpi=110)
    print(f"wrote {args.out}/sample_efficiency.md, sample_efficiency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
