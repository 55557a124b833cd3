"""Clustering poolers on one large graph: hipool sparse vs hipool dense vs PyG dense.

What it measures
    For each pooler (DiffPool, MinCutPool, DMoN), each graph size N and each
    implementation, the wall time of one forward + backward pass and the peak
    memory of the process.  The implementations are

    * ``hipool-sparse``: ``hipool.nn.clustering.<Pooler>(F, C, assign="linear",
      mode="sparse")``, which never builds an ``N × N`` tensor;
    * ``hipool-dense``: the same module with ``mode="dense"`` (padded ``[B, N, N]``
      adjacency);
    * ``pyg-dense``: what a PyG user writes: ``to_dense_batch`` and
      ``to_dense_adj``, a ``torch.nn.Linear(F, C)`` for the assignment logits,
      then ``torch_geometric.nn.dense_diff_pool`` / ``dense_mincut_pool``, or
      ``torch_geometric.nn.DMoNPooling(F, C)`` (whose ``mlp`` is that linear map).

    All three start from the same sparse batch ``(x, edge_index, batch)`` and the
    same assignment weights (PyG's linear map is a copy of hipool's
    ``pool.assign.net``), and the timed step includes everything from that batch
    to the end of the backward pass (the dense conversions too).  The loss is
    ``pooled_x.sum() + sum(auxiliary losses)``, with ``x.requires_grad=True`` so
    the backward pass goes through the pooling.

    Graph: one random undirected graph per N, ``N * degree / 2`` node pairs drawn
    uniformly (``torch.randint``), self-loops removed, both directions stored,
    duplicates merged (so ``E ≈ degree * N`` directed edges), Gaussian features,
    ``batch = 0`` for every node.  The same seed gives every implementation the
    same graph and weights.

    Time: median over ``--repeats`` runs after one warm-up run.  When the warm-up
    takes longer than ``--slow-s`` seconds (in practice only at N = 100k), one
    timed run is made instead of ``--repeats``.

    Peak memory: every (pooler, N, implementation) runs in a fresh subprocess
    (this script with the hidden ``--worker`` flag, printing one JSON line).
    ``peak_MB`` is the worker's ``getrusage(RUSAGE_SELF).ru_maxrss`` at the end
    minus its resident set size (``VmRSS``) just before the graph tensors are
    built, so the cost of importing torch, PyG and hipool is left out; the graph
    itself (``x``, ``edge_index``: the same for every implementation) is
    counted.  The parent process never imports torch: on Linux a child's
    ``ru_maxrss`` starts at its parent's peak resident size, so a heavy parent
    would inflate every reading.  MB and GB are 10^6 and 10^9 bytes.

    Dense implementations are skipped (``skipped: needs ≥ X GB``) when
    ``3 × 4 bytes × B × N²`` (the adjacency, plus about as much again for its
    gradient-side intermediates) exceeds ``MemAvailable`` from /proc/meminfo.  A
    worker that dies (killed when out of memory, any non-zero exit) shows as
    ``failed (exit code …)``.

    Device: ``--device cuda`` runs every worker on the GPU: the graph is built on the CPU
    as above (the same graph), then ``x``, ``edge_index``, ``batch`` and the modules (hipool's
    pooler, PyG's linear map or ``DMoNPooling``) are moved to the GPU, so the dense
    conversions run there too; the clock is read after ``torch.cuda.synchronize()``.
    ``peak_MB`` is then ``torch.cuda.max_memory_allocated()`` after
    ``torch.cuda.reset_peak_memory_stats()`` taken just before the graph is moved (the CUDA
    allocator's peak, which leaves out the CUDA context and the allocator's cached blocks;
    ``reserved_peak_MB`` and the host ``rss_peak_MB`` are in the JSON), and ``abs_peak_MB``
    (the N = 100k goal) is that same allocator peak.  ``mem_kind`` says which (``rss`` or
    ``cuda_alloc``); the header names the GPU.  The dense skip rule then compares with the
    GPU's free memory (``torch.cuda.mem_get_info()``, read once before the first worker)
    instead of ``MemAvailable``.

    On the CPU the table also has ``tensor_MB``, the same measure as the GPU's ``peak_MB``
    for the CPU: the graph, the weights and the peak of the tensors alive during one more
    (untimed) step, from the profiler's memory events (``_bench.tensor_peak_bytes``), and
    ``tensor_ratio`` against PyG dense.  RSS counts besides the tensors the process's own
    overhead (code pages of kernels run for the first time, memory the C allocator keeps),
    which weighs on a sparse step of tens of MB and not on a dense one of hundreds.  The
    memory goal is judged on ``mem_ratio`` (RSS); ``tensor_ratio`` is printed beside it.

    After the table come the ratios of hipool to PyG dense measured in the same
    run (``speedup = pyg_time / time``, ``mem_ratio = peak / pyg_peak``) and the
    goals, checked against the measured numbers:

    * at N = 10k, hipool sparse is ≥ 10× faster than PyG dense with ≤ 1/10 of its
      peak memory;
    * at N = 100k, hipool sparse completes under 24 GB (its absolute peak,
      torch included) where dense cannot (skipped or failed).

Run (from the repository root)
    .venv/bin/python benchmarks/clustering.py                 # MinCutPool, N = 1k, 10k, 100k
    .venv/bin/python benchmarks/clustering.py --pooler all    # DiffPool, MinCutPool and DMoN
    .venv/bin/python benchmarks/clustering.py --quick         # smoke test: N = 1k, 2k, one run
    .venv/bin/python benchmarks/clustering.py --device cuda   # on the GPU
    .venv/bin/python benchmarks/clustering.py --help          # all options
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from _bench import (
    MEM_KINDS,
    TENSOR_MB,
    add_ratios,
    cell_parser,
    check_cell_args,
    device_header,
    fmt_table,
    probe_device,
    run_jobs,
    table_cells,
    time_cell,
    write_atomic,
)

# torch is imported inside the worker only (see "Peak memory" in the docstring).

POOLERS = ("diffpool", "mincut", "dmon")
IMPLS = ("hipool-sparse", "hipool-dense", "pyg-dense")
DENSE_IMPLS = ("hipool-dense", "pyg-dense")
#: float32 adjacency, and about twice as much again for the dense path's intermediates.
DENSE_BYTES_PER_ENTRY = 4 * 3
GOAL_SPEEDUP_N, GOAL_SPEEDUP, GOAL_MEM_RATIO = 10_000, 10.0, 0.1
GOAL_SCALE_N, GOAL_SCALE_BYTES = 100_000, 24e9


def parse_args(argv=None):
    p = cell_parser(__doc__, POOLERS, IMPLS, "mincut", threads=len(os.sched_getaffinity(0)))
    p.add_argument("--clusters", type=int, default=256, help="clusters C")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before a worker is killed")
    p.add_argument("--quick", action="store_true", help="smoke test: sizes 1000 and 2000, --repeats 1")
    p.add_argument("--out", type=Path, help="also write the results as JSON to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = [1_000, 2_000], 1
    check_cell_args(p, args, positive=("clusters",))
    if min(args.sizes) < args.clusters:
        p.error(f"every size must be >= --clusters ({args.clusters}), got {min(args.sizes)}")
    return args


# ---------------------------------------------------------------------------
# worker: one (pooler, N, implementation) in a fresh process
# ---------------------------------------------------------------------------


def make_step(pooler: str, impl: str, features: int, clusters: int):
    """``(step, modules)``: ``step(x, edge_index, batch)`` returns the pooled features and the
    list of auxiliary losses."""
    import torch
    from torch_geometric.nn import DMoNPooling, dense_diff_pool, dense_mincut_pool
    from torch_geometric.utils import to_dense_adj, to_dense_batch

    from hipool.nn import REGISTRY

    mode = "sparse" if impl == "hipool-sparse" else "dense"
    pool = REGISTRY[pooler].build(features, clusters, {"assign": "linear", "mode": mode})
    linear = pool.assign.net

    if impl.startswith("hipool"):

        def step(x, edge_index, batch):
            out = pool(x, edge_index, None, batch)
            return out.x, list(out.aux_losses.values())

        return step, [pool]

    if pooler == "dmon":
        peer = DMoNPooling(features, clusters)
        peer.mlp.lins[0].load_state_dict(linear.state_dict())

        def step(x, edge_index, batch):
            xd, mask = to_dense_batch(x, batch)
            adj = to_dense_adj(edge_index, batch)
            _, out, _, *losses = peer(xd, adj, mask)
            return out, losses

        return step, [peer]

    peer = torch.nn.Linear(features, clusters)
    peer.load_state_dict(linear.state_dict())
    dense_pool = dense_mincut_pool if pooler == "mincut" else dense_diff_pool

    def step(x, edge_index, batch):
        xd, mask = to_dense_batch(x, batch)
        adj = to_dense_adj(edge_index, batch)
        out, _, *losses = dense_pool(xd, adj, peer(xd), mask)
        return out, losses

    return step, [peer]


def worker(args) -> dict:
    return time_cell(
        args,
        lambda: make_step(args.pooler, args.impl, args.features, args.clusters),
        backward_of=lambda out: out[0].sum() + sum(out[1]),
        describe=lambda out: {"aux_losses": [loss.item() for loss in out[1]]},
        tensor_peak=True,
    )


# ---------------------------------------------------------------------------
# parent: schedule workers, print the table and the goals
# ---------------------------------------------------------------------------
def mem_available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("MemAvailable not found in /proc/meminfo")


def measure(args, pooler: str, n: int, impl: str, info: dict) -> dict:
    """Run one measurement in a fresh worker process; never raises.  ``info`` is
    :func:`_bench.probe_device`'s (on CUDA, the GPU's free memory)."""
    row = {"pooler": pooler, "n": n, "impl": impl}
    if impl in DENSE_IMPLS:
        need = DENSE_BYTES_PER_ENTRY * n * n  # one graph: B = 1
        cuda = info["device"] == "cuda"
        if need > (info["free_bytes"] if cuda else mem_available_bytes()):
            where = " of GPU memory" if cuda else ""
            return {**row, "status": "skipped", "note": f"skipped: needs ≥ {need / 1e9:.0f} GB{where}"}
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
        "--clusters",
        str(args.clusters),
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
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**row, "status": "failed", "note": f"failed (timed out after {args.timeout:.0f} s)"}
    if proc.returncode != 0:
        killed = " killed, out of memory?" if proc.returncode == -9 else ""
        stderr = proc.stderr.strip().splitlines()
        return {
            **row,
            "status": "failed",
            "note": f"failed (exit code {proc.returncode}{killed})",
            "stderr": stderr[-1] if stderr else "",
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: Poolers whose auxiliary losses hipool defines as PyG does.  DiffPool's are normalised by
#: default (link loss per edge, entropy over log C: see ``hipool.nn.clustering``), so they are
#: compared between hipool's two modes only.
SAME_LOSSES_AS_PYG = ("mincut", "dmon")


def loss_spread(results: list, with_pyg: bool) -> float:
    """Largest ``|a - b|`` of one auxiliary loss between implementations at the same pooler and N:
    hipool sparse against dense, or (``with_pyg``) every implementation of the poolers in
    :data:`SAME_LOSSES_AS_PYG`."""
    by_case = {}
    for r in results:
        if r["status"] == "ok" and (r["pooler"] in SAME_LOSSES_AS_PYG if with_pyg else r["impl"] != "pyg-dense"):
            by_case.setdefault((r["pooler"], r["n"]), []).append(r["aux_losses"])
    return max(
        (abs(a[i] - b[i]) for runs in by_case.values() for a in runs for b in runs for i in range(len(a))), default=0.0
    )


def check_goals(results: list, poolers) -> list:
    """The issue's goals per pooler: ``{"goal", "pooler", "met": True/False/None, "detail"}``."""
    at = {(r["pooler"], r["n"], r["impl"]): r for r in results}
    goals = []
    for pooler in poolers:
        sparse = at.get((pooler, GOAL_SPEEDUP_N, "hipool-sparse"))
        text = (
            f"at N={GOAL_SPEEDUP_N // 1000}k, hipool sparse >= {GOAL_SPEEDUP:g}x faster than "
            f"PyG dense with <= 1/{1 / GOAL_MEM_RATIO:g} of its peak memory"
        )
        if sparse is None:
            met, detail = None, f"not measured (N={GOAL_SPEEDUP_N} not in --sizes)"
        elif "speedup" not in sparse:
            met, detail = None, "not measured (hipool sparse or PyG dense did not complete)"
        else:
            met = sparse["speedup"] >= GOAL_SPEEDUP and sparse["mem_ratio"] <= GOAL_MEM_RATIO
            detail = f"speedup {sparse['speedup']:.1f}x, mem_ratio {sparse['mem_ratio']:.4f}"
            if "tensor_ratio" in sparse:  # reported beside the verdict, which stays on mem_ratio
                detail += f"; tensor_ratio {sparse['tensor_ratio']:.4f}"
        goals.append({"goal": text, "pooler": pooler, "met": met, "detail": detail})

        sparse = at.get((pooler, GOAL_SCALE_N, "hipool-sparse"))
        text = (
            f"at N={GOAL_SCALE_N // 1000}k, hipool sparse completes under "
            f"{GOAL_SCALE_BYTES / 1e9:g} GB where dense cannot"
        )
        if sparse is None:
            met, detail = None, f"not measured (N={GOAL_SCALE_N} not in --sizes)"
        else:
            dense = [at[(pooler, GOAL_SCALE_N, impl)] for impl in DENSE_IMPLS]
            dense_ok = [d["impl"] for d in dense if d["status"] == "ok"]
            if sparse["status"] == "skipped":
                met, detail = None, f"not measured (hipool sparse {sparse['note']})"
            elif sparse["status"] != "ok":
                met, detail = False, f"hipool sparse {sparse['note']}"
            else:
                peak = sparse["abs_peak_MB"] * 1e6
                met = peak < GOAL_SCALE_BYTES and not dense_ok
                what = "CUDA allocator peak" if sparse.get("mem_kind") == "cuda_alloc" else "torch included"
                detail = (
                    f"hipool sparse peak {peak / 1e9:.2f} GB ({what}), "
                    f"{sparse['time_ms'] / 1e3:.1f} s; dense: "
                    + "; ".join(f"{d['impl']} {d.get('note', 'completed')}" for d in dense)
                )
        goals.append({"goal": text, "pooler": pooler, "met": met, "detail": detail})
    return goals


