"""Where hipool's ASAPooling step spends its time, against the budget of its 5× goal.

``contraction.py`` measures ASAP's forward + backward against PyG's (issue 24's goal: hipool ≥ 5×
faster at N = 10k and 100k), each implementation in a fresh process.  This script splits
hipool's step into phases, so the table says which part of the step the goal would have to come
from:

* ``product``: ``hipool.nn.asap._triple_product``, the pooled graph ``Sᵀ (A S)``: torch's two
  sparse × sparse products (MKL's on the CPU).  PyG's ASAPooling forms the same product with the
  same torch operation.
* ``extraction``: the rest of ``hipool.nn.asap._coarsen_csr``: ``Sᵀ``, ``A`` and ``S`` as CSR
  matrices before the product, and after it the product's entries turned into the pooled
  ``edge_index`` (its rows, self-loops removed), the largest tensor of the step.
* ``other forward``: the rest of the forward: self-loops, the attention, ``Sᵀ X``, the LEConv
  fitness, the top-k selection.
* ``backward``: ``out.x.sum().backward()`` (the pooled graph has no gradient: PyG returns it
  without values, so hipool does too).

The clocks are wrapped around hipool's own functions for the run (and restored after it);
nothing in hipool is changed.  ``faults/step`` counts the minor page faults of a step
(``ru_minflt``): each is the kernel handing the process a fresh, zeroed 4 KB page.

Two rows per N, in one process (so no memory is measured here):

* ``alone``: after a warm-up step of each, ``--repeats`` hipool steps in a row, then as many
  PyG steps: each implementation's own steady state, as ``contraction.py`` measures it (one
  fresh process per implementation there; its ratio is the one that counts for the goal).
* ``after PyG``: ``--repeats`` pairs, a PyG step, then a hipool step.  PyG's step leaves the
  C allocator holding pages that hipool's next step reuses, so this row shows hipool's step
  without most of its page faults.

``5x budget`` is PyG's median / 5: the time hipool's whole step would have to fit in.  The
graph, the weights and the backward are those of ``contraction.py --pooler asap`` (the same
seed convention, the same ``make_step``), and the pooled edge counts are checked to be equal.

Run (from the repository root)
    .venv/bin/python benchmarks/asap_phases.py                  # N = 10k and 100k, 5 repeats
    .venv/bin/python benchmarks/asap_phases.py --sizes 10000 --repeats 10
    .venv/bin/python benchmarks/asap_phases.py --device cuda     # on a GPU
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager

from _bench import add_device_option, cell_graph, fmt_table, probe_device

GOAL = 5.0
PHASES = ("product", "extraction", "other forward", "backward")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="graph sizes N")
    p.add_argument("--repeats", type=int, default=5, help="timed steps of each implementation per N")
    p.add_argument("--degree", type=int, default=8, help="average degree of the random graph")
    p.add_argument("--features", type=int, default=64, help="node features F")
    p.add_argument("--ratio", type=float, default=0.5, help="ASAPooling's ratio")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the graph and the weights")
    add_device_option(
        p, "cpu, or cuda: the graph (built on the CPU) and both modules on the GPU, each clock read after a synchronize"
    )
    args = p.parse_args(argv)
    for name in ("repeats", "degree", "features", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if min(args.sizes) < 2:
        p.error(f"every size must be >= 2, got {min(args.sizes)}")
    if not 0 < args.ratio <= 1:
        p.error(f"--ratio must be in (0, 1], got {args.ratio}")
    return args


@contextmanager
def clocked(module, names, sync=None):
    """Wrap ``module.<name>`` for each of ``names`` in a wall clock; yields ``{name: seconds}``,
    summed over calls, and restores the functions on exit.  ``sync`` (e.g. a CUDA synchronize)
    runs before each clock is read."""
    seconds = {name: 0.0 for name in names}
    originals = {name: getattr(module, name) for name in names}

    def wrap(name, fn):
        def timed(*args, **kwargs):
            if sync is not None:
                sync()
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if sync is not None:
                    sync()
                seconds[name] += time.perf_counter() - start

        return timed

    for name, fn in originals.items():
        setattr(module, name, wrap(name, fn))
    try:
        yield seconds
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)


def measure(n: int, args) -> list:
    """Two rows at ``n`` nodes, median phases (ms): hipool's steps alone, then PyG's (``alone``,
    as ``contraction.py`` measures them, but one process); then both alternating
    (``after PyG``)."""
    import resource

    import torch
    from contraction import make_step

    import hipool.nn.asap as asap

    x, edge_index = cell_graph(n, args.degree, args.features, args.seed)  # contraction.py's graph
    batch = torch.zeros(n, dtype=torch.long)
    device = torch.device(args.device)
    x, edge_index, batch = x.to(device).requires_grad_(), edge_index.to(device), batch.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    steps = {}
    for impl in ("pyg", "hipool"):
        torch.manual_seed(args.seed)
        step, modules = make_step("asap", impl, args.features, args.ratio, None)
        steps[impl] = (step, [m.to(device) for m in modules])

    def run(impl, samples):
        step, modules = steps[impl]
        x.grad = None
        for m in modules:
            m.zero_grad(set_to_none=True)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        with clocked(asap, ("_coarsen_csr", "_triple_product"), sync) as clock:
            sync()
            start = time.perf_counter()
            out = step(x, edge_index, batch)
            sync()
            forward = time.perf_counter() - start
            out[0].sum().backward()
            sync()
            total = time.perf_counter() - start
        samples[impl].append(total)
        samples[f"{impl} faults"].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
        if impl == "hipool":
            samples["product"].append(clock["_triple_product"])
            samples["extraction"].append(clock["_coarsen_csr"] - clock["_triple_product"])
            samples["other forward"].append(forward - clock["_coarsen_csr"])
            samples["backward"].append(total - forward)
        return out[2]

    def row(mode, samples):
        r = {key: statistics.median(v) * (1e3 if "faults" not in key else 1) for key, v in samples.items()}
        r.update(n=n, mode=mode, budget=r["pyg"] / GOAL)
        return r

    def fresh():
        return {key: [] for key in ("pyg", "hipool", "pyg faults", "hipool faults", *PHASES)}

    alone, after = fresh(), fresh()
    edges = {impl: run(impl, fresh()) for impl in ("hipool", "pyg")}  # warm-up
    if edges["hipool"] != edges["pyg"]:
        raise SystemExit(f"N={n}: hipool pooled {edges['hipool']} edges, PyG {edges['pyg']}")
    run("hipool", fresh())  # so that the block below starts in hipool's own state, not right after PyG
    for impl in ("hipool", "pyg"):
        for _ in range(args.repeats):
            run(impl, alone)
    for _ in range(args.repeats):
        run("pyg", after)
        run("hipool", after)
    rows = [row("alone", alone), row("after PyG", after)]
    for r in rows:
        r["pooled_edges"] = edges["hipool"]
    return rows


def table(rows) -> str:
    header = ["N", "hipool's steps", "PyG ms", "5x budget", "hipool ms", *PHASES, "faults/step", "PyG faults/step"]
    cells = [
        [
            f"{r['n']:,}",
            r["mode"],
            f"{r['pyg']:.1f}",
            f"{r['budget']:.1f}",
            f"{r['hipool']:.1f} ({r['pyg'] / r['hipool']:.1f}x)",
            *(f"{r[p]:.1f}" for p in PHASES),
            f"{r['hipool faults']:,.0f}",
            f"{r['pyg faults']:,.0f}",
        ]
        for r in rows
    ]
    return fmt_table(header, cells)


def main(argv=None) -> list:
    args = parse_args(argv)
    info = probe_device(args.device)  # exits with one line when --device cuda has no GPU
    import torch
    from tqdm import tqdm

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = []
    for n in tqdm(args.sizes, desc="asap phases", unit="size", file=sys.stderr):
        rows.extend(measure(n, args))
    print(table(rows))
    print()
    print("ms: median over the repeats; hipool ms = product + extraction + other forward + backward (medians")
    print("taken per phase, so they need not add up exactly); 5x budget = PyG ms / 5; faults/step: minor page")
    print("faults (ru_minflt) per step, the kernel handing the process fresh pages (4 KB each, zeroed);")
    print("hipool's steps alone: all of them, then PyG's; after PyG: each hipool step right after a PyG step")
    pooled = ", ".join(f"N={r['n']:,}: {r['pooled_edges']:,}" for r in rows[::2])
    print(f"- pooled edges (the same as PyG's): {pooled}")
    if args.device == "cuda":
        gpu = f"{info['name']} (torch {info['torch']}, CUDA {info['cuda_build']})"
        print(f"- device: cuda, {gpu}; the page faults are the host's")
    print(
        f"- torch {torch.__version__}, threads {args.threads}, F={args.features}, degree {args.degree}, "
        f"ratio {args.ratio:g}, repeats {args.repeats}, seed {args.seed}"
    )
    load_after = os.getloadavg()[0]
    print(f"- load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} on {os.cpu_count()} cores")
    return rows


if __name__ == "__main__":
    main()
