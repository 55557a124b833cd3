"""Where dense and sparse clustering cross over: the evidence for ``mode="auto"``'s threshold.

Batches of ~3200 nodes in total (B graphs of n nodes, average degree 8, 64 features),
MinCutPool with C clusters, forward + backward, median of ``--repeats`` runs in this
process. Prints dense and sparse times, their ratio, and what ``mode="auto"`` picks
(dense while the largest graph has at most ``default_dense_max_nodes(C)`` nodes).

``--device cuda`` builds each batch on the CPU (the same batches), moves it and the pooler to
the GPU, reads the clock after ``torch.cuda.synchronize()``, and adds each mode's CUDA
allocator peak (``torch.cuda.max_memory_allocated`` over its runs, from just before them).
``mode="auto"``'s threshold was measured on the CPU; the table shows whether it holds there.

    .venv/bin/python benchmarks/clustering_auto.py
    .venv/bin/python benchmarks/clustering_auto.py --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _bench import add_device_option, device_header, probe_device
from torch_geometric.data import Batch, Data

from hipool.nn import MinCutPool
from hipool.nn.clustering import default_dense_max_nodes


def batch_of(num_graphs: int, n: int, features: int, gen: torch.Generator) -> Batch:
    graphs = []
    for _ in range(num_graphs):
        e = torch.randint(0, n, (2, 4 * n), generator=gen)
        graphs.append(Data(x=torch.randn(n, features, generator=gen), edge_index=torch.cat([e, e.flip(0)], 1)))
    return Batch.from_data_list(graphs)


def time_mode(pool: MinCutPool, b: Batch, repeats: int) -> tuple:
    """``(median ms, peak MB)`` of forward + backward; the peak is the CUDA allocator's over
    these runs (from just before them) on a GPU, ``None`` on the CPU."""
    device = b.x.device
    cuda = device.type == "cuda"
    x = b.x.clone().requires_grad_()
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)

    def step() -> float:
        x.grad = None
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        out = pool(x, b.edge_index, None, b.batch)
        (out.x.sum() + sum(out.aux_losses.values())).backward()
        if cuda:
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    step()
    ms = 1e3 * statistics.median(step() for _ in range(repeats))
    return ms, (torch.cuda.max_memory_allocated(device) - base) / 1e6 if cuda else None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clusters", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--sizes", type=int, nargs="+", default=[25, 100, 400, 800, 1600])
    p.add_argument("--total", type=int, default=3200, help="nodes per batch")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    add_device_option(p, "where to run (default cpu); on cuda each mode's CUDA allocator peak is printed too")
    args = p.parse_args(argv)
    info = probe_device(args.device)  # exits with one line when CUDA is asked for and missing
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        print(device_header(info))
    gen = torch.Generator().manual_seed(0)
    peaks = f" {'dense MB':>9} {'sparse MB':>10}" if cuda else ""
    print(f"{'C':>4} {'n':>6} {'B':>4} {'dense ms':>9} {'sparse ms':>10}{peaks} {'dense/sparse':>13}  auto picks")
    for c in args.clusters:
        for n in args.sizes:
            if n < c:
                continue
            b = batch_of(max(1, args.total // n), n, 64, gen).to(device)
            torch.manual_seed(0)
            pool = MinCutPool(64, c).to(device)
            pool.mode = "dense"
            dense, dense_mb = time_mode(pool, b, args.repeats)
            pool.mode = "sparse"
            sparse, sparse_mb = time_mode(pool, b, args.repeats)
            peaks = f" {dense_mb:>9.1f} {sparse_mb:>10.1f}" if cuda else ""
            pick = "dense" if n <= default_dense_max_nodes(c) else "sparse"
            best = "dense" if dense <= sparse else "sparse"
            print(
                f"{c:>4} {n:>6} {b.num_graphs:>4} {dense:>9.1f} {sparse:>10.1f}{peaks} {dense / sparse:>13.2f}  "
                f"{pick}{'' if pick == best else ' (slower here)'}"
            )


if __name__ == "__main__":
    main()