def table_rows(results: list) -> list:
    """The table's cells: :func:`_bench.table_cells`, then ``tensor_MB`` and ``tensor_ratio``
    (CPU cells)."""
    return [
        table_cells(r, mem_digits=4)
        + [
            f"{r['tensor_MB']:.1f}" if "tensor_MB" in r else "",
            f"{r['tensor_ratio']:.4f}" if "tensor_ratio" in r else "",
        ]
        for r in results
    ]


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically."""
    write_atomic(path, json.dumps(payload, indent=2) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)), flush=True)
        return 0

    command = shlex.join([sys.executable] + sys.argv)
    info = probe_device(args.device)  # exits with a message when CUDA is asked for and missing
    poolers = POOLERS if args.pooler == "all" else (args.pooler,)
    jobs = [(p, n, impl) for p in poolers for n in args.sizes for impl in IMPLS]
    results, wall_s, load_before = run_jobs(jobs, lambda p, n, impl: measure(args, p, n, impl, info))
    add_ratios(results, "pyg-dense")
    goals = check_goals(results, poolers)

    if args.device == "cuda":
        print(device_header(info))
    header = ["pooler", "N", "impl", "time_ms", "peak_MB", "speedup", "mem_ratio", "tensor_MB", "tensor_ratio"]
    print(fmt_table(header, table_rows(results)))
    print()
    print("speedup = PyG dense time / time, mem_ratio = peak / PyG dense peak (same pooler and N);")
    if args.device == "cuda":
        print(f"time_ms: median forward+backward (synchronised); peak_MB: {MEM_KINDS['cuda_alloc']}")
    else:
        print("time_ms: median forward+backward; peak_MB: ru_maxrss minus the RSS before the graph was built;")
        print(f"tensor_MB: {TENSOR_MB}; tensor_ratio = tensor_MB / PyG dense tensor_MB")
    print()
    print("Goals:")
    for g in goals:
        verdict = {True: "met", False: "NOT met", None: "not checked"}[g["met"]]
        print(f"- [{g['pooler']}] {g['goal']}: {verdict} ({g['detail']})")
    print()
    print(
        "- sanity: largest difference of an auxiliary loss, hipool sparse vs dense: "
        f"{loss_spread(results, False):.2e}; MinCut and DMoN, every implementation: "
        f"{loss_spread(results, True):.2e} (DiffPool's are normalised, PyG's not)"
    )
    ok = next((r for r in results if r["status"] == "ok"), {})
    failed = [r for r in results if r["status"] == "failed" and r.get("stderr")]
    for r in failed:
        print(f"- {r['pooler']} N={r['n']} {r['impl']}: {r['stderr']}")
    print(
        f"- torch {ok.get('torch', '?')}, torch_geometric {ok.get('torch_geometric', '?')}, "
        f"python {sys.version.split()[0]}, threads {args.threads}, F={args.features}, "
        f"C={args.clusters}, degree {args.degree}, repeats {args.repeats}, seed {args.seed}"
        + (f", device cuda ({info['name']})" if args.device == "cuda" else "")
    )
    print(
        f"- load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores (other processes competing for the cores inflate the times)"
    )
    print(f"- wall time {wall_s:.1f} s; command: `{command}`")

    if args.out is not None:
        write_json(
            args.out,
            {
                "command": command,
                "wall_s": wall_s,
                "device": info,
                "config": {k: v for k, v in vars(args).items() if k not in ("worker", "impl", "out")},
                "results": results,
                "goals": goals,
            },
        )
        print(f"- results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
