"""Helpers shared by the benchmark scripts (run as scripts: ``benchmarks/`` is on sys.path)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional


def rss_kb() -> int:
    """Current resident set size of this process (KB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


#: ``mem_kind`` of a result: what its ``peak_MB`` measures.
MEM_KINDS = {
    "rss": "peak resident set size of the worker (ru_maxrss) minus its RSS before the graph was built",
    "cuda_alloc": "CUDA caching-allocator peak (torch.cuda.max_memory_allocated) from just before the "
    "graph was moved to the GPU",
}

#: What ``tensor_MB`` measures (CPU cells of the scripts that ask for it; see :func:`tensor_peak_bytes`).
TENSOR_MB = (
    "peak of the tensors alive during one forward+backward (torch's CPU allocator, from the "
    "profiler's memory events), the graph and the module's parameters included: on the CPU what "
    "peak_MB is on CUDA; memory allocated outside torch (MKL's sparse internals) is not in it"
)


def tensor_peak_bytes(fn) -> int:
    """Peak bytes of the tensors allocated through torch's CPU allocator while ``fn()`` runs,
    over what was alive when it started (never below 0): the running sum of the allocations and
    frees that ``torch.profiler`` records with ``profile_memory=True``, in time order.

    This is what ``torch.cuda.max_memory_allocated`` measures on a GPU, for the CPU: unlike the
    resident set size it leaves out the process's own overhead (code pages of kernels run for
    the first time, memory the C allocator keeps or spreads over per-thread arenas), and it
    misses what a library allocates outside torch (MKL's sparse-product internals, numpy).
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [
        e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]" and e.device_type() == DeviceType.CPU
    ]
    live = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        live += e.nbytes()
        peak = max(peak, live)
    return peak


# Run in a subprocess by probe_device, so that the parent never imports torch.
_PROBE = """
import json, torch
info = {"torch": torch.__version__, "cuda_build": torch.version.cuda, "available": torch.cuda.is_available()}
if info["available"]:
    free, total = torch.cuda.mem_get_info()
    info.update(name=torch.cuda.get_device_name(), free_bytes=free, total_bytes=total, count=torch.cuda.device_count())
print(json.dumps(info))
"""


#: What ``--device`` takes in every benchmark.
DEVICES = ("cpu", "cuda")


def add_device_option(p: argparse.ArgumentParser, help: str, default: Optional[str] = "cpu") -> None:
    """``--device {cpu,cuda}`` with this script's ``help`` (what runs where; see :func:`probe_device`)."""
    p.add_argument("--device", choices=DEVICES, default=default, help=help)


def probe_device(device: str) -> dict:
    """What the workers will run on: ``{"device": "cpu"}``, or for ``"cuda"`` the GPU's name, free
    and total memory (``torch.cuda.mem_get_info``) and the torch/CUDA versions, read in a short
    subprocess (the parent never imports torch, see ``time_cell``).  Exits with a message, not a
    traceback, when ``device="cuda"`` and torch sees no GPU."""
    if device != "cuda":
        return {"device": device}
    import subprocess

    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        why = tail[-1] if tail else f"exit code {proc.returncode}"
        sys.exit(f"{Path(sys.argv[0]).name}: error: --device cuda: could not query torch.cuda ({why})")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if not info["available"]:
        build = f"built for CUDA {info['cuda_build']}" if info["cuda_build"] else "a CPU-only build"
        sys.exit(
            f"{Path(sys.argv[0]).name}: error: --device cuda: torch.cuda.is_available() is False "
            f"(torch {info['torch']}, {build}); run on a machine with a CUDA GPU, or use --device cpu"
        )
    return {"device": "cuda", **info}


def device_header(info: dict) -> str:
    """One line naming the GPU and what ``peak_MB`` means on it (printed before a CUDA table)."""
    return (
        f"device: cuda, {info['name']} ({info['free_bytes'] / 1e9:.1f} of {info['total_bytes'] / 1e9:.1f} GB free; "
        f"torch {info['torch']}, CUDA {info['cuda_build']}); peak_MB = {MEM_KINDS['cuda_alloc']}"
    )


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


def cell_graph(n: int, degree: int, features: int, seed: int):
    """``(x, edge_index)`` of a cell at ``n`` nodes: :func:`random_graph` and Gaussian features
    ``[n, features]``, both from one generator seeded ``seed + n`` (every script that measures a
    pooler on one random graph builds it here, so they measure the same graph)."""
    import torch

    generator = torch.Generator().manual_seed(seed + n)
    edge_index = random_graph(n, degree, generator)
    return torch.randn(n, features, generator=generator), edge_index


def json_lines(text) -> list:
    """The JSON objects (dicts) among the lines of a worker's stdout (str or bytes); other lines
    (progress, warnings) are skipped."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    out = []
    for line in (text or "").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


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
            if r.get("tensor_MB") and ref.get("tensor_MB"):
                r["tensor_ratio"] = r["tensor_MB"] / ref["tensor_MB"]


def time_cell(args, make_step, backward_of, describe, tensor_peak: bool = False) -> dict:
    """One measurement in a worker process: the shared scaffold of the benchmark scripts.

    Builds the random graph (``args.sizes[0]`` nodes, ``args.degree``, ``args.features``,
    ``args.seed``) on the CPU, moves it to ``args.device``, then ``step, modules = make_step()``
    (modules built on the CPU, then moved, so every device gets the same graph and weights);
    times ``step(x, edge_index, batch)`` plus ``backward_of(output).backward()`` once to warm up
    (and prints a progress line, so a parent that kills the worker for time still learns the
    warm-up time), then ``args.repeats`` times (once when the warm-up took over
    ``args.slow_s``).  Returns the timing and memory fields, with ``describe(warm-up output)``
    merged in.

    Memory (``mem_kind``): on the CPU (``"rss"``) ``peak_MB`` is ``ru_maxrss`` minus the RSS
    before the graph was built; on CUDA (``"cuda_alloc"``) it is
    ``torch.cuda.max_memory_allocated()`` after ``torch.cuda.reset_peak_memory_stats()`` taken
    just before the graph is moved (minus what was allocated then: nothing), with the host
    RSS figure kept as ``rss_peak_MB``.  On CUDA the clock is read after
    ``torch.cuda.synchronize()``.  With ``tensor_peak`` on the CPU, one more step (untimed, after
    the others, gradients cleared first) runs under the profiler for ``tensor_MB``
    (:data:`TENSOR_MB`): the graph's tensors and the modules' parameters and buffers plus
    :func:`tensor_peak_bytes` of the step.
    """
    import torch
    import torch_geometric

    device = torch.device(getattr(args, "device", "cpu"))
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit(f"error: --device cuda: torch.cuda.is_available() is False (torch {torch.__version__})")
    torch.set_num_threads(args.threads)
    if cuda:
        torch.cuda.init()  # the CUDA context's host memory before the RSS baseline
        torch.empty(0, device=device)

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    n = args.sizes[0]
    baseline_kb = rss_kb()  # torch, PyG and hipool imported; no graph yet
    # (for a parent that kills the worker: what it saw resident minus this is a lower bound of the peak)
    print(json.dumps({"progress": "baseline", "baseline_MB": baseline_kb * 1024 / 1e6}), flush=True)
    x, edge_index = cell_graph(n, args.degree, args.features, args.seed)
    batch = torch.zeros(n, dtype=torch.long)
    base_alloc = 0
    if cuda:
        sync()
        torch.cuda.reset_peak_memory_stats(device)
        base_alloc = torch.cuda.memory_allocated(device)
        x, edge_index, batch = x.to(device), edge_index.to(device), batch.to(device)
    x.requires_grad_()
    torch.manual_seed(args.seed)
    step, modules = make_step()
    for m in modules:
        m.to(device)

    def clear_grads():
        x.grad = None
        for m in modules:
            m.zero_grad(set_to_none=True)

    def run_once():
        clear_grads()
        sync()
        start = time.perf_counter()
        out = step(x, edge_index, batch)
        backward_of(out).backward()
        sync()
        return time.perf_counter() - start, out

    warmup_s, out = run_once()
    print(json.dumps({"progress": "warmup", "warmup_ms": 1e3 * warmup_s}), flush=True)
    extra = describe(out)
    del out
    repeats = args.repeats if warmup_s <= args.slow_s else 1
    times = [run_once()[0] for _ in range(repeats)]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    tensors = {}
    if tensor_peak and not cuda:
        clear_grads()  # else the step's first act would be freeing the last step's gradients
        resident = sum(t.nbytes for t in (x, edge_index, batch))
        resident += sum(t.nbytes for m in modules for t in [*m.parameters(), *m.buffers()])
        step_bytes = tensor_peak_bytes(lambda: backward_of(step(x, edge_index, batch)).backward())
        tensors = {"tensor_MB": (resident + step_bytes) / 1e6}
    if cuda:
        sync()
        peak_alloc = torch.cuda.max_memory_allocated(device)
        memory = {
            "peak_MB": (peak_alloc - base_alloc) / 1e6,
            "abs_peak_MB": peak_alloc / 1e6,
            "baseline_MB": base_alloc / 1e6,
        }
        gpu = {
            "gpu": torch.cuda.get_device_name(device),
            "rss_peak_MB": (peak_kb - baseline_kb) * 1024 / 1e6,
            "reserved_peak_MB": torch.cuda.max_memory_reserved(device) / 1e6,
        }
    else:
        memory = {
            "peak_MB": (peak_kb - baseline_kb) * 1024 / 1e6,
            "abs_peak_MB": peak_kb * 1024 / 1e6,
            "baseline_MB": baseline_kb * 1024 / 1e6,
        }
        gpu = {}
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
        **memory,
        **tensors,
        **extra,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "device": device.type,
        "mem_kind": "cuda_alloc" if cuda else "rss",
        **gpu,
    }


def cell_parser(doc: str, poolers, impls, default_pooler: str, threads: int) -> argparse.ArgumentParser:
    """The options every one-graph benchmark takes: what to run (``--pooler``, ``--sizes``,
    ``--degree``, ``--features``, ``--seed``, ``--device``), how to time it (``--repeats``,
    ``--slow-s``, ``--threads``), and the internal ``--worker``/``--impl`` of a worker process."""
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
    add_device_option(
        p,
        "where the workers run: the graph is built on the CPU (the same on every device), then moved; "
        "on cuda peak_MB is the CUDA allocator peak instead of RSS",
    )
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


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_jobs(jobs, measure, keys=("pooler", "n", "impl"), desc="measurements", unit="run") -> tuple:
    """``measure(*job)`` for every job (a tuple of the values named by ``keys``), with a progress
    bar (when tqdm is installed).  Returns ``(results, wall seconds, 1-minute load average
    before)``.  On Ctrl-C, SIGINT or SIGTERM (``timeout``) the jobs not yet measured come back as
    ``skipped (interrupted)`` (their ``keys`` filled in), so the caller still prints what was
    measured."""
    try:
        from tqdm import tqdm
    except ImportError:  # the GPU machine runs the scripts without hipool's dependencies
        tqdm = None

    jobs = list(jobs)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    results = []
    bar = tqdm(jobs, desc=desc, unit=unit, file=sys.stderr) if tqdm is not None else jobs
    # Explicit handlers: a shell may start us with SIGINT ignored, and SIGTERM would kill silently.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for job in bar:
            if tqdm is not None:
                bar.set_postfix_str(" ".join(f"{k}={v}" if k == "n" else str(v) for k, v in zip(keys, job)))
            else:
                print(f"{desc}: {' '.join(map(str, job))} ...", file=sys.stderr, flush=True)
            results.append(measure(*job))
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(jobs) - len(results)} {unit}(s) not measured", file=sys.stderr)
        for job in jobs[len(results) :]:
            results.append({**dict(zip(keys, job)), "status": "skipped", "note": "skipped (interrupted)"})
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if tqdm is not None:
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
