"""Netlist reader throughput: seconds, lines per minute and peak memory of hipool's gate-level
readers on the shared ISCAS and EPFL circuits, each file in a fresh subprocess so that its
peak RSS is its own.

    .venv/bin/python benchmarks/netlist_readers.py              # ISCAS-89, EPFL hyp.aig, the largest EPFL .blif
    .venv/bin/python benchmarks/netlist_readers.py --repeats 3  # best of 3 per file

The analog readers are timed in this process over whole collections of small files (the
ALIGN OTAs as SPICE/CDL, AnalogGenie as Spectre): lines per minute for parsing and
flattening, and for the whole way to graphs.

Goal (issue 19): at least 1M netlist lines per minute on one core.  ``parse`` is the
reader alone (file to :class:`~hipool.data.netlists.gates.GateNetlist`), ``graph`` adds
:func:`~hipool.data.netlists.gates.to_data`.  One torch thread.

CPU only, no ``--device``: reading a netlist is parsing text on the host, and ``to_data``
builds the graph's tensors on the CPU, as every dataset does (a training loop moves each
batch to its device afterwards); no torch computation runs that a GPU could take.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT.parent / "shared" / "datasets" / "circuits"
SPICE = ROOT.parent / "shared" / "datasets" / "spice"

_WORKER = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from hipool.data.netlists.gates import to_data
path, kind, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "bench":
    from hipool.data.netlists.bench import read_bench as read
elif kind == "blif":
    from hipool.data.netlists.blif import read_blif as read
else:
    from hipool.data.netlists.aiger import read_aiger as read
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best_parse = best_graph = float("inf")
for _ in range(repeats):
    t = time.perf_counter(); nl = read(path); parse = time.perf_counter() - t
    data = to_data(nl); graph = time.perf_counter() - t
    best_parse, best_graph = min(best_parse, parse), min(best_graph, graph)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"parse_s": best_parse, "graph_s": best_graph, "peak_MB": (peak - before) / 1024,
                  "nodes": data.num_nodes, "edges": data.edge_index.size(1) // 2}))
"""


def _run(path: Path, kind: str, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, str(path), kind, str(repeats)], capture_output=True, text=True, env=env
    )
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--circuits", type=Path, default=CIRCUITS, help=f"the shared circuits folder (default {CIRCUITS})")
    p.add_argument("--repeats", type=int, default=1, help="runs per file; the best counts (default 1)")
    args = p.parse_args(argv)
    if not args.circuits.is_dir():
        print(f"skipped: no circuits folder at {args.circuits}")
        return 0
    rows = []
    iscas = sorted((args.circuits / "iscas89").glob("*.bench"))
    if iscas:
        largest = max(iscas, key=lambda q: q.stat().st_size)
        lines = len(largest.read_text().splitlines())
        r = _run(largest, "bench", args.repeats)
        rows.append((f"iscas89/{largest.name}", "bench", lines, r))
    hyp = args.circuits / "epfl" / "arithmetic" / "hyp.aig"
    if hyp.is_file():
        try:
            import hipool.data.netlists.aiger  # noqa: F401
        except ImportError:
            print("skipped hyp.aig: no AIGER reader in this version")
        else:
            rows.append(("epfl/hyp.aig", "aiger", None, _run(hyp, "aiger", args.repeats)))
    blifs = sorted((args.circuits / "epfl").glob("*/*.blif"))
    if blifs:
        largest = max(blifs, key=lambda q: q.stat().st_size)
        lines = len(largest.read_text().splitlines())
        rows.append((f"epfl/{largest.parent.name}/{largest.name}", "blif", lines, _run(largest, "blif", args.repeats)))
    print("| file | format | lines | nodes | edges | parse s | parse+graph s | M lines/min | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, kind, lines, r in rows:
        if "error" in r:
            print(f"| {name} | {kind} | {lines or ''} | failed: {r['error']} | | | | | |")
            continue
        rate = f"{lines / r['parse_s'] * 60 / 1e6:.1f}" if lines else ""
        print(
            f"| {name} | {kind} | {lines or ''} | {r['nodes']:,} | {r['edges']:,} | {r['parse_s']:.3f} | "
            f"{r['graph_s']:.3f} | {rate} | {r['peak_MB']:.0f} |"
        )
    total_lines = sum(len(q.read_text().splitlines()) for q in iscas)
    if iscas:
        import time

        sys.path.insert(0, str(ROOT / "src"))
        from hipool.data.netlists.bench import read_bench
        from hipool.data.netlists.gates import NetlistError

        t = time.perf_counter()
        for q in iscas:
            try:
                read_bench(q)
            except NetlistError:
                pass
        s = time.perf_counter() - t
        print(
            f"\nall {len(iscas)} ISCAS-89 files: {total_lines:,} lines parsed in {s:.2f} s = "
            f"{total_lines / s * 60 / 1e6:.1f} M lines/min (goal >= 1)"
        )
    if SPICE.is_dir():
        _analog_rates()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


def _analog_rates() -> None:
    """Lines per minute of the SPICE and Spectre readers over the shared collections (this
    process, one torch thread); files a reader refuses are timed too and counted."""
    import time

    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "src"))
    from hipool.data.netlists.analog import to_data
    from hipool.data.netlists.gates import NetlistError
    from hipool.data.netlists.spectre import read_spectre
    from hipool.data.netlists.spice import read_spice

    sets = [
        ("ALIGN OTAs (SPICE/CDL)", read_spice, sorted((SPICE / "align_ota" / "full_OTA").glob("*/*.sp"))),
        ("AnalogGenie (Spectre)", read_spectre, sorted((SPICE / "analoggenie" / "Dataset").glob("*/*.cir"))),
    ]
    print("\n| collection | files | lines | refused | parse+flatten s | M lines/min | with graphs s | M lines/min |")
    print("|---|---|---|---|---|---|---|---|")
    for name, read, files in sets:
        if not files:
            continue
        lines = sum(len(q.read_text(errors="replace").splitlines()) for q in files)
        t = time.perf_counter()
        netlists, refused = [], 0
        for q in files:
            try:
                netlists.append(read(q))
            except NetlistError:
                refused += 1
        parse = time.perf_counter() - t
        for nl in netlists:
            to_data(nl)
        total = time.perf_counter() - t
        print(
            f"| {name} | {len(files)} | {lines:,} | {refused} | {parse:.2f} | {lines / parse * 60 / 1e6:.2f} | "
            f"{total:.2f} | {lines / total * 60 / 1e6:.2f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
