"""Logic simulator throughput: gate evaluations per second of hipool's bit-parallel simulator
(:mod:`hipool.data.netlists.simulate`) on the largest EPFL circuit present, against a plain
per-vector Python loop over the same gates, measured in the same run.

    .venv/bin/python benchmarks/simulate.py                     # the largest EPFL circuit (hyp.aig)
    .venv/bin/python benchmarks/simulate.py --vectors 16384 --repeats 3
    .venv/bin/python benchmarks/simulate.py --file ../shared/datasets/circuits/iscas85/c6288.bench

A gate evaluation is one gate on one input vector: ``gates x vectors / seconds``.  The
bit-parallel run (:meth:`Simulator.run_words`: 64 vectors per ``uint64`` word, one numpy
operation per level and kind of gate) simulates ``--vectors`` random vectors per repeat; the
Python loop (:meth:`Simulator.run_slow`: one vector at a time, a dict of signal values, the
gates in topological order) simulates ``--slow-vectors`` of them (far fewer: its rate does not
depend on how many), and both are checked to agree on those.  Each is timed ``--repeats``
times; the table gives the median and the range, and the ratio of the medians.  The circuit
is read and levelised once, before the clock starts (that time is printed too).  numpy's
bit operations run on one core.  The largest circuit is found by the AND count in each
``.aig`` header (a ``.blif`` without an ``.aig`` beside it is read).

CPU only, no ``--device``: the simulator is numpy on the host (bit operations on ``uint64``
words); no torch computation runs, so there is nothing to put on a GPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT.parent / "shared" / "datasets" / "circuits"
sys.path.insert(0, str(ROOT / "src"))


def _aig_ands(path: Path) -> int:
    """The AND count (field A) of an AIGER header."""
    with open(path, "rb") as f:
        fields = f.readline().split()
    return int(fields[5])


def largest_epfl(folder: Path) -> Path:
    """The EPFL circuit with the most gates: by the .aig header, or by reading a lone .blif."""
    from hipool.data.netlists.dataset import read_netlist

    sizes = {}
    for path in sorted(folder.glob("*/*.aig")):
        sizes[path] = _aig_ands(path)
    for path in sorted(folder.glob("*/*.blif")):
        if not path.with_suffix(".aig").is_file():
            sizes[path] = sum(g.kind not in ("INPUT", "CONST0", "CONST1") for g in read_netlist(path).gates)
    if not sizes:
        raise SystemExit(f"simulate.py: no .aig or .blif under {folder}")
    return max(sizes, key=sizes.get)


def _fmt(rates) -> str:
    return f"{statistics.median(rates):.3g} ({min(rates):.3g} – {max(rates):.3g})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--circuits", type=Path, default=CIRCUITS, help=f"the shared circuits folder (default {CIRCUITS})")
    p.add_argument("--file", type=Path, default=None, help="simulate this netlist instead of the largest EPFL one")
    p.add_argument("--vectors", type=int, default=65536, help="vectors per bit-parallel run (default 65536)")
    p.add_argument("--slow-vectors", type=int, default=3, help="vectors per Python-loop run (default 3)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random vectors (default 0)")
    args = p.parse_args(argv)
    if args.file is None:
        epfl = args.circuits / "epfl"
        if not epfl.is_dir():
            print(f"skipped: no EPFL circuits at {epfl}")
            return 0
        args.file = largest_epfl(epfl)
    from hipool.data.netlists.simulate import read_simulator
    from hipool.data.netlists.vectors import unpack

    t = time.perf_counter()
    sim = read_simulator(args.file)
    setup = time.perf_counter() - t
    print(
        f"{args.file.name}: {sim.num_gates:,} gates in {sim.depth:,} levels, {len(sim.inputs)} inputs, "
        f"{len(sim.outputs)} outputs; read and levelised in {setup:.2f} s"
    )
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    words = sim.random_words(args.vectors, args.seed)
    slow = unpack(words, args.slow_vectors)
    fast_rates, slow_rates = [], []
    for r in range(args.repeats):
        t = time.perf_counter()
        out = sim.run_words(words, args.vectors)
        fast_rates.append(sim.num_gates * args.vectors / (time.perf_counter() - t))
        t = time.perf_counter()
        ref = sim.run_slow(slow)
        slow_rates.append(sim.num_gates * args.slow_vectors / (time.perf_counter() - t))
        if r == 0 and not (unpack(out, args.slow_vectors) == ref).all():
            print("error: the bit-parallel run and the Python loop disagree")
            return 1
    print(f"\n| simulator | vectors per run | gate evaluations/s: median (min – max) over {args.repeats} runs |")
    print("|---|---|---|")
    print(f"| bit-parallel (numpy uint64) | {args.vectors:,} | {_fmt(fast_rates)} |")
    print(f"| per-vector Python loop | {args.slow_vectors:,} | {_fmt(slow_rates)} |")
    ratio = statistics.median(fast_rates) / statistics.median(slow_rates)
    print(f"\nbit-parallel / Python loop: {ratio:,.0f}x (ratio of the medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
