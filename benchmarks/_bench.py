"""Helpers shared by the benchmark scripts (run as scripts: ``benchmarks/`` is on sys.path)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path


def rss_kb() -> int:
    """Current resident set size of this process (KB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def random_graph(n: int, degree: int, generator):
    """``edge_index`` of a random undirected graph: both directions, no self-loops or duplicates."""
    import torch
    from torch_geometric.utils import coalesce

    pairs = n * degree // 2
    src = torch.randint(n, (pairs,), generator=generator)
    dst = torch.randint(n, (pairs,), generator=generator)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    return coalesce(edge_index, num_nodes=n)


def fmt_table(header, rows) -> str:
    """Plain-text table, first three columns left-aligned, the others right-aligned."""
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def add_ratios(results: list, peer: str) -> None:
    """``speedup`` and ``mem_ratio`` of each hipool row vs the ``peer`` implementation at the same pooler and N."""
    pyg = {(r["pooler"], r["n"]): r for r in results if r["impl"] == peer and r["status"] == "ok"}
    for r in results:
        ref = pyg.get((r["pooler"], r["n"]))
        if r["impl"] != peer and r["status"] == "ok" and ref is not None:
            r["speedup"] = ref["time_ms"] / r["time_ms"]
            r["mem_ratio"] = r["peak_MB"] / ref["peak_MB"] if ref["peak_MB"] > 0 else float("nan")


def time_cell(args, make_step, backward_of, describe) -> dict:
    """One measurement in a worker process: the shared scaffold of the benchmark scripts.

    Builds the random graph (``args.sizes[0]`` nodes, ``args.degree``, ``args.features``,
    ``args.seed``), then ``step, modules = make_step()``; times ``step(x, edge_index,
    batch)`` plus ``backward_of(output).backward()`` once to warm up (and prints a progress
    line, so a parent that kills the worker for time still learns the warm-up time), then
    ``args.repeats`` times (once when the warm-up took over ``args.slow_s``).  Returns the
    timing and memory fields, with ``describe(warm-up output)`` merged in.
    """
    import torch
    import torch_geometric

    torch.set_num_threads(args.threads)
    n = args.sizes[0]
    baseline_kb = rss_kb()  # torch, PyG and hipool imported; no graph yet
    generator = torch.Generator().manual_seed(args.seed + n)
    edge_index = random_graph(n, args.degree, generator)
    x = torch.randn(n, args.features, generator=generator).requires_grad_()
    batch = torch.zeros(n, dtype=torch.long)
    torch.manual_seed(args.seed)
    step, modules = make_step()

    def run_once():
        x.grad = None
        for m in modules:
            m.zero_grad(set_to_none=True)
        start = time.perf_counter()
        out = step(x, edge_index, batch)
        backward_of(out).backward()
        return time.perf_counter() - start, out

    warmup_s, out = run_once()
    print(json.dumps({"progress": "warmup", "warmup_ms": 1e3 * warmup_s}), flush=True)
    extra = describe(out)
    del out
    repeats = args.repeats if warmup_s <= args.slow_s else 1
    times = [run_once()[0] for _ in range(repeats)]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    return {
        "pooler": args.pooler,
        "n": n,
        "impl": args.impl,
        "status": "ok",
        "edges": edge_index.size(1),
        "time_ms": 1e3 * statistics.median(times),
        "times_ms": [1e3 * t for t in times],
        "warmup_ms": 1e3 * warmup_s,
        "repeats": repeats,
        "peak_MB": (peak_kb - baseline_kb) * 1024 / 1e6,
        "abs_peak_MB": peak_kb * 1024 / 1e6,
        "baseline_MB": baseline_kb * 1024 / 1e6,
        **extra,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
    }


def cell_parser(doc: str, poolers, impls, default_pooler: str, threads: int) -> argparse.ArgumentParser:
    """The options every one-graph benchmark takes: what to run (``--pooler``, ``--sizes``,
    ``--degree``, ``--features``, ``--seed``), how to time it (``--repeats``, ``--slow-s``,
    ``--threads``), and the internal ``--worker``/``--impl`` of a worker process."""
    p = argparse.ArgumentParser(
        description=doc.split("\n", 1)[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--pooler", choices=tuple(poolers) + ("all",), default=default_pooler, help="pooler(s) to run")
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="graph sizes N (nodes)")
    p.add_argument("--degree", type=int, default=8, help="average degree (directed edges per node)")
    p.add_argument("--features", type=int, default=64, help="node features F")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (after 1 warm-up)")
    p.add_argument(
        "--slow-s",
        type=float,
        default=20.0,
        help="if the warm-up run takes longer than this, time one run instead of --repeats",
    )
    p.add_argument("--threads", type=int, default=threads, help="torch.set_num_threads in every worker")
    p.add_argument("--seed", type=int, default=0, help="seed of the graph, features and weights")
    # Internal: run one measurement in a worker process and print it as JSON lines.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--impl", choices=impls, help=argparse.SUPPRESS)
    return p


def check_cell_args(p: argparse.ArgumentParser, args, positive=()) -> None:
    """Errors for the :func:`cell_parser` options (and the ``positive`` ones a script adds)."""
    for name in ("degree", "features", "repeats", "threads", *positive):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.worker and (args.impl is None or args.pooler == "all" or len(args.sizes) != 1):
        p.error("--worker needs --impl, one --pooler and one size")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then rename), as
    ``hipool.io.atomic_write_text`` does, without importing torch into the parent."""
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def run_jobs(jobs, measure) -> tuple:
    """``measure(pooler, n, impl)`` for every job, with a progress bar.
    Returns ``(results, wall seconds, 1-minute load average before)``."""
    from tqdm import tqdm

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    results = []
    bar = tqdm(jobs, desc="measurements", unit="run", file=sys.stderr)
    for pooler, n, impl in bar:
        bar.set_postfix_str(f"{pooler} N={n} {impl}")
        results.append(measure(pooler, n, impl))
    bar.close()
    return results, time.perf_counter() - started, load_before


def table_cells(r: dict, mem_digits: int = 3) -> list:
    """The first seven table columns of a result: pooler, N, impl, time_ms (its note when it
    did not run), peak_MB, speedup, mem_ratio."""
    size = f"{r['n'] // 1000}k" if r["n"] % 1000 == 0 else str(r["n"])
    if r["status"] != "ok":
        return [r["pooler"], size, r["impl"], r["note"], "-", "", ""]
    time_ms = f"{r['time_ms']:.1f}" + ("" if r["repeats"] > 1 else " (1 run)")
    return [
        r["pooler"],
        size,
        r["impl"],
        time_ms,
        f"{r['peak_MB']:.1f}",
        f"{r['speedup']:.1f}x" if "speedup" in r else "",
        f"{r['mem_ratio']:.{mem_digits}f}" if "mem_ratio" in r else "",
    ]
