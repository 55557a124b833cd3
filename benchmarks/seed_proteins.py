"""Seed model on PROTEINS: training time per epoch, hipool's TopKPooling vs PyG's.

What it measures
    The "seed" hierarchical GNN (GCNConv -> TopKPooling -> GCNConv ->
    TopKPooling -> global_mean_pool -> Linear) is built twice, once with
    ``torch_geometric.nn.TopKPooling`` (side A) and once with
    ``hipool.nn.TopKPooling`` (side B).  Side B gets side A's initial weights
    through ``load_state_dict(strict=True)``, which also checks that the two
    classes are state_dict-compatible.  Both are trained with Adam on the whole
    PROTEINS dataset, with the same batches in the same order every epoch.

    Timing covers forward + backward + optimizer step over every batch of an
    epoch.  Batches are collated once per epoch, outside the timer, and the same
    batch objects are fed to both models, so data loading (identical work for
    both) does not dilute the comparison.  The two implementations are
    interleaved epoch by epoch, and which of them goes first alternates every
    epoch, to cancel drift (thermal, other load).  Epoch 1 is a warm-up and is
    left out of the statistics.  The script reports median and mean seconds per
    epoch and the ratio hipool / PyG (goal: <= 1.0), and, as a sanity check, the
    mean training loss of both per epoch and their largest absolute difference.
    The losses agree closely but not bitwise: with PROTEINS' one-hot features
    many nodes of a graph get exactly equal scores, and hipool (stable, lower
    node index first) and PyG (``torch.sort`` order) may keep different nodes
    among equal scores at the cut, so the training trajectories drift apart a
    little (about 1e-2 in mean loss over 10 epochs).

Device
    ``--device cuda`` moves both models and every epoch's batches to the GPU (the batches
    outside the timer), reads the clock after ``torch.cuda.synchronize()``, and reports each
    side's CUDA allocator peak over an epoch (``torch.cuda.max_memory_allocated`` after
    ``reset_peak_memory_stats``, minus what was allocated when the epoch began: the two
    models, their optimizer states and the epoch's batches).

Data
    TU PROTEINS, read from ``<data-root>/PROTEINS/raw`` (default
    ``<repo>/../shared/datasets/TU``).  That folder is never written to: its
    ``raw`` folder is copied once into ``--cache`` (default
    ``~/.cache/hipool/benchmarks/TU``) and ``TUDataset`` processes it there.
    Node features are PyG's defaults, ``use_node_attr=False``: the one-hot node
    labels (3 features).

Run (from the repository root)
    .venv/bin/python benchmarks/seed_proteins.py [--epochs N] [--device cuda]

    ``--impl-b pyg`` puts PyG's class on both sides (a control run: its ratio
    shows the noise floor of the measurement).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torch_geometric
from torch_geometric.datasets import TUDataset
from torch_geometric.loader import DataLoader
from torch_geometric.nn import TopKPooling as PygTopKPooling
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import add_device_option, device_header, probe_device  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from examples.seed_model import seed_model_class  # noqa: E402  (the seed model, one copy)

DEFAULT_DATA_ROOT = (REPO_ROOT.parent / "shared" / "datasets" / "TU").resolve()
DEFAULT_CACHE = Path("~/.cache/hipool/benchmarks/TU").expanduser()
DATASET = "PROTEINS"


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=10, help="training epochs per implementation (the first is warm-up)")
    p.add_argument("--batch-size", type=int, default=64, help="graphs per batch")
    p.add_argument("--hidden", type=int, default=64, help="hidden channels")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed for the initial weights and the batch order")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT, help="read-only folder holding PROTEINS/raw")
    p.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="writable folder where PROTEINS/raw is copied and processed"
    )
    p.add_argument(
        "--use-node-attr",
        action="store_true",
        help="also use PROTEINS' continuous node attribute (4 features instead of 3)",
    )
    p.add_argument(
        "--impl-b",
        choices=("hipool", "pyg"),
        default="hipool",
        help="pooling class of side B; 'pyg' is a PyG-vs-PyG control run",
    )
    add_device_option(p, "where both sides train; on cuda each side's CUDA allocator peak per epoch is reported")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be >= 2 (epoch 1 is a warm-up)")
    return args


def load_dataset(data_root: Path, cache: Path, use_node_attr: bool) -> TUDataset:
    """Copy ``<data_root>/PROTEINS/raw`` into ``cache`` (if missing) and load it from there."""
    data_root = data_root.expanduser().resolve()
    cache = cache.expanduser().resolve()
    src = data_root / DATASET / "raw"
    dst = cache / DATASET / "raw"
    if cache == data_root or data_root in cache.parents:
        sys.exit(f"error: --cache ({cache}) must not be inside --data-root ({data_root})")
    if not dst.is_dir():
        if not src.is_dir():
            sys.exit(f"error: {src} not found (set --data-root)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        # Copy next to the destination, then rename: an interrupted copy never
        # looks like a complete one.
        tmp = Path(tempfile.mkdtemp(prefix=".raw-", dir=dst.parent))
        shutil.copytree(src, tmp / "raw")
        os.replace(tmp / "raw", dst)
        tmp.rmdir()
    return TUDataset(root=str(cache), name=DATASET, use_node_attr=use_node_attr)


def impl_b_class(name: str):
    if name == "pyg":
        return PygTopKPooling
    try:
        from hipool.nn import TopKPooling
    except ImportError as exc:
        sys.exit(f"error: cannot import hipool.nn.TopKPooling ({exc}); use --impl-b pyg for a PyG-vs-PyG control run")
    return TopKPooling


def hipool_version() -> str:
    try:
        import hipool
    except ImportError:
        return "not installed"
    version = getattr(hipool, "__version__", None)
    if version is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = dist_version("hipool")
        except PackageNotFoundError:
            version = "unknown"
    return version


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(model, optimizer, batches, device: torch.device) -> tuple[float, float, float]:
    """One epoch over ``batches`` (already on ``device``); returns (seconds, mean loss per graph,
    CUDA allocator peak in MB above what was allocated at the start; ``nan`` on the CPU)."""
    model.train()
    total_loss = 0.0
    total_graphs = 0
    cuda = device.type == "cuda"
    _sync(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    start = time.perf_counter()
    for data in batches:
        optimizer.zero_grad()
        out = model(data.x, data.edge_index, data.batch)
        loss = F.cross_entropy(out, data.y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * data.num_graphs
        total_graphs += data.num_graphs
    _sync(device)
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated(device) - base) / 1e6 if cuda else float("nan")
    return seconds, total_loss / total_graphs, peak


def fmt_table(header, rows, align=None) -> str:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)) + " |"

    sep = (
        "|" + "|".join(("-" * (w + 1) + ":" if a == "r" else ":" + "-" * (w + 1)) for w, a in zip(widths, align)) + "|"
    )
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def main(argv=None) -> int:
    args = parse_args(argv)
    info = probe_device(args.device)  # exits with one line when CUDA is asked for and missing
    device = torch.device(args.device)
    command = shlex.join([sys.executable] + sys.argv)
    torch.set_num_threads(args.threads)
    if device.type == "cuda":
        print(device_header(info))

    dataset = load_dataset(args.data_root, args.cache, args.use_node_attr)
    features = (
        "node attribute + one-hot node labels, use_node_attr=True"
        if args.use_node_attr
        else "one-hot node labels, use_node_attr=False"
    )
    cls_b = impl_b_class(args.impl_b)
    label_a = "PyG"
    label_b = "hipool" if args.impl_b == "hipool" else "PyG (control)"
    print(
        f"dataset: {dataset} in {dataset.root}: {dataset.num_node_features} node features "
        f"({features}), {dataset.num_classes} classes"
    )
    print(f"side A: {PygTopKPooling.__module__}.{PygTopKPooling.__qualname__}")
    print(f"side B: {cls_b.__module__}.{cls_b.__qualname__}")

    dims = (dataset.num_node_features, args.hidden, dataset.num_classes)
    torch.manual_seed(args.seed)
    model_a = seed_model_class(PygTopKPooling)(*dims)
    model_b = seed_model_class(cls_b)(*dims)
    try:
        model_b.load_state_dict(model_a.state_dict(), strict=True)
    except RuntimeError as exc:
        raise SystemExit(f"error: side B does not load side A's state_dict (strict=True):\n{exc}") from exc
    model_a.to(device)
    model_b.to(device)
    opt_a = torch.optim.Adam(model_a.parameters(), lr=args.lr)
    opt_b = torch.optim.Adam(model_b.parameters(), lr=args.lr)

    # Sanity check before training: same weights and same input give the same logits.
    probe = next(iter(DataLoader(dataset, batch_size=args.batch_size))).to(device)
    with torch.no_grad():
        logits_a = model_a(probe.x, probe.edge_index, probe.batch)
        logits_b = model_b(probe.x, probe.edge_index, probe.batch)
    init_diff = (logits_a - logits_b).abs().max().item()
    print(f"state_dict loaded with strict=True; max |logits A - logits B| at init: {init_diff:.3g}")

    # One seeded generator drives the shuffle; every epoch's batches are collated
    # once and fed to both models, so their order is identical by construction.
    generator = torch.Generator().manual_seed(args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, generator=generator)

    sides = {"A": (model_a, opt_a), "B": (model_b, opt_b)}
    records = []  # (epoch, first, sec_a, sec_b, loss_a, loss_b)
    peaks = {"A": [], "B": []}  # CUDA allocator peak per epoch (MB)
    bar = tqdm(range(1, args.epochs + 1), desc="epochs", unit="epoch", file=sys.stderr)
    for epoch in bar:
        batches = [b.to(device) for b in loader]
        order = ("A", "B") if epoch % 2 == 1 else ("B", "A")
        result = {}
        for side in order:
            seconds, loss, peak = train_epoch(*sides[side], batches, device)
            result[side] = (seconds, loss)
            peaks[side].append(peak)
        (sec_a, loss_a), (sec_b, loss_b) = result["A"], result["B"]
        first = label_a if order[0] == "A" else label_b
        records.append((epoch, first, sec_a, sec_b, loss_a, loss_b))
        bar.set_postfix(A=f"{sec_a:.2f}s", B=f"{sec_b:.2f}s", ratio=f"{sec_b / sec_a:.3f}")
    bar.close()

    timed = records[1:]  # epoch 1 is warm-up
    sec_a = [r[2] for r in timed]
    sec_b = [r[3] for r in timed]
    loss_diffs = [abs(r[4] - r[5]) for r in records]
    med_a, med_b = statistics.median(sec_a), statistics.median(sec_b)
    mean_a, mean_b = statistics.fmean(sec_a), statistics.fmean(sec_b)

    print()
    print("### Per epoch")
    print()
    print(
        fmt_table(
            [
                "epoch",
                "first",
                f"{label_a} s",
                f"{label_b} s",
                f"{label_b}/{label_a}",
                f"{label_a} loss",
                f"{label_b} loss",
                "abs loss diff",
            ],
            [
                (
                    f"{e}" + (" (warm-up)" if e == 1 else ""),
                    first,
                    f"{a:.3f}",
                    f"{b:.3f}",
                    f"{b / a:.3f}",
                    f"{la:.6f}",
                    f"{lb:.6f}",
                    f"{abs(la - lb):.2e}",
                )
                for e, first, a, b, la, lb in records
            ],
            align=["l", "l", "r", "r", "r", "r", "r", "r"],
        )
    )
    print()
    print(f"### Summary (epochs 2-{args.epochs}, {len(timed)} timed epochs each)")
    print()
    print(
        fmt_table(
            ["side", "TopKPooling", "median s/epoch", "mean s/epoch", "final mean loss"],
            [
                ("A", label_a, f"{med_a:.3f}", f"{mean_a:.3f}", f"{records[-1][4]:.6f}"),
                ("B", label_b, f"{med_b:.3f}", f"{mean_b:.3f}", f"{records[-1][5]:.6f}"),
                ("B/A", f"{label_b} / {label_a}", f"{med_b / med_a:.3f}", f"{mean_b / mean_a:.3f}", ""),
            ],
            align=["l", "l", "r", "r", "r"],
        )
    )
    print()
    print(
        f"- max abs difference of the per-epoch mean training loss: {max(loss_diffs):.3g} "
        f"(logits at init: {init_diff:.3g})"
    )
    if device.type == "cuda":
        peak_a, peak_b = max(peaks["A"]), max(peaks["B"])
        print(
            f"- CUDA allocator peak of an epoch (max over epochs, above the models and batches): "
            f"{label_a} {peak_a:.1f} MB, {label_b} {peak_b:.1f} MB ({label_b}/{label_a} {peak_b / peak_a:.3f}); "
            f"{info['name']}"
        )
    paired = statistics.median(r[3] / r[2] for r in timed)
    print(f"- median of the per-epoch ratios {label_b}/{label_a}: {paired:.3f}")
    if args.impl_b == "hipool":
        print(
            f"- goal: hipool/PyG median ratio <= 1.0: "
            f"{'met' if med_b / med_a <= 1.0 else 'not met'} ({med_b / med_a:.3f})"
        )
    else:
        print("- control run (PyG on both sides): the ratio's distance from 1.0 is measurement noise")
    print(
        f"- torch {torch.__version__}, torch_geometric {torch_geometric.__version__}, "
        f"hipool {hipool_version()}, python {sys.version.split()[0]}"
    )
    print(
        f"- device {device.type}, threads {torch.get_num_threads()}, epochs {args.epochs}, batch size "
        f"{args.batch_size}, hidden {args.hidden}, lr {args.lr}, seed {args.seed}, "
        f"{len(dataset)} graphs, use_node_attr={args.use_node_attr}"
    )
    print(f"- command: `{command}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
