"""Picture layouts: hipool's spring layout against networkx's, on the same graphs in the same run.

``hipool.explain.plot.layout_positions(method="spring")`` calls networkx below 500 nodes
and, from 500 up, runs its own vectorised Fruchterman-Reingold on every connected
component (50 iterations, as networkx).  This prints, per graph, the seconds of each and
the speed-up, plus the structure layout hipool uses for graphs with known groups:

    .venv/bin/python benchmarks/layout.py [--sizes 500,2000,5000] [--repeats 3]

Graphs: a random graph of average degree 4 (``_bench.random_graph``) and a synthetic circuit
of about that many nodes (components and nets, with its blocks and subsystems as groups).

CPU only, no ``--device``: the layouts are numpy (and networkx) on the host, computing
positions for a matplotlib picture, and so is their peer; no torch computation runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def _time(repeats: int, fn, *args, **kwargs) -> float:
    """Median seconds of ``fn(*args, **kwargs)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    import networkx as nx
    from _bench import random_graph

    from hipool.data.circuits import make_circuit
    from hipool.explain.plot import layout_positions

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="500,2000,5000")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for n in (int(v) for v in args.sizes.split(",")):
        graphs = [("random, degree 4", random_graph(n, 4, torch.Generator().manual_seed(0)), n, None)]
        # components + nets ≈ 1.5 × components
        c = make_circuit(0, None, min_components=max(50, int(n / 1.5) - 10), max_components=max(60, int(n / 1.5))).data
        graphs.append(("circuit", c.edge_index, c.num_nodes, c.level_labels))
        for name, ei, nodes, groups in graphs:
            g = nx.Graph()
            g.add_nodes_from(range(nodes))
            g.add_edges_from(ei.t().tolist())
            t_nx = _time(args.repeats, nx.spring_layout, g, seed=0)
            t_ours = _time(args.repeats, layout_positions, ei, nodes, method="spring", seed=0)
            t_struct = (
                _time(args.repeats, layout_positions, ei, nodes, groups=groups, method="structure")
                if groups is not None
                else None
            )
            rows.append((name, nodes, t_nx, t_ours, t_struct))
            print(
                f"{name:>18} {nodes:6d} nodes: networkx spring {t_nx:7.3f} s, hipool spring {t_ours:7.3f} s "
                f"({t_nx / t_ours:5.1f}x)" + (f", hipool structure {t_struct:6.3f} s" if t_struct else ""),
                flush=True,
            )
    print("\n| graph | nodes | networkx spring_layout | hipool spring | speed-up | hipool structure |")
    print("|---|---|---|---|---|---|")
    for name, nodes, a, b, s in rows:
        print(f"| {name} | {nodes} | {a:.3f} s | {b:.3f} s | {a / b:.1f}× | {'–' if s is None else f'{s:.3f} s'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
