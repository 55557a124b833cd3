"""Do the clustering poolers train?  Test accuracy, final training loss and its auxiliary part of
DiffPool, MinCutPool and DMoN on the community graphs and the circuits, for the code on the path.

Run it once per version of hipool and give each a ``--label``; the rows go into one results
file, and the table printed at the end has every label that file holds::

    .venv/bin/python benchmarks/clustering_training.py --label after
    PYTHONPATH=/tmp/hipool-before/src .venv/bin/python benchmarks/clustering_training.py --label before

(``git worktree add /tmp/hipool-before <commit>`` makes the "before" copy.)  Every run uses the
same data, one stratified 70/15/15 split (seed 0), the same model, the same seed and the same
number of epochs: Adam, the weights of the best validation epoch tested.  The loop is written
out here, so that both versions train exactly alike and the loss splits into cross-entropy and
the weighted auxiliary losses (``model.aux_loss``).

``--device cuda`` trains on the GPU (the model and every batch moved there; the clock of
``s/epoch`` is read after ``torch.cuda.synchronize()``); the device is part of a row's key
and a column of the table, so CPU and GPU rows of one label stand side by side.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _bench import add_device_option, device_header, fmt_table, probe_device, write_atomic
from torch_geometric.loader import DataLoader

POOLERS = ("diffpool", "mincut", "dmon")
#: The model: conv blocks (``--conv``), a mean‖max readout after every level summed, an MLP head.
MODEL = {"hidden": 32, "readout": "meanmax", "combine": "sum", "head": [32], "schedule": [16, 4]}


def datasets(quick: bool) -> dict:
    n = 300 if quick else 600
    return {"communities": f"communities:n={n},seed=0", "circuits": f"circuits:n={n},min=60,max=300"}


def _pass(model, loader, optimizer=None, device="cpu"):
    """One epoch: (mean loss, mean aux part, accuracy) over the graphs of ``loader``."""
    model.train(optimizer is not None)
    loss_sum = aux_sum = correct = count = 0.0
    with torch.set_grad_enabled(optimizer is not None):
        for data in loader:
            data = data.to(device)
            logits, h = model(data, return_hierarchy=True)
            y = data.y.view(-1)
            aux = model.aux_loss(h)
            loss = F.cross_entropy(logits, y) + (aux if aux is not None else 0.0)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            n = y.numel()
            loss_sum += float(loss.detach()) * n
            aux_sum += float(aux.detach()) * n if aux is not None else 0.0
            correct += int((logits.argmax(-1) == y).sum())
            count += n
    return loss_sum / count, aux_sum / count, correct / count


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def train_one(graphs, split, num_features, num_classes, pool, conv, epochs, lr, seed, device="cpu"):
    from hipool import ModelConfig
    from hipool.nn import build_model

    train, val, test = ([graphs[i] for i in part] for part in split)
    torch.manual_seed(seed)
    model = build_model(ModelConfig(pool=pool, conv=conv, **MODEL), num_features, num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_loader = DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    val_loader, test_loader = DataLoader(val, batch_size=128), DataLoader(test, batch_size=128)
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    _sync(device)
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss, aux, _ = _pass(model, train_loader, optimizer, device)
        if not math.isfinite(loss):
            break  # a NaN in the weights: nothing after this epoch can be tested
        _, _, val_acc = _pass(model, val_loader, None, device)
        if val_acc > best[0]:
            best = (val_acc, epoch, copy.deepcopy(model.state_dict()))
    _sync(device)
    seconds = (time.perf_counter() - t0) / epoch
    model.load_state_dict(best[2])
    _, _, test_acc = _pass(model, test_loader, None, device)
    ys = torch.tensor([int(g.y) for g in test])
    return {
        "test_acc": test_acc,
        "majority": float(torch.bincount(ys).max()) / len(ys),
        "best_epoch": best[1],
        "epochs_run": epoch,
        "train_loss": loss,
        "train_aux": aux,
        "s_per_epoch": seconds,
    }


def _key(r: dict) -> tuple:
    """What makes two results the same cell of the table."""
    return r["label"], r["dataset"], r["pooler"], r.get("conv", "gcn"), r["graphs"], r["epochs"], r.get("device", "cpu")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default="after", help="name of this version of the code in the table")
    p.add_argument("--quick", action="store_true", help="300 graphs per dataset, 15 epochs")
    p.add_argument("--epochs", type=int, default=None, help="default 30 (15 with --quick)")
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument(
        "--conv",
        default="gcn",
        help="gcn normalises the pooled weights itself; graphconv sums them as they come (the demo's circuits model)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--poolers", default=",".join(POOLERS))
    p.add_argument("--datasets", default="communities,circuits")
    p.add_argument("--threads", type=int, default=1)
    add_device_option(p, "where to train (default cpu)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/clustering_training.json"),
        help="results file; rows of other labels in it stay and are tabled too",
    )
    args = p.parse_args(argv)
    info = probe_device(args.device)  # exits with one line when CUDA is asked for and missing
    if args.device == "cuda":
        print(device_header(info), file=sys.stderr)
    epochs = args.epochs or (15 if args.quick else 30)
    torch.set_num_threads(args.threads)

    import hipool
    from hipool.data.registry import load_dataset
    from hipool.data.splits import stratified_split

    print(f"{args.label}: hipool from {Path(hipool.__file__).parent}", file=sys.stderr)
    specs = datasets(args.quick)
    results = json.loads(args.out.read_text()) if args.out.is_file() else []
    for name in args.datasets.split(","):
        ds = load_dataset(specs[name])
        graphs = list(ds)
        split = stratified_split([int(g.y) for g in graphs], [0.7, 0.15, 0.15], seed=0)
        for pool in args.poolers.split(","):
            r = train_one(
                graphs, split, ds.num_features, ds.num_classes, pool, args.conv, epochs, args.lr, args.seed, args.device
            )
            r.update(
                label=args.label,
                dataset=name,
                graphs=len(graphs),
                pooler=pool,
                conv=args.conv,
                epochs=epochs,
                lr=args.lr,
                device=args.device,
            )
            print(
                f"{args.label} {name} {pool} {args.conv} on {args.device}: "
                f"test {r['test_acc']:.3f} (majority {r['majority']:.3f}), "
                f"loss {r['train_loss']:.3g} of which aux {r['train_aux']:.3g}, "
                f"{r['s_per_epoch']:.2f} s/epoch",
                file=sys.stderr,
                flush=True,
            )
            results = [o for o in results if _key(o) != _key(r)] + [r]
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(args.out, json.dumps(results, indent=1))
    rows = [
        (
            r["dataset"],
            r["pooler"],
            r["label"],
            r.get("conv", "gcn"),
            r.get("device", "cpu"),
            r["graphs"],
            r["epochs"],
            f"{r['test_acc']:.3f}",
            f"{r['majority']:.3f}",
            f"{r['best_epoch']}/{r['epochs_run']}",
            f"{r['train_loss']:.3g}",
            f"{r['train_aux']:.3g}",
            f"{r['s_per_epoch']:.2f}",
        )
        for r in sorted(
            results,
            key=lambda r: (
                r.get("conv", "gcn"),
                r["dataset"],
                r["pooler"],
                r["graphs"],
                r.get("device", "cpu"),
                r["label"],
            ),
        )
    ]
    print(
        fmt_table(
            (
                "dataset",
                "pooler",
                "code",
                "conv",
                "device",
                "graphs",
                "epochs",
                "test acc",
                "majority",
                "best/run",
                "train loss",
                "aux part",
                "s/epoch",
            ),
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
