"""How well trained poolers recover a known hierarchy, and which level decides (hipool explain's figures).

On the data of the demo before issue 16 (1500 circuits of 60-300 components; 600
community graphs) this trains that demo's hierarchical model (:data:`BASE`) with each
pooler (TopK, SAGPool, DiffPool, EdgePool; everything else as in that demo: same convs,
readouts summed, split, seed, epochs) with ``hipool train``, then measures on the test graphs:

* level-1 clusters vs the true blocks (circuits) / communities: NMI, ARI, the
  shuffled NMI (chance level for the same cluster sizes), with dropped nodes left
  out and, for selection poolers, also given their nearest kept node's cluster;
* share of nodes represented, cluster balance and connectedness at level 1;
* for circuits: true defect level × the level whose readout contributed most.

Runs go to ``--out`` (default ``runs/recovery``) and resume when repeated;
the tables are printed and written to ``OUT/recovery.json`` and ``OUT/recovery.md``.
``--device cuda`` trains on the GPU (``hipool train --device cuda``); the metrics are then
measured as ``hipool explain`` measures them, on the CPU, from the saved checkpoint.

    .venv/bin/python benchmarks/hierarchy_recovery.py                   # both datasets, 4 poolers
    .venv/bin/python benchmarks/hierarchy_recovery.py --datasets circuits --epochs 20
    .venv/bin/python benchmarks/hierarchy_recovery.py --device cuda
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import yaml
from _bench import add_device_option, probe_device

from hipool.config import ModelConfig
from hipool.demo import DemoSettings, demo_dataset
from hipool.explain.command import dataset_metrics
from hipool.explain.decide import decision_tables
from hipool.explain.run import open_run
from hipool.io import atomic_write_text, json_text
from hipool.train.command import TrainRequest, run_train

POOLERS = ("topk", "sag", "diffpool", "edgepool")
#: The models, data and training the README's recovery figures were measured with: the demo of
#: that time (before the recipe of issue 16), kept here so that the figures reproduce.
BASE = {
    "circuits": ModelConfig(
        conv="graphconv",
        hidden=64,
        pool="edgepool",
        schedule=[0.5, 0.5, 0.5],
        readout="meanmax",
        combine="sum",
        head=[64],
    ),
    "communities": ModelConfig(
        conv="gcn", hidden=32, pool="topk", schedule=[0.5, 0.5, 0.5], readout="meanmax", combine="sum", head=[32]
    ),
}
GRAPHS = {"circuits": 1500, "communities": 600}
TRAIN = {"patience": 20, "lr": 0.005, "batch_size": 32}
#: DiffPool's cluster counts: the median number of true level-1 and level-2 groups, then 2.
DIFFPOOL = {"circuits": [24, 4, 2], "communities": [14, 3, 2]}


def config(dataset: str, pooler: str) -> ModelConfig:
    base = BASE[dataset].to_dict()
    base["pool"] = pooler
    base["schedule"] = DIFFPOOL[dataset] if pooler == "diffpool" else [0.5, 0.5, 0.5]
    return ModelConfig.from_dict(base)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="circuits,communities")
    p.add_argument("--poolers", default=",".join(POOLERS))
    p.add_argument("--out", type=Path, default=Path("runs/recovery"))
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--threads", type=int, default=None)
    add_device_option(p, "where to train (default cpu)")
    args = p.parse_args(argv)
    probe_device(args.device)  # exits with one line when CUDA is asked for and missing
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, decided = [], {}
    for ds_name in args.datasets.split(","):
        s = DemoSettings(dataset=ds_name, num_graphs=GRAPHS[ds_name])
        spec = demo_dataset(s).name  # the demo's data, as a spec train can load
        for pooler in args.poolers.split(","):
            out = args.out / ds_name / pooler
            cfg_path = args.out / ds_name / f"{pooler}.yaml"
            atomic_write_text(
                cfg_path,
                yaml.safe_dump(
                    {"model": config(ds_name, pooler).to_dict(), "train": {"epochs": args.epochs, **TRAIN}},
                    sort_keys=False,
                ),
            )
            result = run_train(
                TrainRequest(
                    dataset=spec,
                    out=out,
                    config=cfg_path,
                    seed=s.seed,
                    val=0.15,
                    test=0.15,
                    device=args.device,
                    progress=True,
                ),
                log=lambda m: print(m, file=sys.stderr),
            )
            run = open_run(out)
            m = {mode: dataset_metrics(run, run.test, dropped=mode, progress=True) for mode in ("ignore", "nearest")}
            first = m["ignore"]["levels"][0]
            truth = next(iter(first["recovery"]))
            near = m["nearest"]["levels"][0]["recovery"][truth]
            rec = first["recovery"][truth]
            rows.append(
                {
                    "dataset": ds_name,
                    "pooler": pooler,
                    "truth": truth,
                    "test_acc": result["test_acc"],
                    "level1_nodes": first["nodes"],
                    "represented": first["represented"],
                    "nmi": rec["nmi"],
                    "nmi_std": rec["nmi_std"],
                    "ari": rec["ari"],
                    "nmi_shuffled": rec["nmi_shuffled"],
                    "nmi_nearest": near["nmi"],
                    "ari_nearest": near["ari"],
                    "balance": first["balance"],
                    "connected": first["connected"],
                }
            )
            if ds_name == "circuits" and isinstance(m["ignore"]["decided"], dict):
                decided[pooler] = m["ignore"]["decided"]
    head = (
        "| data | pooler | test acc | level-1 nodes | represented | NMI | NMI shuffled | ARI | "
        "NMI nearest | ARI nearest | balance | connected |\n" + "|---" * 12 + "|\n"
    )
    body = "".join(
        f"| {r['dataset']} ({r['truth']}) | {r['pooler']} | {r['test_acc']:.3f} | {r['level1_nodes']:.1f} | "
        f"{r['represented']:.2f} | {r['nmi']:.3f} ± {r['nmi_std']:.3f} | {r['nmi_shuffled']:.3f} | {r['ari']:.3f} | "
        f"{r['nmi_nearest']:.3f} | {r['ari_nearest']:.3f} | {r['balance']:.3f} | {r['connected']:.2f} |\n"
        for r in rows
    )
    text = "# Level-1 clusters vs the true level-1 groups (test graphs, mean over graphs)\n\n" + head + body
    for pooler, d in decided.items():
        text += f"\n## Which level decided: circuits, {pooler}\n\n" + decision_tables(d, "true defect level")
    atomic_write_text(args.out / "recovery.md", text)
    atomic_write_text(
        args.out / "recovery.json",
        json_text(
            {
                "rows": rows,
                "decided": {
                    k: {"levels": v["levels"], "summary": v["summary"], "table": v.get("table")}
                    for k, v in decided.items()
                },
            }
        ),
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
