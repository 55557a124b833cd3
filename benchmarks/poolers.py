"""Every pooler of hipool's registry on one large graph: speed and memory, against tgp.

What it measures
    For each pooler of ``hipool.nn.REGISTRY`` (all of them, and any registered later, with no
    change here), each graph size N (``--sizes``, default 1k, 10k, 100k nodes) and each
    implementation, the wall time of one forward + backward pass and the peak memory:

    * ``hipool``: the pooler as a config builds it, ``spec.build(F, entry, options)``;
    * ``tgp``: the matching pooler of torch-geometric-pool (``tgp``, written against 1.0.1),
      measured in the same run when ``import tgp.poolers`` works in a worker's Python.  When it
      does not, the script says so in one line (``tgp: not installed (pip install ...)``) and
      measures hipool alone.  A pooler tgp has no counterpart of shows ``—`` (see ``TGP`` and
      ``TGP_BY_CLASS``).

    The schedule entry and options (the same "size settings" on both sides):

    * ``ratio`` poolers (topk, sag, asap, pan): ``--ratio`` (0.5) of the nodes kept;
    * ``order`` (kmis): ``k = 1`` (tgp: ``order_k=1``);
    * ``count`` (diffpool, mincut, dmon, justbalance, hosc, acc): ``C = --clusters`` (256;
      ``min(C, N // 2)`` on graphs smaller than ``2 C``), with ``mode="sparse"`` (the dense path
      builds ``[N, N]``) and ``assign="linear"`` (tgp's ``MLPSelect`` with an int
      ``in_channels`` is one linear map; hipool's DiffPool would otherwise default to a GCN);
      tgp: ``k=C`` and ``batched=False``, its unbatched sparse path;
    * ``pairs``, ``natural`` and ``given``: the registry's one fixed entry; ``given`` pools
      random groups of ``GROUP_SIZE`` (4) nodes, ``forward(..., groups=...)``.

    Everything else is each library's default, except (``MATCH_TGP``):

    * ``lapool``: ``distance_weight=False, attention="softmax"``, what tgp's ``LaPooling`` computes
      by default (no shortest-path prior, a softmax over the leaders); hipool's default (the
      paper's ``1/d`` prior and sparsemax) needs a breadth-first search from every leader;
    * ``bnpool``: ``recon="sampled"``, the reconstruction loss estimated from the edges and
      sampled node pairs, as tgp's sparse ``BNPool`` does (hipool's default is the exact
      ``O(n² C)`` loss, refused above ``dense_limit``);
    * ``nmf`` and ``eigenpool`` keep their defaults: a graph above ``dense_max_nodes`` (NMF: the
      sparse multiplicative updates from a randomized SVD, as scikit-learn's ``nndsvda`` init
      computes it) or ``dense_limit`` (EigenPool: its partial eigensolver, ARPACK) takes the
      sparse path.

    tgp's ``PANPooling`` takes the MET matrix ``M`` of PyG's ``PANConv`` instead of an
    ``edge_index``: the timed tgp step computes ``M`` as ``PANConv.forward`` does (``panentropy``
    with ``filter_size=2``, hipool's default, then the symmetric degree normalisation), without the
    convolution itself; it needs ``torch_sparse``. tgp's ``GraclusPooling`` needs ``torch_cluster``.
    A tgp pooler whose extra package is missing is ``skipped`` with the reason.

    Graph: one random undirected graph per N (``_bench.random_graph``: ``N * degree / 2``
    uniform node pairs, self-loops removed, both directions stored, duplicates merged, so
    ``E ≈ degree * N`` with ``--degree`` 8), Gaussian features (``--features`` 64) with
    ``requires_grad``, ``batch = 0`` for every node.  The same seed gives both implementations
    the same graph (not the same weights: the two libraries' parameters differ).

    The backward pass is ``out.x.sum()`` plus the sum of the auxiliary losses
    (hipool: ``out.aux_losses.values()``, tgp: ``out.loss.values()``), ``.backward()``.

    Time: median over ``--repeats`` runs after one warm-up run; one timed run when the warm-up
    took longer than ``--slow-s`` seconds (marked ``*``).  ``--threads`` (default 1) torch
    threads in every worker.  The header gives the 1-minute load average before and after the
    run: other processes competing for the cores inflate the times.

    Peak memory: every (pooler, N, implementation) runs in a fresh subprocess (this script
    with the hidden ``--worker`` flag, printing JSON lines; ``_bench.time_cell``): ``MB`` is
    the worker's ``ru_maxrss`` minus its resident size just before the graph was built
    (the worker imports ``hipool.nn`` or ``tgp.poolers`` first, so imports are left out; the
    graph is counted, and so is anything imported lazily during the warm-up run, e.g. scipy for
    a component of NDP above its ``dense_limit``), 10^6 bytes.  The parent never imports torch (on
    Linux a child's ``ru_maxrss`` starts at its parent's peak); it reads the registry and
    whether tgp imports from one short probe subprocess.  ``--device cuda``: the workers run on
    the GPU and ``MB`` is the CUDA allocator's peak (``_bench.MEM_KINDS``).

    Limits: a worker still running after ``--timeout-s`` (600) seconds is killed and its cell
    reads ``timeout``; one whose resident size passes ``--mem-cap-gb`` (default 80% of
    ``MemAvailable`` at the start) is killed and reads ``failed: memory cap``; one that raises or
    dies reads ``failed: <reason>`` (the full last line of its stderr is listed under the
    table).  A failure never stops the table.  Cells known not to scale are skipped before they
    start, by the ``SKIP`` table below (each with its reason, printed under the table;
    ``--no-skip`` runs them anyway).

    Output: one table per N, ``pooler | entry | hipool s | hipool MB | tgp s | tgp MB |
    tgp/hipool time | hipool/tgp memory`` (the ratios from ``_bench.add_ratios``: above 1×
    time, hipool is faster; below 1 memory, hipool needs less), the header (device, threads,
    load, versions), the notes, and the goal of issue 23 checked against the measured numbers:
    **at N = 10k, every pooler hipool shares with tgp is at least as fast as tgp's
    (tgp/hipool time ≥ 1) with at most its peak memory (hipool/tgp memory ≤ 1).**  ``--json
    PATH`` also writes every measurement, the configuration, the SKIP table and the goals.

Run (from the repository root)
    .venv/bin/python benchmarks/poolers.py                                  # all poolers, N = 1k, 10k, 100k
    .venv/bin/python benchmarks/poolers.py --sizes 1000,10000 --repeats 3   # the issue-23 check (10k)
    .venv/bin/python benchmarks/poolers.py --pooler topk,mincut --sizes 1000 --repeats 1   # a smoke run
    .venv/bin/python benchmarks/poolers.py --json results.json              # also write JSON
    .venv/bin/python benchmarks/poolers.py --device cuda                    # on a CUDA GPU
    .venv/bin/python benchmarks/poolers.py --help                           # all options
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
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
    time_cell,
    write_atomic,
)

# torch is imported inside the workers and the probe only (see "Peak memory" in the docstring).

IMPLS = ("hipool", "tgp")
TGP_VERSION = "1.0.1"  # the tgp release the mapping below was written against
TGP_INSTALL = "pip install torch_geometric_pool torch_scatter"
#: nodes per group of the ``given`` pooler's random groups
GROUP_SIZE = 4
#: the goal of issue 23: at N = GOAL_N, tgp/hipool time >= 1 and hipool/tgp memory <= 1
GOAL_N = 10_000

#: hipool registry name -> (tgp class in ``tgp.poolers``, family function below).  A pooler found
#: neither here nor in ``TGP_BY_CLASS`` has no tgp counterpart (its tgp cells read ``—``).
TGP = {
    "topk": ("TopkPooling", "selection"),
    "sag": ("SAGPooling", "selection"),
    "asap": ("ASAPooling", "selection"),
    "pan": ("PANPooling", "pan"),
    "kmis": ("KMISPooling", "selection"),
    "ndp": ("NDPPooling", "selection"),
    "diffpool": ("DiffPool", "clustering"),
    "mincut": ("MinCutPooling", "clustering"),
    "dmon": ("DMoNPooling", "clustering"),
    "justbalance": ("JustBalancePooling", "clustering"),
    "hosc": ("HOSCPooling", "clustering"),
    "acc": ("AsymCheegerCutPooling", "clustering"),
    "edgepool": ("EdgeContractionPooling", "contraction"),
    "graclus": ("GraclusPooling", "contraction"),
    "sep": ("SEPPooling", "contraction"),
}
#: hipool pooler class -> the same, for poolers not in hipool's registry when this was written
#: (their modules were in progress; their registry names were not settled): found by the class a
#: registry entry builds.  tgp's sizes: MaxCut ``ratio``; BNPool, NMF, Eigen ``k = C`` (hipool's
#: ``count`` entry); LaPooling takes no size (it picks its leaders itself).  Defaults differ where
#: the libraries differ, e.g. tgp's EigenPooling keeps 5 modes (pooled x is 5F wide), hipool's 1.
TGP_BY_CLASS = {
    "MaxCutPool": ("MaxCutPooling", "selection"),
    "BNPool": ("BNPool", "clustering"),
    "NMFPool": ("NMFPooling", "clustering"),
    "EigenPool": ("EigenPooling", "clustering"),
    "LaPool": ("LaPooling", "clustering"),
}


def tgp_counterpart(pooler: str, class_name: str):
    """``(tgp class name, family)`` of a registry pooler (its name, its class's name), or ``None``."""
    return TGP.get(pooler) or TGP_BY_CLASS.get(class_name)


_KRON = (
    "the Kron reduction solves the Laplacian block of the ~N/2 dropped nodes against ~N/2 right-hand "
    "sides (scipy spsolve, in hipool and in tgp): on a random graph the block has no small separators, "
    "so the solution fills in, ~(N/2)^2 float64 (20 GB at 100k) and O(N^3) time"
)
#: ``(impl, pooler) -> (largest N measured, why)``: cells above the size are skipped unmeasured
#: (``--no-skip`` runs them).  Sizes up to the limit run, within ``--timeout-s`` and the memory cap.
#: The costs quoted are estimates from the algorithms (and SEP's documented 1-4 s at 3000 nodes),
#: not measurements at 100k.
SKIP = {
    ("hipool", "ndp"): (20_000, _KRON),
    ("tgp", "ndp"): (20_000, _KRON + "; tgp also relabels every edge in a Python loop of .item() calls"),
    ("hipool", "sep"): (
        20_000,
        "the coding tree is built in pure Python and NumPy, graph by graph (1-4 s at 3000 nodes, "
        "growing faster than E): expected well past --timeout-s at 100k",
    ),
    ("tgp", "sep"): (
        20_000,
        "tgp's SEPSelect builds a dense [N, N] adjacency (to_dense_adj: 40 GB at 100k) and its coding tree in Python",
    ),
}

_PROBE = r"""
import json
import torch, torch_geometric, hipool
from hipool.nn import REGISTRY
info = {
    "torch": torch.__version__,
    "torch_geometric": torch_geometric.__version__,
    "hipool": getattr(hipool, "__version__", "?"),
    "poolers": {
        name: {
            "family": s.family, "entry": s.entry, "fixed_entry": s.fixed_entry, "options": list(s.options),
            "class": s.cls.__name__,
        }
        for name, s in REGISTRY.items()
    },
}
try:
    import tgp, tgp.poolers
    info["tgp"] = {"version": getattr(tgp, "__version__", "?")}
except ModuleNotFoundError as e:
    info["tgp"] = {"missing": e.name or "tgp", "error": f"{type(e).__name__}: {e}"}
except Exception as e:
    info["tgp"] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(info))
"""


class Unavailable(Exception):
    """A tgp pooler that cannot run here (a package it needs is missing): its cell is skipped."""


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------


def _split_commas(text: str) -> list:
    return [t for t in text.split(",") if t]


def _ints(text: str) -> list:
    try:
        return [int(t.replace("_", "")) for t in _split_commas(text)]
    except ValueError:
        raise ValueError(text) from None


def parse_args(argv=None):
    p = cell_parser(__doc__, (), IMPLS, "all", threads=1)
    for action in p._actions:  # comma lists instead of cell_parser's closed choices / spaced ints
        if action.dest == "pooler":
            action.choices = None
            action.help = "comma-separated registry names, or 'all' (every registered pooler)"
        elif action.dest == "sizes":
            action.type = _ints
            action.help = "graph sizes N (nodes), comma-separated"
    p.add_argument("--clusters", type=int, default=256, help="clusters C of the count poolers")
    p.add_argument("--ratio", type=float, default=0.5, help="fraction kept by the ratio poolers")
    p.add_argument("--timeout-s", type=float, default=600.0, help="seconds before a worker is killed (timeout)")
    p.add_argument(
        "--mem-cap-gb",
        type=float,
        default=None,
        help="resident GB at which a worker is killed (default: 80%% of MemAvailable at the start)",
    )
    p.add_argument("--no-skip", action="store_true", help="also run the cells the SKIP table skips")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = p.parse_args(argv)
    sizes = []
    for s in args.sizes:
        sizes.extend(s if isinstance(s, list) else [s])
    args.sizes = sizes
    check_cell_args(p, args, positive=("clusters",))
    if not args.sizes or min(args.sizes) < 2:
        p.error("every size must be >= 2")
    if not 0 < args.ratio <= 1:
        p.error(f"--ratio must be in (0, 1], got {args.ratio}")
    if args.timeout_s <= 0 or (args.mem_cap_gb is not None and args.mem_cap_gb <= 0):
        p.error("--timeout-s and --mem-cap-gb must be > 0")
    return p, args


def clusters_for(n: int, clusters: int) -> int:
    """The clusters of a count pooler on ``n`` nodes: ``--clusters``, at most ``n // 2``."""
    return max(1, min(clusters, n // 2))


#: hipool options that make a pooler compute what tgp's default computes (module docstring).
MATCH_TGP = {"lapool": {"distance_weight": False, "attention": "softmax"}, "bnpool": {"recon": "sampled"}}


def settings(spec: dict, n: int, args, name: str = "") -> tuple:
    """``(entry, pool_options)`` of the registry pooler ``name`` on ``n`` nodes (``spec``: its
    ``entry`` kind, ``fixed_entry`` and ``options`` names, as the probe reports them); see the
    module docstring."""
    extra = {k: v for k, v in MATCH_TGP.get(name, {}).items() if k in spec["options"]}
    if spec["fixed_entry"] is not None:
        return spec["fixed_entry"], extra
    if spec["entry"] == "count":
        wanted = {"mode": "sparse", "assign": "linear"}
        return clusters_for(n, args.clusters), {**{k: v for k, v in wanted.items() if k in spec["options"]}, **extra}
    if spec["entry"] == "order":
        return 1, extra
    return args.ratio, extra


def entry_label(spec: dict, n: int, args) -> str:
    entry, _ = settings(spec, n, args)
    kind = spec["entry"]
    if kind == "count":
        return f"C={entry}"
    if kind == "order":
        return f"k={entry}"
    if kind == "ratio":
        return f"ratio {entry:g}"
    if kind == "given":
        return f"groups of {GROUP_SIZE}"
    return kind  # pairs, natural


# ---------------------------------------------------------------------------
# worker: one (pooler, N, implementation) in a fresh process
# ---------------------------------------------------------------------------


def hipool_step(args, n: int):
    """``(step, modules)`` of the registry's pooler: ``step`` returns ``(out.x, aux losses)``."""
    import torch

    from hipool.nn import REGISTRY

    spec = REGISTRY[args.pooler]
    info = {"entry": spec.entry, "fixed_entry": spec.fixed_entry, "options": spec.options}
    entry, options = settings(info, n, args, args.pooler)
    pool = spec.build(args.features, entry, options)
    if spec.entry != "given":

        def step(x, edge_index, batch):
            out = pool(x, edge_index, batch=batch)
            return out.x, list(out.aux_losses.values())

        return step, [pool]

    # Random groups of GROUP_SIZE nodes, held as a buffer so that time_cell moves them with the modules.
    holder = torch.nn.Module()
    generator = torch.Generator().manual_seed(args.seed + n + 1)
    holder.register_buffer("groups", torch.randperm(n, generator=generator) // GROUP_SIZE)

    def step(x, edge_index, batch):
        out = pool(x, edge_index, batch=batch, groups=holder.groups)
        return out.x, list(out.aux_losses.values())

    return step, [pool, holder]


# -- tgp (torch-geometric-pool 1.0.1): one function per family, written from tgp's code and
# -- docstrings.  Run against tgp 1.0.1 with torch_scatter 2.1.2 compiled, in a separate virtual
# -- environment (benchmarks/README.md); PAN (torch_sparse) and Graclus (torch_cluster) were not.


def _tgp_output(out) -> tuple:
    """``(x, losses)`` of a ``tgp.src.PoolingOutput`` (``loss`` is a dict of tensors, or ``None``)."""
    return out.x, list((out.loss or {}).values())


def tgp_selection(name: str, args, n: int):
    """TopkPooling, SAGPooling, ASAPooling, MaxCutPooling (``ratio``), KMISPooling (``order_k``),
    NDPPooling: ``pool(x=x, adj=edge_index, batch=batch)``, tgp's defaults otherwise."""
    import tgp.poolers

    cls = getattr(tgp.poolers, name)
    if name == "KMISPooling":
        pool = cls(in_channels=args.features, order_k=1)
    elif name == "NDPPooling":
        pool = cls()  # NDP takes no in_channels
    else:
        pool = cls(in_channels=args.features, ratio=args.ratio)

    def step(x, edge_index, batch):
        return _tgp_output(pool(x=x, adj=edge_index, batch=batch))

    return step, [pool]


def tgp_pan(name: str, args, n: int):
    """tgp's PANPooling pools with the MET matrix ``M`` of PyG's ``PANConv`` (a ``SparseTensor``):
    ``M`` is made inside the step as ``PANConv.forward`` makes it (``panentropy``, then
    ``D^-1/2 M D^-1/2`` by row counts), without the convolution's output, which hipool's pooler
    does not compute either.  Needs torch_sparse."""
    import torch
    import torch_geometric.typing as pyg_typing
    from torch_geometric.nn import PANConv

    if not pyg_typing.WITH_TORCH_SPARSE:
        raise Unavailable("tgp's PANPooling takes a torch_sparse SparseTensor (MET matrix): torch_sparse not installed")
    import tgp.poolers
    from torch_sparse import SparseTensor

    conv = PANConv(args.features, args.features, filter_size=2)  # hipool PANPooling's default filter_size
    pool = tgp.poolers.PANPooling(in_channels=args.features, ratio=args.ratio)

    def step(x, edge_index, batch):
        num = x.size(0)
        adj_t = SparseTensor(row=edge_index[1], col=edge_index[0], sparse_sizes=(num, num))
        adj_t = conv.panentropy(adj_t, dtype=x.dtype)
        deg_inv_sqrt = adj_t.storage.rowcount().to(x.dtype).pow(-0.5)
        deg_inv_sqrt = torch.where(torch.isinf(deg_inv_sqrt), torch.zeros_like(deg_inv_sqrt), deg_inv_sqrt)
        met = deg_inv_sqrt.view(1, -1) * adj_t * deg_inv_sqrt.view(-1, 1)
        return _tgp_output(pool(x=x, adj=met, batch=batch))

    return step, [conv, pool]


def tgp_clustering(name: str, args, n: int):
    """DiffPool, MinCutPooling, DMoNPooling, JustBalancePooling, HOSCPooling,
    AsymCheegerCutPooling, BNPool: ``cls(in_channels=F, k=C, batched=False)``, the unbatched path
    (sparse losses and connectivity, no ``[N, N]`` tensor; pooled ``x`` is ``[B, C, F]``);
    NMFPooling, EigenPooling: ``cls(k=C, batched=False)``; LaPooling: ``cls(batched=False)``."""
    import tgp.poolers

    cls = getattr(tgp.poolers, name)
    k = clusters_for(n, args.clusters)
    if name == "LaPooling":
        pool = cls(batched=False)
    elif name in ("NMFPooling", "EigenPooling"):
        pool = cls(k=k, batched=False)
    else:
        pool = cls(in_channels=args.features, k=k, batched=False)

    def step(x, edge_index, batch):
        return _tgp_output(pool(x=x, adj=edge_index, batch=batch))

    return step, [pool]


def tgp_contraction(name: str, args, n: int):
    """EdgeContractionPooling(in_channels=F), GraclusPooling() (needs torch_cluster), SEPPooling()."""
    import tgp.poolers

    cls = getattr(tgp.poolers, name)
    if name == "GraclusPooling":
        from tgp.imports import HAS_TORCH_CLUSTER

        if not HAS_TORCH_CLUSTER:
            raise Unavailable("tgp's GraclusPooling needs torch_cluster: not installed")
        pool = cls()
    elif name == "EdgeContractionPooling":
        pool = cls(in_channels=args.features)
    else:
        pool = cls()

    def step(x, edge_index, batch):
        return _tgp_output(pool(x=x, adj=edge_index, batch=batch))

    return step, [pool]


TGP_FAMILIES = {
    "selection": tgp_selection,
    "pan": tgp_pan,
    "clustering": tgp_clustering,
    "contraction": tgp_contraction,
}


def worker(args) -> dict:
    n = args.sizes[0]
    # Import the libraries before time_cell takes its RSS baseline, so that neither side's peak
    # counts its own import (tgp's pulls in scipy and more).
    from hipool.nn import REGISTRY

    if args.impl == "hipool":
        make = hipool_step
    else:
        import tgp.poolers  # noqa: F401

        found = tgp_counterpart(args.pooler, REGISTRY[args.pooler].cls.__name__)
        if found is None:
            raise SystemExit(f"no tgp counterpart of {args.pooler!r}")
        make = functools.partial(TGP_FAMILIES[found[1]], found[0])
    try:
        return time_cell(
            args,
            lambda: make(args, n),
            backward_of=lambda out: out[0].sum() + sum(out[1]),
            describe=lambda out: {
                "out_nodes": out[0].size(-2),
                "aux_losses": [float(loss) for loss in out[1]],
            },
        )
    except Unavailable as e:
        return {"pooler": args.pooler, "n": n, "impl": args.impl, "status": "skipped", "note": f"skipped: {e}"}


# ---------------------------------------------------------------------------
# parent: probe, schedule workers under the limits, print the tables and the goal
# ---------------------------------------------------------------------------


def probe() -> dict:
    """The registry (names, entry kinds, options), the versions, and whether tgp imports, read in
    one subprocess (the parent never imports torch)."""
    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        sys.exit(f"poolers.py: error: could not read hipool's registry ({tail[-1] if tail else proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tgp_line(tgp: dict) -> str:
    """The one line saying whether tgp is measured, and why not."""
    if "version" in tgp:
        differs = "" if tgp["version"] == TGP_VERSION else f"; the mapping was written for {TGP_VERSION}"
        return f"tgp: {tgp['version']} (measured in the same run{differs})"
    if tgp.get("missing") == "tgp":
        return (
            f"tgp: not installed ({TGP_INSTALL}; torch_sparse for PAN, torch_cluster for Graclus); "
            "measuring hipool alone"
        )
    return f"tgp: not importable ({tgp['error']}; {TGP_INSTALL}); measuring hipool alone"


def mem_available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("MemAvailable not found in /proc/meminfo")


def rss_bytes_of(pid: int) -> int:
    """Resident size of process ``pid`` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def short_reason(line: str) -> str:
    """``ValueError`` of ``ValueError: ...``, else the line's first 30 characters."""
    head = line.split(":", 1)[0].strip()
    return head.rsplit(".", 1)[-1] if head.replace(".", "").replace("_", "").isalnum() else line[:30]


def worker_cmd(args, pooler: str, n: int, impl: str) -> list:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--impl", impl, "--pooler", pooler]
    for name in ("sizes", "degree", "features", "clusters", "ratio", "repeats", "slow_s", "threads", "seed"):
        value = n if name == "sizes" else getattr(args, name)
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    return cmd + ["--device", args.device]


def measure(args, pooler: str, n: int, impl: str, cap_bytes: int) -> dict:
    """One cell in a fresh worker process, killed past ``--timeout-s`` or ``cap_bytes`` resident;
    never raises."""
    row = {"pooler": pooler, "n": n, "impl": impl}
    limit = SKIP.get((impl, pooler))
    if limit is not None and n > limit[0] and not args.no_skip:
        reason = f"SKIP table (above {limit[0]:,} nodes): {limit[1]}"
        return {**row, "status": "skipped", "note": "skipped", "reason": reason}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(worker_cmd(args, pooler, n, impl), stdout=out, stderr=err, text=True)
        started, killed, seen = time.monotonic(), None, 0
        try:
            while proc.poll() is None:
                seen = max(seen, rss_bytes_of(proc.pid))
                if seen > cap_bytes:
                    killed = "memory"
                elif time.monotonic() - started > args.timeout_s:
                    killed = "timeout"
                if killed:
                    proc.kill()
                    break
                try:
                    proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        out.seek(0)
        err.seek(0)
        objs, stderr = json_lines(out.read()), err.read().strip().splitlines()
    warmup = [o["warmup_ms"] for o in objs if o.get("progress") == "warmup"]
    extra = {"warmup_ms": warmup[0]} if warmup else {}
    if killed == "timeout":
        done = f"; its warm-up took {warmup[0] / 1e3:.1f} s" if warmup else "; its warm-up had not finished"
        base = [o["baseline_MB"] for o in objs if o.get("progress") == "baseline"]
        if base:  # the most it was seen resident, above its baseline: its peak was at least that
            extra["peak_seen_MB"] = seen / 1e6 - base[0]
        return {
            **row,
            **extra,
            "status": "timeout",
            "note": "timeout",
            "reason": f"killed after {args.timeout_s:g} s{done}",
            "timeout_s": args.timeout_s,
        }
    if killed == "memory":
        return {
            **row,
            **extra,
            "status": "failed",
            "note": "failed: memory cap",
            "reason": f"resident size passed the memory cap of {cap_bytes / 1e9:.3g} GB (--mem-cap-gb); killed",
        }
    if proc.returncode != 0 or not objs or "status" not in objs[-1]:
        last = stderr[-1] if stderr else f"exit code {proc.returncode}"
        if proc.returncode == -9:
            short, last = "killed", f"exit code -9 (killed: out of memory?); {last}"
        else:
            short = short_reason(last)
        return {**row, **extra, "status": "failed", "note": f"failed: {short}", "reason": last}
    result = objs[-1]
    if result["status"] == "skipped":
        result["reason"], result["note"] = result["note"].removeprefix("skipped: "), "skipped"
    return result


def fmt_seconds(ms: float) -> str:
    s = ms / 1e3
    return f"{s:.0f}" if s >= 100 else f"{s:.3g}"


def time_and_memory(r, args) -> list:
    """The time and memory cells of one result (its note when it did not complete)."""
    if r is None:
        return ["-", "-"]
    if r["status"] != "ok":
        return [r["note"], "-"]
    slow = "*" if r["repeats"] < args.repeats else ""
    return [fmt_seconds(r["time_ms"]) + slow, f"{r['peak_MB']:.1f}"]


def table(results: list, n: int, poolers: list, registry: dict, args, tgp_ok: bool) -> str:
    at = {(r["pooler"], r["impl"]): r for r in results if r["n"] == n}
    rows = []
    for pooler in poolers:
        ours = at.get((pooler, "hipool"))
        if tgp_counterpart(pooler, registry[pooler]["class"]) is None:
            peer = ["—", "—"]
        elif not tgp_ok:
            peer = ["n/a", "n/a"]
        else:
            peer = time_and_memory(at.get((pooler, "tgp")), args)
        ratios = ["", ""]
        if ours is not None and "speedup" in ours:
            ratios = [f"{ours['speedup']:.2f}x", f"{ours['mem_ratio']:.2f}"]
        rows.append([pooler, entry_label(registry[pooler], n, args), *time_and_memory(ours, args), *peer, *ratios])
    header = ["pooler", "entry", "hipool s", "hipool MB", "tgp s", "tgp MB", "tgp/hipool time", "hipool/tgp memory"]
    return fmt_table(header, rows)


def _goal_against_a_timeout(ours: dict, peer: dict) -> tuple:
    """``(met, detail)`` where hipool finished and tgp was killed for time: its time is above the
    timeout and its peak at least what it was seen resident (above its baseline), so both ratios
    are bounds.  Met when hipool beats both bounds; undecided (``None``) without a memory bound."""
    speed = peer["timeout_s"] * 1e3 / ours["time_ms"]
    detail = f"time > {speed:.1f}x (hipool {ours['time_ms'] / 1e3:.3g} s, tgp killed after {peer['timeout_s']:g} s)"
    seen = peer.get("peak_seen_MB")
    if seen is None or seen <= 0:
        return None, detail + "; memory not decided (tgp's resident size unknown)"
    ratio = ours["peak_MB"] / seen
    detail += f", memory <= {ratio:.2f} (hipool {ours['peak_MB']:.1f} MB, tgp at least {seen:.1f} MB when killed)"
    return speed >= 1.0 and ratio <= 1.0, detail


def check_goal(results: list, poolers: list, registry: dict, tgp_ok: bool) -> list:
    """Issue 23: at N = GOAL_N, tgp/hipool time >= 1 and hipool/tgp memory <= 1, per shared pooler."""
    at = {(r["pooler"], r["n"], r["impl"]): r for r in results}
    goals = []
    for pooler in poolers:
        if tgp_counterpart(pooler, registry[pooler]["class"]) is None:
            continue
        ours, peer = at.get((pooler, GOAL_N, "hipool")), at.get((pooler, GOAL_N, "tgp"))
        if ours is None:
            met, detail = None, f"not measured (N={GOAL_N} not in --sizes)"
        elif not tgp_ok:
            met, detail = None, "not measured (tgp not importable)"
        elif ours["status"] == "ok" and peer is not None and peer["status"] == "timeout":
            met, detail = _goal_against_a_timeout(ours, peer)
        elif "speedup" not in ours:
            why = [f"{r['impl']} {r['note']}" for r in (ours, peer) if r is not None and r["status"] != "ok"]
            met, detail = None, "not measured (" + ("; ".join(why) or "no tgp time") + ")"
        else:
            met = ours["speedup"] >= 1.0 and ours["mem_ratio"] <= 1.0
            detail = (
                f"time {ours['speedup']:.2f}x (hipool {ours['time_ms'] / 1e3:.3g} s, "
                f"tgp {peer['time_ms'] / 1e3:.3g} s), "
                f"memory {ours['mem_ratio']:.2f} (hipool {ours['peak_MB']:.1f} MB, tgp {peer['peak_MB']:.1f} MB)"
            )
        goals.append({"pooler": pooler, "met": met, "detail": detail})
    return goals


def main(argv=None) -> int:
    p, args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)), flush=True)
        return 0

    command = shlex.join([sys.executable] + sys.argv)
    info = probe_device(args.device)  # exits with a message when CUDA is asked for and missing
    found = probe()
    registry = found["poolers"]
    if args.pooler == "all":
        poolers = list(registry)
    else:
        poolers = _split_commas(args.pooler)
        unknown = [name for name in poolers if name not in registry]
        if unknown:
            p.error(f"--pooler: unknown {', '.join(unknown)}; choose from {', '.join(registry)} or all")
    tgp_ok = "version" in found["tgp"]
    print(tgp_line(found["tgp"]), flush=True)
    cap = int(args.mem_cap_gb * 1e9) if args.mem_cap_gb is not None else int(0.8 * mem_available_bytes())

    impls = [impl for impl in IMPLS if impl == "hipool" or tgp_ok]
    shared = {pl for pl in poolers if tgp_counterpart(pl, registry[pl]["class"]) is not None}
    jobs = [(pl, n, impl) for n in args.sizes for pl in poolers for impl in impls if impl == "hipool" or pl in shared]
    results, wall_s, load_before = run_jobs(jobs, lambda pl, n, impl: measure(args, pl, n, impl, cap))
    load_after = os.getloadavg()[0]
    add_ratios(results, "tgp")
    goals = check_goal(results, poolers, registry, tgp_ok)

    print()
    print(
        f"hipool poolers vs tgp: forward + backward on one random graph (degree {args.degree}, F={args.features}), "
        f"median of {args.repeats} run(s) after a warm-up"
    )
    if args.device == "cuda":
        print(device_header(info))
    else:
        print(f"device: cpu; MB = {MEM_KINDS['rss']}")
    print(
        f"threads {args.threads}; load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
        f"on {os.cpu_count()} cores (other processes competing for the cores inflate the times); "
        f"torch {found['torch']}, torch_geometric {found['torch_geometric']}, hipool {found['hipool']}, "
        f"tgp {found['tgp'].get('version', 'not measured')}, python {sys.version.split()[0]}"
    )
    for n in args.sizes:
        print()
        print(f"N = {n:,} nodes")
        print(table(results, n, poolers, registry, args, tgp_ok))
    print()
    print(
        "tgp/hipool time = tgp s / hipool s (> 1: hipool faster); hipool/tgp memory = hipool MB / tgp MB (< 1: less);"
    )
    print(
        f"— = no tgp counterpart; n/a = tgp not measured; * = one timed run (warm-up over --slow-s {args.slow_s:g} s)"
    )
    notes = [r for r in results if r["status"] != "ok"]
    if notes:
        print()
        print("Not measured:")
        for r in notes:
            print(f"- {r['pooler']} N={r['n']} {r['impl']}: {r['note']}: {r.get('reason', '')}")
    print()
    print(
        f"Goal (issue 23): at N={GOAL_N // 1000}k, every pooler shared with tgp is >= 1x tgp's speed "
        "and <= 1x its memory"
    )
    details = {g["detail"] for g in goals}
    if len(goals) > 1 and len(details) == 1 and all(g["met"] is None for g in goals):
        print(f"- not checked for any pooler: {goals[0]['detail']}")  # N=10k not run, or no tgp
        goals_listed = []
    else:
        goals_listed = goals
    for g in goals_listed:
        verdict = {True: "met", False: "NOT met", None: "not checked"}[g["met"]]
        print(f"- {g['pooler']}: {verdict} ({g['detail']})")
    checked = [g for g in goals if g["met"] is not None]
    if checked:
        print(f"- met for {sum(g['met'] for g in checked)} of {len(checked)} checked pooler(s)")
    print()
    print(
        f"- clusters {args.clusters} (at most N // 2), ratio {args.ratio:g}, repeats {args.repeats}, seed {args.seed}, "
        f"timeout {args.timeout_s:g} s, memory cap {cap / 1e9:.3g} GB (worker RSS)"
    )
    print(f"- wall time {wall_s:.1f} s; command: `{command}`")

    if args.json is not None:
        payload = {
            "command": command,
            "wall_s": wall_s,
            "load_before": load_before,
            "load_after": load_after,
            "device": info,
            "versions": {k: found[k] for k in ("torch", "torch_geometric", "hipool")},
            "tgp": found["tgp"],
            "config": {
                **{k: v for k, v in vars(args).items() if k not in ("worker", "impl", "json")},
                "mem_cap_bytes": cap,
                "poolers": poolers,
            },
            "skip": {f"{impl}:{pooler}": {"max_n": m, "reason": why} for (impl, pooler), (m, why) in SKIP.items()},
            "results": results,
            "goals": goals,
        }
        write_atomic(args.json, json.dumps(payload, indent=2, default=str) + "\n")
        print(f"- results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
