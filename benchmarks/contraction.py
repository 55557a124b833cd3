"""Contraction poolers on one large graph: hipool EdgePool / ASAPooling / Graclus vs PyG.

What it measures
    For each pooler, each graph size N and each implementation, the wall time of
    one forward + backward pass and the peak memory of the process:

    * ``edgepool``: ``hipool.nn.contraction.EdgePool(F)`` (``hipool``) against
      ``torch_geometric.nn.EdgePooling(F)`` (``pyg``), whose greedy matching is a
      Python loop over every edge.  ``rounds`` is the number of parallel matching
      rounds hipool took (``out.rounds``).
    * ``asap``: ``hipool.nn.asap.ASAPooling(F, 0.5)`` against
      ``torch_geometric.nn.ASAPooling(F, 0.5)``.
    * ``asap-topk``: hipool's with ``edge_topk=--edge-topk`` (16), each pooled node's
      strongest out-edges only, against PyG's exact ``ASAPooling(F, 0.5)`` (PyG has no
      pruning): the same pooled nodes and features, far fewer pooled edges.
    * ``graclus``: ``hipool.nn.contraction.Graclus()`` (``reduce="max"``) alone:
      PyG's ``graclus`` needs ``torch_cluster``, and the script says whether it
      is installed; it never measures PyG's graclus.

    Both implementations of a pooler get the same weights: PyG's module is built
    first (seeded) and its ``state_dict`` loaded into hipool's.  For ASAP, PyG's
    ``select.weight`` (a ``[1, 1]`` parameter no loss reaches, whose sign decides
    whether PyG keeps the most or the least fit clusters) is set to its absolute
    value first, so both keep the same clusters; it does not change PyG's work.

    The backward pass is ``out.x.sum().backward()`` for hipool and
    ``out[0].sum().backward()`` for PyG, with ``x.requires_grad=True`` (for
    Graclus with ``reduce="max"`` the gradient goes to ``x`` only: it has no
    parameters).

    Graph: one random undirected graph per N, ``N * degree / 2`` node pairs drawn
    uniformly (``torch.randint``), self-loops removed, both directions stored,
    duplicates merged (so ``E ≈ degree * N`` directed edges), Gaussian features,
    ``batch = 0`` for every node.  The same seed gives every implementation the
    same graph and weights.

    Time: median over ``--repeats`` runs after one warm-up run.  When the warm-up
    takes longer than ``--slow-s`` seconds, one timed run is made instead of
    ``--repeats``.

    Peak memory: every (pooler, N, implementation) runs in a fresh subprocess
    (this script with the hidden ``--worker`` flag, printing JSON lines).
    ``peak_MB`` is the worker's ``getrusage(RUSAGE_SELF).ru_maxrss`` at the end
    minus its resident set size (``VmRSS``) just before the graph tensors are
    built, so the cost of importing torch, PyG and hipool is left out; the graph
    itself (``x``, ``edge_index``: the same for every implementation) is
    counted.  The parent process never imports torch (not even through
    ``hipool.io``): on Linux a child's ``ru_maxrss`` starts at its parent's peak
    resident size, so a heavy parent would inflate every reading.  MB are 10^6
    bytes.

    Device: ``--device cuda`` runs every worker on the GPU: the graph is built on the CPU
    as above (the same graph), then ``x``, ``edge_index``, ``batch`` and the modules are moved
    to the GPU; the clock is read after ``torch.cuda.synchronize()``, and ``peak_MB`` is
    ``torch.cuda.max_memory_allocated()`` after ``torch.cuda.reset_peak_memory_stats()`` taken
    just before the graph is moved (the CUDA allocator's peak; the CUDA context and the
    allocator's cached blocks are left out, and ``reserved_peak_MB`` and the host
    ``rss_peak_MB`` go to the CSV).  ``mem_kind`` says which (``rss`` or ``cuda_alloc``); the
    header names the GPU.  PyG's EdgePooling still matches on the CPU in a Python loop.

    Time limits: a PyG worker is killed after ``--pyg-timeout`` seconds (default
    300; PyG's EdgePooling loops in Python over every edge, ~800k at N = 100k)
    and shows as ``skipped (timeout)``; when its warm-up pass had finished by
    then, its duration is printed under the table.  A hipool worker gets
    ``--timeout``.  A worker that dies shows as ``failed (exit code …)``.

    After the table come the ratios of hipool to PyG measured in the same run
    (``speedup = pyg_time / time``, ``mem_ratio = peak / pyg_peak``) and the
    goals, checked against the measured numbers: at N = 10k, EdgePool is ≥ 20×
    faster than PyG's EdgePooling, and ASAPooling ≥ 5× faster than PyG's.  As a
    sanity check the script compares the output node counts and ``sum(out.x)``
    of hipool and PyG.

Run (from the repository root)
    .venv/bin/python benchmarks/contraction.py                   # all poolers, N = 1k, 10k, 100k
    .venv/bin/python benchmarks/contraction.py --pooler edgepool # one pooler
    .venv/bin/python benchmarks/contraction.py --quick           # smoke test: N = 1k, 10k, one run
    .venv/bin/python benchmarks/contraction.py --out results.csv # also write a CSV
    .venv/bin/python benchmarks/contraction.py --device cuda     # on the GPU
    .venv/bin/python benchmarks/contraction.py --help            # all options
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from _bench import (
    MEM_KINDS,
    add_ratios,
    cell_parser,
    check_cell_args,
    device_header,
    fmt_table,
    json_lines,
    probe_device,
    run_jobs,
    table_cells,
    time_cell,
    write_atomic,
)

# torch is imported inside the worker only (see "Peak memory" in the docstring).

POOLERS = ("edgepool", "asap", "asap-topk", "graclus")
IMPLS = ("hipool", "pyg")
#: implementations measured per pooler (PyG's graclus needs torch_cluster: not measured).
POOLER_IMPLS = {"edgepool": IMPLS, "asap": IMPLS, "asap-topk": IMPLS, "graclus": ("hipool",)}
#: hipool ASAPooling's edge_topk in asap-topk (``--edge-topk``).
EDGE_TOPK = 16
#: the issue's goals: hipool's speedup over PyG at N = GOAL_N.
GOAL_N = 10_000
GOAL_SPEEDUP = {"edgepool": 20.0, "asap": 5.0, "asap-topk": 5.0}
GOAL_NAMES = {
    "edgepool": "EdgePool vs PyG EdgePooling",
    "asap": "ASAPooling vs PyG ASAPooling",
    "asap-topk": "ASAPooling with edge_topk vs PyG ASAPooling (exact)",
}
CSV_FIELDS = (
    "pooler",
    "n",
    "impl",
    "status",
    "note",
    "edges",
    "time_ms",
    "times_ms",
    "warmup_ms",
    "repeats",
    "peak_MB",
    "abs_peak_MB",
    "baseline_MB",
    "speedup",
    "mem_ratio",
    "rounds",
    "out_nodes",
    "out_edges",
    "out_sum",
    "threads",
    "torch",
    "torch_geometric",
    "device",
    "mem_kind",
    "gpu",
    "rss_peak_MB",
    "reserved_peak_MB",
)


def parse_args(argv=None):
    p = cell_parser(__doc__, POOLERS, IMPLS, "all", threads=2)
    p.add_argument("--ratio", type=float, default=0.5, help="ASAPooling's ratio")
    p.add_argument("--edge-topk", type=int, default=EDGE_TOPK, help="hipool ASAPooling's edge_topk in asap-topk")
    p.add_argument(
        "--pyg-timeout",
        type=float,
        default=300.0,
        help="seconds before a PyG worker is killed (shown as 'skipped (timeout)')",
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before a hipool worker is killed")
    p.add_argument("--quick", action="store_true", help="smoke test: sizes 1000 and 10000, --repeats 1")
    p.add_argument("--out", type=Path, help="also write the results as CSV to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = [1_000, 10_000], 1
    check_cell_args(p, args)
    if min(args.sizes) < 2:
        p.error(f"every size must be >= 2, got {min(args.sizes)}")
    if not 0 < args.ratio <= 1:
        p.error(f"--ratio must be in (0, 1], got {args.ratio}")
    if args.edge_topk < 1:
        p.error(f"--edge-topk must be >= 1, got {args.edge_topk}")
    for name in ("pyg_timeout", "timeout"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be > 0")
    if args.worker and args.impl not in POOLER_IMPLS[args.pooler]:
        p.error(f"--pooler {args.pooler} has no --impl {args.impl}")
    return args


# ---------------------------------------------------------------------------
# worker: one (pooler, N, implementation) in a fresh process
# ---------------------------------------------------------------------------


def make_step(pooler: str, impl: str, features: int, ratio: float, edge_topk: int = EDGE_TOPK):
    """``(step, modules)``: ``step(x, edge_index, batch)`` returns the pooled features,
    ``rounds`` (hipool's EdgePool; ``None`` otherwise) and the pooled edges' count."""
    import torch
    import torch_geometric.nn as pyg_nn

    from hipool.nn.asap import ASAPooling
    from hipool.nn.contraction import EdgePool, Graclus

    if pooler == "graclus":
        pool = Graclus(reduce="max")

        def step(x, edge_index, batch):
            out = pool(x, edge_index, batch=batch)
            return out.x, None, out.edge_index.size(1)

        return step, [pool]

    # PyG's module first, then its weights into ours: the same weights in both workers.
    if pooler == "edgepool":
        peer, ours = pyg_nn.EdgePooling(features), EdgePool(features)
    else:
        topk = edge_topk if pooler == "asap-topk" else None
        peer, ours = pyg_nn.ASAPooling(features, ratio), ASAPooling(features, ratio, edge_topk=topk)
        with torch.no_grad():  # keep the most fit clusters in PyG too (see the docstring)
            peer.select.weight.abs_()
    ours.load_state_dict(peer.state_dict(), strict=True)

    if impl == "pyg":
        if pooler == "edgepool":

            def step(x, edge_index, batch):
                out = peer(x, edge_index, batch)
                return out[0], None, out[1].size(1)
        else:

            def step(x, edge_index, batch):
                out = peer(x, edge_index, batch=batch)
                return out[0], None, out[1].size(1)

        return step, [peer]

    if pooler == "edgepool":

        def step(x, edge_index, batch):
            out = ours(x, edge_index, batch)
            return out.x, out.rounds, out.edge_index.size(1)
    else:

        def step(x, edge_index, batch):
            out = ours(x, edge_index, batch=batch)
            return out.x, None, out.edge_index.size(1)

    return step, [ours]


def worker(args) -> dict:
    return time_cell(
        args,
        lambda: make_step(args.pooler, args.impl, args.features, args.ratio, args.edge_topk),
        backward_of=lambda out: out[0].sum(),
        describe=lambda out: {
            "rounds": out[1],
            "out_nodes": out[0].size(0),
            "out_edges": out[2],
            "out_sum": float(out[0].detach().double().sum()),
        },
    )


# ---------------------------------------------------------------------------
# parent: schedule workers, print the table and the goals
# ---------------------------------------------------------------------------
def measure(args, pooler: str, n: int, impl: str) -> dict:
    """Run one measurement in a fresh worker process; never raises."""
    row = {"pooler": pooler, "n": n, "impl": impl}
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--impl",
        impl,
        "--pooler",
        pooler,
        "--sizes",
        str(n),
        "--degree",
        str(args.degree),
        "--features",
        str(args.features),
        "--ratio",
        str(args.ratio),
        "--edge-topk",
        str(args.edge_topk),
        "--repeats",
        str(args.repeats),
        "--slow-s",
        str(args.slow_s),
        "--threads",
        str(args.threads),
        "--seed",
        str(args.seed),
        "--device",
        args.device,
    ]
    timeout = args.pyg_timeout if impl == "pyg" else args.timeout
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        warmup = [o["warmup_ms"] for o in json_lines(e.stdout) if o.get("progress") == "warmup"]
        status = "skipped" if impl == "pyg" else "failed"
        out = {
            **row,
            "status": status,
            "timeout_s": timeout,
            "note": "skipped (timeout)" if impl == "pyg" else f"failed (timed out after {timeout:g} s)",
        }
        if warmup:
            out["warmup_ms"] = warmup[0]
        return out
    if proc.returncode != 0:
        killed = " killed, out of memory?" if proc.returncode == -9 else ""
        stderr = proc.stderr.strip().splitlines()
        return {
            **row,
            "status": "failed",
            "note": f"failed (exit code {proc.returncode}{killed})",
            "stderr": stderr[-1] if stderr else "",
        }
    return json_lines(proc.stdout)[-1]


def sanity(results: list) -> tuple:
    """``(count_mismatches, largest relative |sum(out.x)| difference)`` of hipool vs PyG: the
    pooled node counts, and the pooled edge counts where both are exact (not ``asap-topk``)."""
    at = {(r["pooler"], r["n"], r["impl"]): r for r in results if r["status"] == "ok"}
    mismatches, spread = [], 0.0
    for (pooler, n, impl), ours in at.items():
        ref = at.get((pooler, n, "pyg"))
        if impl == "pyg" or ref is None:
            continue
        if ours["out_nodes"] != ref["out_nodes"]:
            mismatches.append(f"{pooler} N={n}: hipool {ours['out_nodes']} vs PyG {ref['out_nodes']} nodes")
        exact = pooler != "asap-topk" and "out_edges" in ours and "out_edges" in ref
        if exact and ours["out_edges"] != ref["out_edges"]:
            mismatches.append(f"{pooler} N={n}: hipool {ours['out_edges']} vs PyG {ref['out_edges']} edges")
        scale = max(abs(ref["out_sum"]), 1.0)
        spread = max(spread, abs(ours["out_sum"] - ref["out_sum"]) / scale)
    return mismatches, spread


def check_goals(results: list, poolers) -> list:
    """The issue's goals: ``{"goal", "pooler", "met": True/False/None, "detail"}``."""
    at = {(r["pooler"], r["n"], r["impl"]): r for r in results}
    goals = []
    for pooler in poolers:
        if pooler not in GOAL_SPEEDUP:
            continue
        text = f"at N={GOAL_N // 1000}k, {GOAL_NAMES[pooler]} >= {GOAL_SPEEDUP[pooler]:g}x faster"
        ours, ref = at.get((pooler, GOAL_N, "hipool")), at.get((pooler, GOAL_N, "pyg"))
        if ours is None:
            met, detail = None, f"not measured (N={GOAL_N} not in --sizes)"
        elif "speedup" not in ours:
            why = [f"{r['impl']} {r['note']}" for r in (ours, ref) if r is not None and r["status"] != "ok"]
            met, detail = None, "not measured (" + ("; ".join(why) or "no PyG time") + ")"
        else:
            met = ours["speedup"] >= GOAL_SPEEDUP[pooler]
            detail = f"speedup {ours['speedup']:.1f}x: hipool {ours['time_ms']:.1f} ms, PyG {ref['time_ms']:.1f} ms"
        goals.append({"goal": text, "pooler": pooler, "met": met, "detail": detail})
    return goals


def table_rows(results: list) -> list:
    rows = []
    for r in results:
        extra = (
            ["", "", ""]
            if r["status"] != "ok"
            else ["" if r.get("rounds") is None else r["rounds"], r["out_nodes"], r.get("out_edges", "")]
        )
        rows.append(table_cells(r) + extra)
    return rows


def write_csv(path: Path, results: list) -> None:
    """Write one CSV row per measurement to ``path`` atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()})
    write_atomic(path, buf.getvalue())


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)), flush=True)
        return 0

    command = shlex.join([sys.executable] + sys.argv)
    info = probe_device(args.device)  # exits with a message when CUDA is asked for and missing
    poolers = POOLERS if args.pooler == "all" else (args.pooler,)
    jobs = [(p, n, impl) for p in poolers for n in args.sizes for impl in POOLER_IMPLS[p]]
    results, wall_s, load_before = run_jobs(jobs, lambda p, n, impl: measure(args, p, n, impl))
    add_ratios(results, "pyg")
    goals = check_goals(results, poolers)

    if args.device == "cuda":
        print(device_header(info))
    print(
        fmt_table(
            ["pooler", "N", "impl", "time_ms", "peak_MB", "speedup", "mem_ratio", "rounds", "out_nodes", "out_edges"],
            table_rows(results),
        )
    )
    print()
    print("speedup = PyG time / hipool time, mem_ratio = hipool peak / PyG peak (same pooler and N);")
    if args.device == "cuda":
        print(f"time_ms: median forward+backward (synchronised); peak_MB: {MEM_KINDS['cuda_alloc']};")
    else:
        print("time_ms: median forward+backward; peak_MB: ru_maxrss minus the RSS before the graph was built;")
    print("rounds: parallel matching rounds of hipool's EdgePool; out_nodes / out_edges: pooled node and edge counts")
    for r in results:
        if r["status"] == "skipped" and "timeout_s" in r:
            done = (
                f"its warm-up pass took {r['warmup_ms'] / 1e3:.1f} s"
                if "warmup_ms" in r
                else "its warm-up pass had not finished"
            )
            print(f"- {r['pooler']} N={r['n']} {r['impl']}: killed after {r['timeout_s']:g} s (--pyg-timeout); {done}")
    print()
    print("Goals (from the issue):")
    for g in goals:
        verdict = {True: "met", False: "NOT met", None: "not checked"}[g["met"]]
        print(f"- {g['goal']}: {verdict} ({g['detail']})")
    print()
    if "graclus" in poolers:
        have = importlib.util.find_spec("torch_cluster") is not None
        print(
            f"- graclus: hipool only; PyG's graclus needs torch_cluster, which is "
            f"{'installed (not measured by this script)' if have else 'not installed here'}"
        )
    mismatches, spread = sanity(results)
    print(
        f"- sanity: pooled node counts (and edge counts, but for asap-topk) hipool vs PyG: "
        f"{'all equal' if not mismatches else 'DIFFER: ' + '; '.join(mismatches)}; "
        f"largest relative difference of sum(out.x): {spread:.2e}"
    )
    ok = next((r for r in results if r["status"] == "ok"), {})
    for r in results:
        if r["status"] == "failed" and r.get("stderr"):
            print(f"- {r['pooler']} N={r['n']} {r['impl']}: {r['stderr']}")
    print(
        f"- torch {ok.get('torch', '?')}, torch_geometric {ok.get('torch_geometric', '?')}, "
        f"python {sys.version.split()[0]}, threads {args.threads}, F={args.features}, "
        f"ASAP ratio {args.ratio:g}, degree {args.degree}, repeats {args.repeats}, seed {args.seed}"
        + (f", device cuda ({info['name']})" if args.device == "cuda" else "")
    )
    print(
        f"- load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores (other processes competing for the cores inflate the times)"
    )
    print(f"- wall time {wall_s:.1f} s; command: `{command}`")

    if args.out is not None:
        write_csv(args.out, results)
        print(f"- results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
