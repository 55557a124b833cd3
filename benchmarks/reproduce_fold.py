"""Re-run one final training run of a `hipool compare` campaign from its record, and print the
recorded and the reproduced test accuracy (issue 20's checker).

    .venv/bin/python benchmarks/reproduce_fold.py RUN MODEL FOLD [--repeat R]
    .venv/bin/python benchmarks/reproduce_fold.py runs/analoggenie gine-given 3

RUN is the campaign's run folder, or a dataset name: then ``runs/<name>``, or else the folder
``results/campaign.sh`` commits, ``results/tu-<name>/run``.  The unit record
``units/<MODEL>/fold<FOLD>/final-c<k>-r<R>.json`` holds the seed, the model config and the
training settings of the selected config ``k``; the fold's train, holdout and test indices
come from the run's ``folds.json``, and the dataset from ``run.json`` (loaded again as the
run loaded it).  The run is repeated with the record's thread count, in a temporary folder
(the campaign is not touched), and the two test accuracies are printed with their
difference.  With the same thread count and the same torch build they agree exactly: the
exit status is 0 when they do, 1 when they differ, 2 when the run cannot be reproduced (a
missing record, dataset or fold, or a CUDA device this machine lacks).

The run is repeated on the record's device unless ``--device cpu`` or ``--device cuda`` says
otherwise (a record made on a GPU then reproduces on the CPU, or the reverse: the accuracies
then agree only approximately, the kernels differ).  A CUDA device on a machine without one
is refused at once with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fail(message: str) -> int:
    print(f"reproduce_fold: {message}", file=sys.stderr)
    return 2


def _no_device(device: str) -> bool:
    """True (after printing ``_bench.probe_device``'s one line) when ``device`` is CUDA and this
    machine has none: the run cannot be reproduced here (exit 2, not the 1 of a difference)."""
    from _bench import probe_device

    try:
        probe_device("cuda" if device.startswith("cuda") else device)
    except SystemExit as stop:
        print(stop.code, file=sys.stderr)
        return True
    return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "run", help="the campaign's run folder, or a dataset name (then runs/<name> or results/tu-<name>/run)"
    )
    p.add_argument("model", help="the model's name in the campaign (e.g. gine-given)")
    p.add_argument("fold", type=int, help="the outer fold")
    p.add_argument("--repeat", type=int, default=0, help="which final run of the fold (default 0)")
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _bench import add_device_option

    add_device_option(p, "where to re-run it (default: the record's device)", default=None)
    args = p.parse_args(argv)
    if args.device is not None and _no_device(args.device):
        return 2
    import torch

    from hipool.compare.unit import run_unit
    from hipool.data.registry import load_dataset

    tried = [Path(args.run), Path("runs") / args.run, ROOT / "results" / f"tu-{args.run}" / "run"]
    folder = next((f for f in tried if (f / "run.json").is_file()), None)
    if folder is None:
        return _fail(f"{args.run}: no run folder with a run.json (nor runs/{args.run}, results/tu-{args.run}/run)")
    manifest = json.loads((folder / "run.json").read_text())
    unit_dir = folder / "units" / args.model / f"fold{args.fold:02d}"
    records = sorted(unit_dir.glob(f"final-c*-r{args.repeat}.json"))
    if not records:
        return _fail(f"{unit_dir}: no final run r{args.repeat} (is the fold finished?)")
    record = json.loads(records[0].read_text())
    device = args.device or record["device"]
    if args.device is None and _no_device(device):  # the record's GPU: this machine must have one
        return 2
    splits = json.loads((folder / "folds.json").read_text())["splits"]
    if not 0 <= args.fold < len(splits):
        return _fail(f"{folder}: fold {args.fold} is not one of its {len(splits)} folds")
    fold = splits[args.fold]
    data = manifest.get("data") or {}
    spec = data.get("spec") or manifest["identity"]["dataset"]
    dataset = load_dataset(spec, data.get("data_root"))
    torch.set_num_threads(int(record["threads"]))
    with tempfile.TemporaryDirectory() as tmp:
        job = {
            **{k: record[k] for k in ("model", "fold", "phase", "config_index", "repeat", "seed")},
            "path": str(records[0].relative_to(folder)),
            "out": tmp,
            "overrides": record["overrides"],
            "config": record["config"],
            "train": record["train"],
            "train_idx": fold["train"],
            "holdout_idx": fold["holdout"],
            "test_idx": fold["test"],
            "device": device,
        }
        again = run_unit(job, dataset)
    was, now = record["result"]["test_acc"], again["result"]["test_acc"]
    print(f"{folder} {args.model} fold {args.fold} r{args.repeat} ({records[0].name}, {record['threads']} thread(s))")
    if device.split(":")[0] != record["device"].split(":")[0]:
        print(f"recorded on {record['device']}, reproduced on {device}: expect small differences")
    print(f"recorded test accuracy   {was:.6f}")
    print(f"reproduced test accuracy {now:.6f}")
    print(f"difference               {now - was:+.6f} ({'the same' if now == was else 'DIFFERENT'})")
    keys = ("best_epoch", "epochs_run", "val_loss")
    before, after = [record["result"][k] for k in keys], [again["result"][k] for k in keys]
    print(f"best epoch, epochs run, holdout loss: recorded {before}, reproduced {after}")
    same_run = before == after
    return 0 if now == was and same_run else 1


if __name__ == "__main__":
    sys.exit(main())
