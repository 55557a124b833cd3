"""A whole hierarchical model on a 200k-gate netlist: one training step per pooler (issue 24).

What it measures
    For each graph and each scalable pooler, one training step of the recipe model
    (``gin-<pooler>`` from :mod:`hipool.presets`: encoder, 2 GIN convs per level with
    BatchNorm and residuals, ``meanmax`` readouts of every level, an MLP head) with
    **3 pooling levels**: forward, cross-entropy plus the poolers' auxiliary losses,
    backward and an Adam step, exactly as ``hipool train`` takes it
    (:func:`hipool.train.loop.run_epoch` over a loader of one graph, batch size 1).

Graphs
    * ``hyp``: EPFL ``arithmetic/hyp.aig`` (214,335 AND gates), read by hipool's own
      reader (:func:`~hipool.data.netlists.aiger.read_aiger`, then
      :func:`~hipool.data.netlists.gates.to_data`: one node per gate, input and output,
      wires both ways), from ``--circuits`` (default ``../shared/datasets/circuits``).
    * ``synthetic``: one synthetic circuit of ``--components`` (default 200,000)
      components (:func:`hipool.data.circuits.make_circuit` with ``min_components`` and
      ``max_components`` around it, as the dataset spec ``circuits:min=...,max=...``
      asks), seed ``--seed``.  Its graph has a node per
      component *and* per net (about 309k nodes and 880k directed edges at 200k
      components).

Poolers and the schedule (3 levels)
    * ``edgepool``, ``graclus``: merge matched pairs, about half the nodes per level
      (their only schedule entry, 0.5).
    * ``kmis``: ``k = 1`` at every level (a maximal independent set of the graph; each
      other node joins its nearest centre).
    * ``mincut``, ``dmon``: ``mode: sparse``, ``--clusters`` per level (default
      256 → 64 → 16).  The sparse path holds a few ``nodes × clusters`` tensors (the
      assignment, its softmax, ``A·S`` and their gradients): at ~300k nodes every 256
      clusters cost ~0.3 GB per tensor, so 1024 clusters on the input graph
      (~1.2 GB each) would leave little of a 4 GB budget for the rest of the step
      (not measured); 256 keeps the first level's tensors near 0.3 GB, and dividing
      by 4 per level ends at 16 clusters for the readout.
    * ``asap``, ``asap-topk`` (only when named): ASAPooling, ratio 0.5 per level, exact or
      with ``edge_topk=16``.  ASAP's pooled graph links clusters up to three hops apart, so
      the exact one gets denser at every level; these two cells show what pruning buys.
    * ``given``: pooling along a hierarchy the graph carries.  The synthetic circuit has
      two known levels (``level_labels``: blocks, subsystems); the third is its
      **channels** (the subsystems a chain of interface nets joins, recovered from the
      graph by :func:`channel_labels`; the power subsystem is a channel of its own).
      ``hyp`` has no design hierarchy (the AIGER file is flat), so it gets the
      precomputed coarsening of :mod:`hipool.data.precoarsen`, ``graclus`` with 3 levels
      (the method ``hyp@graclus:3`` would give), computed before the timed steps
      (``prep_s``).

Time: ``s/step`` is the median over ``--repeats`` steps after one warm-up step (one
timed step when the warm-up took over ``--slow-s``); ``cpu s/step`` the median CPU time of
the worker in a step, all its threads together (``time.process_time``: on a shared machine
it moves less with the load than the wall time; with ``--threads 2`` kept busy a quiet
machine's step takes about half of it); ``load_s`` is reading and building the graph,
``prep_s`` the ``given`` hierarchy (neither is in the step).

Memory: every (graph, pooler) runs in a fresh subprocess (this script with the hidden
``--worker`` flag; the parent never imports torch).  On the CPU ``peak_GB`` is the
worker's whole resident peak (``VmHWM``) *during the training steps*: the peak is reset
(``/proc/self/clear_refs``) once the graph is built and the model made, so it holds
torch, the graph, the model and the step's working memory, but not the reader's
transient peak (reported as ``load_peak_GB``).  Where the reset is not allowed, it is
the peak since the worker started (said in the footer).  On ``--device cuda`` it is the
CUDA allocator's peak (``torch.cuda.max_memory_allocated``) from just before the graph
is moved.  GB are 10^9 bytes.

Goal (issue 24): < 10 s per step and < 4 GB for every pooler on 2 CPU cores; checked for
each cell on ``--device cpu --threads 2``; a cell that times out (``--timeout-s``), runs
out of memory or fails prints why instead.

Run (from the repository root)
    .venv/bin/python benchmarks/scale.py                          # both graphs, every pooler
    .venv/bin/python benchmarks/scale.py --graph hyp --pooler edgepool
    .venv/bin/python benchmarks/scale.py --quick                  # smoke test: graphs of a few thousand nodes
    .venv/bin/python benchmarks/scale.py --json scale.json        # also write the results
    .venv/bin/python benchmarks/scale.py --device cuda            # on the GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bench import (
    MEM_KINDS,
    add_device_option,
    device_header,
    fmt_table,
    json_lines,
    probe_device,
    rss_kb,
    run_jobs,
    write_atomic,
)

# torch is imported inside the worker only (see "Memory" in the docstring).

POOLERS = ("edgepool", "graclus", "mincut", "dmon", "given", "kmis")
#: Poolers run only when named: ASAP's pooled graph holds ~17 edges per input edge (``asap``);
#: ``asap-topk`` keeps each pooled node's ``ASAP_EDGE_TOPK`` strongest.
EXTRA_POOLERS = ("asap", "asap-topk")
ASAP_EDGE_TOPK = 16
#: The reference row: the very same convs, readouts and head with no pooling (``gin-global``).
GLOBAL = "global"
GRAPHS = ("hyp", "synthetic")
#: The goal: seconds per step and GB, on GOAL_THREADS CPU cores.
GOAL_S, GOAL_GB, GOAL_THREADS = 10.0, 4.0, 2
LEVELS = 3
#: ``--quick``: the stand-ins of a few thousand nodes.
QUICK_AIG, QUICK_COMPONENTS, QUICK_CLUSTERS = "bar.aig", 2_000, [64, 16, 4]
DEFAULT_CIRCUITS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "circuits"


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--graph", choices=GRAPHS + ("all",), default="all", help="graph(s) to run")
    p.add_argument(
        "--pooler",
        choices=POOLERS + EXTRA_POOLERS + (GLOBAL, "all"),
        nargs="+",
        default=["all"],
        help=f"pooler(s) to run; all: {', '.join(POOLERS)} and the reference {GLOBAL} (no pooling); "
        f"{' and '.join(EXTRA_POOLERS)} (edge_topk {ASAP_EDGE_TOPK}) only when named",
    )
    add_device_option(p, "where the workers run")
    p.add_argument("--threads", type=int, default=GOAL_THREADS, help="torch.set_num_threads in every worker")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per cell (after 1 warm-up step)")
    p.add_argument("--slow-s", type=float, default=60.0, help="one timed step when the warm-up takes longer")
    p.add_argument("--timeout-s", type=float, default=600.0, help="seconds before a cell's worker is killed")
    p.add_argument("--components", type=int, default=200_000, help="components of the synthetic circuit")
    p.add_argument("--clusters", type=int, nargs=LEVELS, default=[256, 64, 16], help="MinCut/DMoN clusters per level")
    p.add_argument("--hidden", type=int, default=64, help="the recipe's width")
    p.add_argument("--circuits", type=Path, default=DEFAULT_CIRCUITS, help="folder holding epfl/arithmetic/hyp.aig")
    p.add_argument("--aig", default="hyp.aig", help=argparse.SUPPRESS)  # --quick: a smaller EPFL circuit
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic circuit and the weights")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK_AIG} for hyp, {QUICK_COMPONENTS} components, clusters "
        f"{'/'.join(map(str, QUICK_CLUSTERS))}, --repeats 1",
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON to this file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.aig, args.components, args.clusters, args.repeats = QUICK_AIG, QUICK_COMPONENTS, QUICK_CLUSTERS, 1
    for name in ("threads", "repeats", "hidden", "components"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if min(args.clusters) < 1:
        p.error(f"--clusters must be >= 1, got {args.clusters}")
    for name in ("slow_s", "timeout_s"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be > 0")
    args.pooler = list(POOLERS) + [GLOBAL] if "all" in args.pooler else list(dict.fromkeys(args.pooler))
    if args.worker:
        if args.graph == "all" or len(args.pooler) != 1:
            p.error("--worker needs one --graph and one --pooler")
        args.pooler = args.pooler[0]
    return args


# ---------------------------------------------------------------------------
# worker: one (graph, pooler) in a fresh process
# ---------------------------------------------------------------------------


def channel_labels(data):
    """Each node's channel (``[N]`` int64, -1 for none) of a synthetic circuit: the subsystems
    joined by an interface net (a net node in no subsystem that is neither ground nor a power
    net) are one channel; a node takes its subsystem's channel."""
    import torch

    from hipool.data.circuits import NODE_KINDS

    sub = data.level_labels[:, 1]
    net = data.x[:, 0] > 0  # node kind one-hot: column 0 is "net"
    ground, power = data.x[:, len(NODE_KINDS) + 1] > 0, data.x[:, len(NODE_KINDS) + 2] > 0
    interface = net & (sub < 0) & ~ground & ~power
    src, dst = data.edge_index
    touch = interface[src] & (sub[dst] >= 0)
    pairs = torch.stack([src[touch], sub[dst[touch]]]).t().unique(dim=0).tolist()
    parent = list(range(int(sub.max()) + 1))

    def root(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first = {}
    for netnode, s in pairs:  # the subsystems on one interface net are one channel
        if netnode in first:
            parent[root(s)] = root(first[netnode])
        else:
            first[netnode] = s
    roots = torch.tensor([root(s) for s in range(len(parent))])
    ids = torch.unique(roots, return_inverse=True)[1]
    return torch.where(sub >= 0, ids[sub.clamp(min=0)], torch.full_like(sub, -1))


def load_graph(args):
    """``(data, extra)``: the graph of ``args.graph`` with ``y`` and, for ``given``, three columns
    of ``level_labels``; ``extra`` has ``load_s``, ``prep_s`` and what the graph is."""
    import torch

    t0 = time.perf_counter()
    if args.graph == "hyp":
        from hipool.data.netlists.aiger import read_aiger
        from hipool.data.netlists.gates import to_data

        path = args.circuits / "epfl" / "arithmetic" / args.aig
        netlist = read_aiger(path)
        data = to_data(netlist)
        del netlist
        extra = {"source": f"epfl/arithmetic/{args.aig}"}
    else:
        from hipool.data.circuits import make_circuit

        lo = max(args.components - 5, 20)
        data = make_circuit(args.seed, min_components=lo, max_components=lo + 10).data
        extra = {"source": f"make_circuit(seed={args.seed}, components {lo}-{lo + 10})"}
    data.y = torch.zeros(1, dtype=torch.long)
    extra["load_s"] = time.perf_counter() - t0
    if args.pooler == "given":
        t0 = time.perf_counter()
        if args.graph == "hyp":
            from hipool.data.precoarsen import METHODS

            data.level_labels = METHODS["graclus"](data, LEVELS)
            extra["hierarchy"] = f"precoarsened: graclus, {LEVELS} levels"
        else:
            data.level_labels = torch.cat([data.level_labels[:, :2], channel_labels(data).view(-1, 1)], dim=1)
            extra["hierarchy"] = "level_labels: blocks, subsystems; channels from the interface nets"
        extra["prep_s"] = time.perf_counter() - t0
    return data, extra


def model_config(pooler: str, clusters):
    """The recipe ``gin-<pooler>`` with 3 pooling levels (see the docstring)."""
    from dataclasses import replace

    from hipool.presets import preset

    if pooler == GLOBAL:  # the twin of the 3-level models: the same 4 conv blocks
        return model_config("edgepool", clusters).global_twin()
    if pooler == "given":
        return preset("gin-given", known_levels=LEVELS)
    if pooler == "asap-topk":
        return replace(model_config("asap", clusters), pool_options={"edge_topk": ASAP_EDGE_TOPK})
    cfg = preset(f"gin-{pooler}")
    if pooler in ("mincut", "dmon"):
        return replace(cfg, schedule=list(clusters), levels=LEVELS, pool_options={"mode": "sparse"})
    if pooler == "kmis":
        return replace(cfg, schedule=[1] * LEVELS, levels=LEVELS)
    return replace(cfg, schedule=[0.5] * LEVELS, levels=LEVELS)


def reset_peak() -> bool:
    """Reset this process's resident peak (``VmHWM``) to its current RSS; False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(args) -> dict:
    import warnings

    import torch
    from torch_geometric.data import Batch

    from hipool.nn import build_model
    from hipool.train.loop import run_epoch

    warnings.filterwarnings("ignore", message="conv 'gin' ignores edge weights")
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.set_num_threads(args.threads)
    if cuda:
        torch.cuda.init()
        torch.empty(0, device=device)
    baseline_kb = rss_kb()
    data, extra = load_graph(args)
    load_peak_kb = hwm_kb()
    batch = Batch.from_data_list([data])
    del data
    cfg = model_config(args.pooler, args.clusters)
    torch.manual_seed(args.seed)
    model = build_model(cfg, batch.num_features, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(json.dumps({"progress": "loaded", **extra}), flush=True)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    was_reset = reset_peak()
    batch, model = batch.to(device), model.to(device)

    def step():
        if cuda:
            torch.cuda.synchronize(device)
        start, cpu = time.perf_counter(), time.process_time()
        loss, _ = run_epoch(model, [batch], optimizer, device=args.device)
        if cuda:
            torch.cuda.synchronize(device)
        return time.perf_counter() - start, time.process_time() - cpu, loss

    warmup_s, _, loss = step()
    print(json.dumps({"progress": "warmup", "warmup_s": warmup_s}), flush=True)
    repeats = args.repeats if warmup_s <= args.slow_s else 1
    timed = [step() for _ in range(repeats)]
    times = [t[0] for t in timed]
    if cuda:
        peak_gb = torch.cuda.max_memory_allocated(device) / 1e9
    else:
        peak_gb = hwm_kb() * 1024 / 1e9
    with torch.no_grad():  # the node counts per level, after the timing
        _, hierarchy = model(batch, return_hierarchy=True)
    nodes = [hierarchy.num_nodes_at(level) for level in range(hierarchy.num_levels + 1)]
    return {
        "graph": args.graph,
        "pooler": args.pooler,
        "status": "ok",
        "nodes": nodes,
        "edges": int(batch.edge_index.size(1)),
        "s_step": statistics.median(times),
        "times_s": times,
        "cpu_s_step": statistics.median(t[1] for t in timed),
        "warmup_s": warmup_s,
        "repeats": repeats,
        "loss": loss,
        "peak_GB": peak_gb,
        "peak_reset": was_reset or cuda,
        "load_peak_GB": (load_peak_kb - baseline_kb) * 1024 / 1e9,
        "baseline_GB": baseline_kb * 1024 / 1e9,
        "schedule": [str(e) for e in cfg.schedule],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device.type,
        "mem_kind": "cuda_alloc" if cuda else "rss_total",
        **extra,
    }


# ---------------------------------------------------------------------------
# parent: one worker per cell, the table and the goal
# ---------------------------------------------------------------------------


def measure(args, graph: str, pooler: str) -> dict:
    """One cell in a fresh worker; never raises: a failed cell says why in ``note``."""
    row = {"graph": graph, "pooler": pooler}
    if graph == "hyp" and not (args.circuits / "epfl" / "arithmetic" / args.aig).is_file():
        return {**row, "status": "skipped", "note": f"skipped (no epfl/arithmetic/{args.aig} under --circuits)"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--graph", graph, "--pooler", pooler]
    for name in ("device", "threads", "repeats", "slow_s", "components", "hidden", "circuits", "aig", "seed"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    cmd += ["--clusters", *map(str, args.clusters)]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=args.timeout_s)
    except subprocess.TimeoutExpired as e:
        seen = json_lines(e.stdout)
        warm = [o["warmup_s"] for o in seen if o.get("progress") == "warmup"]
        where = (
            f"warm-up step {warm[0]:.1f} s"
            if warm
            else ("in the warm-up step" if any(o.get("progress") == "loaded" for o in seen) else "loading the graph")
        )
        return {**row, "status": "failed", "note": f"time-out after {args.timeout_s:g} s ({where})"}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        last = lines[-1] if lines else ""
        if proc.returncode == -9 or "MemoryError" in last or "DefaultCPUAllocator" in last:
            why = "out of memory"
        elif "OutOfMemoryError" in last:
            why = "out of GPU memory"
        else:
            why = f"error, exit code {proc.returncode}"
        return {**row, "status": "failed", "note": f"{why}: {last[:200]}" if last else why}
    return json_lines(proc.stdout)[-1]


def goal(r: dict, args) -> tuple:
    """``(met, why)``: True/False, or None when the cell is not on the goal's machine or is the
    reference (no pooling)."""
    if r["pooler"] == GLOBAL:  # never a miss, even when it failed
        if r["status"] != "ok":
            return None, f"reference, no pooling: {r['note']}"
        return None, f"reference, no pooling: {r['s_step']:.2f} s, {r['peak_GB']:.2f} GB"
    if r["status"] != "ok":
        return False, r["note"]
    if args.device != "cpu" or args.threads != GOAL_THREADS:
        return None, f"the goal is for {GOAL_THREADS} CPU threads"
    why = []
    if r["s_step"] >= GOAL_S:
        why.append(f"{r['s_step']:.1f} s per step >= {GOAL_S:g} s")
    if r["peak_GB"] >= GOAL_GB:
        why.append(f"peak {r['peak_GB']:.2f} GB >= {GOAL_GB:g} GB")
    return not why, "; ".join(why) or f"{r['s_step']:.2f} s, {r['peak_GB']:.2f} GB"


def table_rows(results: list, args) -> list:
    rows = []
    for r in results:
        verdict = {True: "yes", False: "NO", None: "-"}[goal(r, args)[0]]
        if r["status"] != "ok":
            rows.append([r["graph"], r["pooler"], r["note"], "", "", "", "", "", verdict])
            continue
        time_s = f"{r['s_step']:.2f}" + ("" if r["repeats"] > 1 else " (1 run)")
        rows.append(
            [
                r["graph"],
                r["pooler"],
                " → ".join(f"{n:,}" for n in r["nodes"]),
                time_s,
                f"{r['cpu_s_step']:.2f}",
                f"{r['warmup_s']:.2f}",
                f"{r['peak_GB']:.2f}",
                f"{r['load_s']:.1f}" + (f" + {r['prep_s']:.1f}" if "prep_s" in r else ""),
                verdict,
            ]
        )
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)), flush=True)
        return 0
    command = shlex.join([sys.executable] + sys.argv)
    info = probe_device(args.device)
    graphs = GRAPHS if args.graph == "all" else (args.graph,)
    poolers = args.pooler
    cells = [(g, p) for g in graphs for p in poolers]
    load_before = os.getloadavg()
    results, wall_s, _ = run_jobs(
        cells, lambda graph, pooler: measure(args, graph, pooler), keys=("graph", "pooler"), desc="scale", unit="cell"
    )

    if args.device == "cuda":
        print(device_header(info))
    header = ["graph", "pooler", "nodes per level", "s/step", "cpu s/step", "warm-up s", "peak GB", "load s", "goal"]
    print(fmt_table(header, table_rows(results, args)))
    print()
    ok = [r for r in results if r["status"] == "ok"]
    sources = {r["graph"]: r["source"] for r in ok}
    for graph, source in sources.items():
        edges = next(r["edges"] for r in ok if r["graph"] == graph)
        print(f"- {graph}: {source}, {edges:,} directed edges")
    for r in ok:
        if "hierarchy" in r:
            print(f"- given on {r['graph']}: {r['hierarchy']} ({r['prep_s']:.1f} s before the steps)")
    print(
        f"- model: the recipe gin-<pooler> ({LEVELS} levels, hidden {args.hidden}); schedules: edgepool/graclus "
        f"0.5 per level, kmis k=1, mincut/dmon {'/'.join(map(str, args.clusters))} clusters (mode sparse)"
    )
    print(
        "- s/step: median of forward + loss + backward + Adam step (hipool train's run_epoch, batch of one); "
        "cpu s/step: the worker's CPU seconds in it, all threads (on a quiet machine s/step is about "
        "cpu s/step / threads when the threads keep busy); load s: reading the graph (+ the given hierarchy)"
    )
    if args.device == "cuda":
        print(f"- peak GB: {MEM_KINDS['cuda_alloc']}")
    else:
        reset = all(r.get("peak_reset", True) for r in ok)
        print(
            "- peak GB: the worker's whole resident peak (VmHWM) during the steps: torch, graph, model, step"
            + ("" if reset else " (peak NOT reset after loading: includes the reader's)")
        )
    print()
    print(f"Goal (issue 24): < {GOAL_S:g} s per step and < {GOAL_GB:g} GB for every pooler on {GOAL_THREADS} CPU cores")
    verdicts = []
    for r in results:
        met, why = goal(r, args)
        verdicts.append(met)
        word = {True: "met", False: "NOT met", None: "not checked"}[met]
        print(f"- {r['graph']} {r['pooler']}: {word} ({why})")
    if verdicts and all(v is True for v in verdicts):
        print("- every cell meets the goal")
    elif any(v is False for v in verdicts):
        print(f"- {sum(v is False for v in verdicts)} of {len(verdicts)} cell(s) miss the goal")
    print()
    torch_version = ok[0]["torch"] if ok else "?"
    print(
        f"- torch {torch_version}, python {sys.version.split()[0]}, threads {args.threads}, repeats {args.repeats}, "
        f"seed {args.seed}" + (f", device cuda ({info['name']})" if args.device == "cuda" else "")
    )
    print(
        f"- load average (1/5/15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, after: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    print(f"- wall time {wall_s:.0f} s; command: `{command}`")
    if args.json is not None:
        payload = {"command": command, "load_before": load_before, "wall_s": wall_s, "results": results}
        for r, (met, why) in zip(results, (goal(r, args) for r in results)):
            r["goal_met"], r["goal_detail"] = met, why
        write_atomic(args.json, json.dumps(payload, indent=1) + "\n")
        print(f"- results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
