"""Where dense and sparse clustering cross over: the evidence for ``mode="auto"``'s threshold.

Batches of ~3200 nodes in total (B graphs of n nodes, average degree 8, 64 features),
MinCutPool with C clusters, forward + backward, median of ``--repeats`` runs in this
process. Prints dense and sparse times, their ratio, and what ``mode="auto"`` picks
(dense while the largest graph has at most ``default_dense_max_nodes(C)`` nodes).

    .venv/bin/python benchmarks/clustering_auto.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch_geometric.data import Batch, Data

from hipool.nn import MinCutPool
from hipool.nn.clustering import default_dense_max_nodes


def batch_of(num_graphs: int, n: int, features: int, gen: torch.Generator) -> Batch:
    graphs = []
    for _ in range(num_graphs):
        e = torch.randint(0, n, (2, 4 * n), generator=gen)
        graphs.append(Data(x=torch.randn(n, features, generator=gen), edge_index=torch.cat([e, e.flip(0)], 1)))
    return Batch.from_data_list(graphs)


def time_mode(pool: MinCutPool, b: Batch, repeats: int) -> float:
    x = b.x.clone().requires_grad_()

    def step() -> float:
        start = time.perf_counter()
        out = pool(x, b.edge_index, None, b.batch)
        (out.x.sum() + sum(out.aux_losses.values())).backward()
        return time.perf_counter() - start

    step()
    return 1e3 * statistics.median(step() for _ in range(repeats))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clusters", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--sizes", type=int, nargs="+", default=[25, 100, 400, 800, 1600])
    p.add_argument("--total", type=int, default=3200, help="nodes per batch")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"{'C':>4} {'n':>6} {'B':>4} {'dense ms':>9} {'sparse ms':>10} {'dense/sparse':>13}  auto picks")
    for c in args.clusters:
        for n in args.sizes:
            if n < c:
                continue
            b = batch_of(max(1, args.total // n), n, 64, gen)
            torch.manual_seed(0)
            pool = MinCutPool(64, c)
            pool.mode = "dense"
            dense = time_mode(pool, b, args.repeats)
            pool.mode = "sparse"
            sparse = time_mode(pool, b, args.repeats)
            pick = "dense" if n <= default_dense_max_nodes(c) else "sparse"
            best = "dense" if dense <= sparse else "sparse"
            print(
                f"{c:>4} {n:>6} {b.num_graphs:>4} {dense:>9.1f} {sparse:>10.1f} {dense / sparse:>13.2f}  "
                f"{pick}{'' if pick == best else ' (slower here)'}"
            )


if __name__ == "__main__":
    main()
